"""Station registry."""

from flask import Blueprint

bp = Blueprint("stations", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # the registry, profiles, managers, inspections, posters
    "views_transfer",  # the spreadsheet import and export pages
    "views_partners",  # co-building partners: list, page, create and edit
    "views_catalogues",  # the host-type and label sets
    "views_feedback",  # workers' ratings and comments, and hiding a comment
    "views_live",  # the live board of a subtree and its JSON
)
