"""Inclusive Day: run trade-union post station campaigns from plan to recap."""

from importlib import import_module

from flask import Flask

from inclusive_day.config import INSTANCE_DIR, SITE_DIR, Config, config_from_environment


def create_app(config: Config | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, listeners, errors, commands."""
    app = Flask(
        __name__,
        template_folder=str(SITE_DIR / "templates"),
        static_folder=str(SITE_DIR / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_object(config or config_from_environment())
    register_delivery(app)
    register_extensions(app)
    register_blueprints(app)
    register_listeners(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_proxies(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_delivery(app: Flask) -> None:
    """Compress text answers and version static files' addresses. First, so that the
    compressor's after_request runs last (Flask runs them in reverse), on the finished body."""
    from inclusive_day import assets, compression

    compression.register(app)
    assets.register(app)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects of extensions.py to this app."""
    from inclusive_day import (
        i18n,
        models,  # noqa: F401  (the whole schema, for Alembic)
        replica,
    )
    from inclusive_day.auth.loader import load_user
    from inclusive_day.database import configure_sqlite, ping_when_idle
    from inclusive_day.extensions import (
        api,
        babel,
        bootstrap,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from inclusive_day.ratelimit import storage  # noqa: F401  (the limits' database:// storage)

    replica.add_engine(app)  # REPORTS_DATABASE_URL: the reporting replica's engine
    db.init_app(app)
    migrate.init_app(app, db, directory=str(SITE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = i18n.LOGIN_MESSAGE
    login_manager.login_message_category = "warning"
    login_manager.user_loader(load_user)
    api.init_app(app)  # flask-smorest: the OpenAPI document at /api/v1/openapi.json
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        ping_when_idle(db.engine, app.config["DATABASE_PING_IDLE_SECONDS"])
    replica.init_app(app)  # refuses a URL that is no replica of the primary; routes report reads


# (package, URL prefix): each package's __init__ holds `bp` and, where its routes are spread
# over several modules, names them in `VIEWS`; otherwise they are all in its views.py.
BLUEPRINTS = (
    ("main", None),
    ("auth", "/auth"),
    ("units", "/units"),
    ("stations", "/stations"),
    ("campaigns", "/campaigns"),
    ("construction", "/construction"),  # construction targets handed down, coverage goals
    ("activities", "/activities"),
    ("attendance", None),  # /activities/<id>/... for staff, /c/... and /d/... check-in pages
    ("api", None),  # /account/tokens; the JSON API v1 itself: see register_blueprints
    ("directory", None),  # public: /directory/... and the short links /s/<code> on posters
    ("feeds", "/calendar"),  # iCalendar feeds (.ics) and their subscription tokens
    ("sponsors", "/sponsors"),  # sign-up, donations, distribution, receipts, the honour roll
    ("funds", "/funds"),  # the funds ledger: subsidies, union investment, leveraged money
    ("staffing", None),  # /staffing/... the roster, /stations/<id>/admins and duty, /duty
    ("volunteers", "/volunteers"),  # teams, members, their sessions and hours, certificates
    ("reports", "/reports"),  # recaps, league tables, construction notices: PDFs, spreadsheets
    ("points", None),  # /points/card (public), /stations/<id>/points, /points/rules, /report
    ("audit", "/audit"),  # who changed what, for the organisers of each subtree
    ("shelf", None),  # /stations/<id>/shelf, /shelf/report, public /directory/.../shelf
)


def register_blueprints(app: Flask) -> None:
    """Mount each domain's blueprint, importing its view modules so the routes exist."""
    for name, prefix in BLUEPRINTS:
        package = import_module(f"inclusive_day.{name}")
        for module in getattr(package, "VIEWS", ("views",)):
            import_module(f"inclusive_day.{name}.{module}")
        app.register_blueprint(package.bp, url_prefix=prefix)
    from inclusive_day.api.resources import register_resources

    register_resources(app)  # JSON for scanners and mini-programs, under /api/v1


def register_listeners(app: Flask) -> None:
    """Write the audit log from every ORM flush: one listener for the Session class, installed
    once however many apps are made."""
    from inclusive_day.audit.specs import RECORDER

    RECORDER.install()


def register_errorhandlers(app: Flask) -> None:
    """Answer errors with a page in the user's language, or JSON under /api."""
    from inclusive_day.main.errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    """Content-Security-Policy, nosniff, frame and referrer rules, HSTS over HTTPS."""
    from inclusive_day import security

    security.register(app)


def register_proxies(app: Flask) -> None:
    """Read the client's address from the trusted reverse proxies' headers (TRUSTED_PROXIES)."""
    from inclusive_day import security

    security.trust_proxies(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share."""
    from inclusive_day import i18n

    i18n.register_template_helpers(app)


def register_commands(app: Flask) -> None:
    """Add the `analytics`, `demo`, `users`, `stations` and `report` groups, `backup` and
    `restore`."""
    from inclusive_day.analytics.commands import analytics_cli
    from inclusive_day.auth.commands import users_cli
    from inclusive_day.backup import backup_command, restore_command
    from inclusive_day.demo.commands import demo_cli
    from inclusive_day.reports.commands import report_cli
    from inclusive_day.stations.commands import stations_cli

    app.cli.add_command(analytics_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(stations_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
