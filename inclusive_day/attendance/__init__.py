"""Attendance: check-in pages, headcounts, tallies, and the counting rules."""

from flask import Blueprint

bp = Blueprint("attendance", __name__)
