"""The audit log: who changed what and when, with the values before and after.

The flush listener that writes it (recorder.py, with the table in specs.py) is installed
by create_app, not by importing this package.
"""

from flask import Blueprint

bp = Blueprint("audit", __name__)
