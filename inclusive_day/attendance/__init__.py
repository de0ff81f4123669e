"""Attendance: check-in pages, headcounts, tallies, and the counting rules."""

from flask import Blueprint

bp = Blueprint("attendance", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # headcounts, check-ins and paper sheets, for staff
    "views_public",  # the public QR check-in pages
)
