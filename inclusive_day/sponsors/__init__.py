"""Sponsors: sign-up and approval, donations, distribution, receipts and the honour roll."""

from flask import Blueprint

bp = Blueprint("sponsors", __name__)
