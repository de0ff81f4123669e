"""Users, passwords and sign-in."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
