"""The audit log: who changed what and when, with the values before and after."""

from flask import Blueprint

from inclusive_day.audit.recording import install

bp = Blueprint("audit", __name__)

# One listener on every ORM flush writes the log; see recording.py.
install()
