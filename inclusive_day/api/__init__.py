"""The JSON API v1 under /api/v1 (flask-smorest, documented at /api/v1/openapi.json), and the
pages where users make and revoke their API tokens (/account/tokens)."""

from flask import Blueprint

# The token pages; the API's resources are flask-smorest blueprints, see api/resources.py.
bp = Blueprint("api", __name__)
