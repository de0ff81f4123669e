"""Extension objects, created here and bound to the app in create_app."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from inclusive_day.json_errors import ErrorSchema
from inclusive_day.replica import RoutingSession

# Named constraints let Alembic alter them later, on SQLite (batch mode) as on PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model, sharing one constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The session sends report reads to the replica when there is one (replica.py).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
# Limits are set per route (the check-in API); the storage comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address)


class JsonApi(Api):
    """The JSON API v1: flask-smorest's documentation, with the app's own error handling.

    flask-smorest would install an app-wide handler for every HTTP error, turning the web
    pages' errors into JSON too; errors under /api are answered by inclusive_day.json_errors.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register `blp` and document it under its tag: its Flask name carries an "api_"
        prefix, since the web pages' blueprints already use the plain names."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=parameters)
        self.spec.tag({"name": blp.tag, "description": blp.description})


api = JsonApi()
