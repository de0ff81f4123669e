"""Aggregations over any subtree and period: recaps, league tables, their PDFs and spreadsheets."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # recaps, league tables, construction notices
    "views_top100",  # the Double Top 100: lists, weights, confirmation, PDF and spreadsheet
)
