"""The audit log: who changed what and when, with the values before and after."""

from flask import Blueprint

bp = Blueprint("audit", __name__)
