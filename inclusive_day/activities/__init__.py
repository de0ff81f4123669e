"""Scheduling activities."""

from flask import Blueprint

bp = Blueprint("activities", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # activities and series
    "views_calendar",  # the month, week and list calendars
    "views_festivals",  # festival dates
)
