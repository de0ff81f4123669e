"""Aggregations over any subtree and period: recaps, league tables, their PDFs and spreadsheets."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
