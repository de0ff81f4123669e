"""Who runs the stations: the roster of administrators (站长 and assistants), their training,
and their duty on and off at their station."""

from flask import Blueprint

bp = Blueprint("staffing", __name__)
