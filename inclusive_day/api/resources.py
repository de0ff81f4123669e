"""The API's resources, mounted under /api/v1 by create_app.

Not in the package's __init__: models.py imports api.models, which loads the package first,
and the resources import the models back.
"""

from flask import Flask

from inclusive_day import json_errors
from inclusive_day.api import construction  # noqa: F401  (adds /reports/construction)
from inclusive_day.api.activities import activities
from inclusive_day.api.catalogue import (
    campaigns,
    host_types,
    labels,
    partners,
    stations,
    themes,
    units,
)
from inclusive_day.api.checkins import checkins
from inclusive_day.api.donations import donations
from inclusive_day.api.reports import reports
from inclusive_day.extensions import api, csrf

PREFIX = "/api/v1"
RESOURCES = (
    units,
    stations,
    partners,
    host_types,
    labels,
    campaigns,
    themes,
    activities,
    checkins,
    donations,
    reports,
)


def register_resources(app: Flask) -> None:
    """Mount the API's resources under /api/v1 and document them (api.init_app came first)."""
    json_errors.register(app)
    for blueprint in RESOURCES:
        # Bearer tokens, never cookies, authenticate here: there is no session to forge.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=f"{PREFIX}/{blueprint.tag}")
