"""The JSON API (v1) for scanners and mini-programs: answers are JSON, errors too."""

from flask import Blueprint

bp = Blueprint("api", __name__)
