"""Users, sign-in and the access rule."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
