"""Scheduling activities."""

from flask import Blueprint

bp = Blueprint("activities", __name__)
