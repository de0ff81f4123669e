"""Users, passwords and sign-in."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # sign in and out, one's own password
    "views_users",  # user administration
)
