"""Station registry."""

from flask import Blueprint

bp = Blueprint("stations", __name__)
