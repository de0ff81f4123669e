"""The public station directory: search, nearest, map and station pages, no login."""

from flask import Blueprint

bp = Blueprint("directory", __name__)
