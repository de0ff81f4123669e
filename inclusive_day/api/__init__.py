"""The JSON API v1 under /api/v1 (flask-smorest, documented at /api/v1/openapi.json), and the
pages where users make and revoke their API tokens (/account/tokens)."""

from flask import Blueprint, Flask

# The token pages; the API's resources are flask-smorest blueprints, see register_resources.
bp = Blueprint("api", __name__)

PREFIX = "/api/v1"


def register_resources(app: Flask) -> None:
    """Mount the API's resources under /api/v1 and document them (api.init_app came first)."""
    from inclusive_day.api import errors
    from inclusive_day.api.activities import activities
    from inclusive_day.api.catalogue import campaigns, stations, units
    from inclusive_day.api.checkins import checkins
    from inclusive_day.api.donations import donations
    from inclusive_day.api.reports import reports
    from inclusive_day.extensions import api, csrf

    errors.register(app)
    for blueprint in (units, stations, campaigns, activities, checkins, donations, reports):
        # Bearer tokens, never cookies, authenticate here: there is no session to forge.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=f"{PREFIX}/{blueprint.tag}")
