"""iCalendar feeds of campaigns, units, stations and single activities, and their tokens."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)
