"""The union tree: units, their subtree queries, and the tree page."""

from flask import Blueprint

bp = Blueprint("units", __name__)
