"""Campaigns, themes and targets."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)
