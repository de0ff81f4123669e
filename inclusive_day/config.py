"""Configuration classes, read from the environment and the instance folder."""

import os
import secrets
from pathlib import Path

from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.replica import normalise_url

PACKAGE_DIR = Path(__file__).resolve().parent
# templates/, static/ and migrations/ sit beside the package in a checkout; a wheel carries
# them inside it (setup.py copies them there when it builds).
INSTALLED = (PACKAGE_DIR / "templates").is_dir()
SITE_DIR = PACKAGE_DIR if INSTALLED else PACKAGE_DIR.parent
# Instance files (the development secret, the SQLite database): beside the checkout, or in the
# working directory of an installed copy, unless INCLUSIVE_DAY_INSTANCE names the place.
INSTANCE_DIR = Path(
    os.environ.get(
        "INCLUSIVE_DAY_INSTANCE", (Path.cwd() if INSTALLED else PACKAGE_DIR.parent) / "instance"
    )
)


def _local_secret_key() -> str:
    """Return the development secret, generated once into instance/ so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url() -> str:
    """Return DATABASE_URL, defaulting to a SQLite file in instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'inclusive_day.sqlite'}"


def _reports_database_url() -> str | None:
    """REPORTS_DATABASE_URL, the reporting replica; unset, reports read the primary."""
    url = os.environ.get("REPORTS_DATABASE_URL")
    return normalise_url(url) if url else None


def _identity_secret() -> str | None:
    """IDENTITY_SECRET keys check-in identities apart from SECRET_KEY, so the session secret
    can rotate without changing who counts as the same person; unset, SECRET_KEY serves."""
    return os.environ.get("IDENTITY_SECRET") or None


def _int_env(name: str, default: int) -> int:
    """An integer setting from the environment, with a clear error when it is not one."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}.") from None


class Config:
    """Settings for local use: a SQLite file and a generated secret in instance/."""

    ENV_NAME = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str = ""
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection unused this long is pinged before it is handed out (database.py).
    DATABASE_PING_IDLE_SECONDS = _int_env("DATABASE_PING_IDLE_SECONDS", 10)
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # A PostgreSQL streaming replica of DATABASE_URL's server (same database name): the reads
    # of reports, notices and feeds go to it, every write to the primary (replica.py).
    REPORTS_DATABASE_URL: str | None = None
    LANGUAGES = ("zh", "en")
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = DEFAULT_ZONE.key
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BTN_STYLE = "primary"
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PASSWORD_HASH_METHOD = "scrypt"
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    # The address printed in QR codes on posters (the public site), e.g. https://yizhan.example.cn;
    # unset, posters made from a page use that page's host, and the CLI refuses to guess.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    STATION_IMPORT_MAX_BYTES = _int_env("STATION_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
    POSTER_BATCH_MAX = _int_env("POSTER_BATCH_MAX", 500)
    # Check-ins open this long before an activity starts and close this long after it ends.
    CHECKIN_GRACE_MINUTES = _int_env("CHECKIN_GRACE_MINUTES", 60)
    # The largest headcount one group may have at one activity.
    HEADCOUNT_MAX = _int_env("HEADCOUNT_MAX", 10_000)
    # The most tally taps one upload may carry (the tally page sends them 500 at a time).
    TALLY_BATCH_MAX = _int_env("TALLY_BATCH_MAX", 500)
    # Check-ins per client address and minute, over the check-in API, the activity QR pages
    # and the door QR pages together (Flask-Limiter syntax).
    CHECKIN_RATE_LIMIT = os.environ.get("CHECKIN_RATE_LIMIT", "120 per minute")
    # The most check-ins an activity takes in one minute, unless the activity or its station
    # says otherwise: about what one station can physically serve.
    CHECKIN_CAPACITY_PER_MINUTE = _int_env("CHECKIN_CAPACITY_PER_MINUTE", 30)
    # The largest capacity a minute an organiser may give an activity or a station.
    CHECKIN_CAPACITY_MAX = _int_env("CHECKIN_CAPACITY_MAX", 1_000)
    # The SMS gateway that sends a points card's link to a typed number, as
    # "package.module:factory" (called with the config, returns a points.sms.SmsGateway);
    # unset, the "send to my number" path is not offered.
    POINTS_SMS_GATEWAY = os.environ.get("POINTS_SMS_GATEWAY") or None
    RATELIMIT_HEADERS_ENABLED = True
    # Where every limit counts (sign-in, sign-up, check-ins), shared by all workers and app
    # servers: RATELIMIT_STORAGE_URI, else Redis at REDIS_URL, else the app's own database.
    RATELIMIT_STORAGE_URI = (
        os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "database://"
    )
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # How many reverse proxies in front of the app add to X-Forwarded-For (and set
    # X-Forwarded-Proto): the client's address is then the one the nearest of them saw. 0 (the
    # default) trusts no header, and the address is the connection's.
    TRUSTED_PROXIES = _int_env("TRUSTED_PROXIES", 0)
    # Failed sign-ins allowed per account (the user name typed) and per client address before
    # the sign-in form answers "too many attempts" without checking the password.
    LOGIN_LIMIT_ACCOUNT = os.environ.get("LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_ADDRESS = os.environ.get("LOGIN_LIMIT_ADDRESS", "30 per 15 minutes")
    # Refused points codes (and refused spends) one staff account may send.
    POINTS_CODE_LIMIT = os.environ.get("POINTS_CODE_LIMIT", "20 per 10 minutes")
    # Sponsor sign-ups (each one sent, made or refused) per client address, counted like the
    # sign-in limits: a taken name cannot be probed for, nor the review queue flooded.
    SIGNUP_LIMIT_ADDRESS = os.environ.get("SIGNUP_LIMIT_ADDRESS", "10 per hour")
    # The audit log (who changed what); AUDIT_ENABLED=0 switches it off.
    AUDIT_ENABLED = os.environ.get("AUDIT_ENABLED", "1") != "0"
    # The most activities one series (stations x dates) may create in one go.
    SERIES_MAX_ACTIVITIES = _int_env("SERIES_MAX_ACTIVITIES", 10_000)
    # Rendered report PDFs are kept here (default: report_cache in the instance folder).
    REPORT_CACHE_DIR = os.environ.get("REPORT_CACHE_DIR") or None
    # With REDIS_URL set, recaps of more activities than this render in the report worker.
    REPORT_QUEUE_THRESHOLD = _int_env("REPORT_QUEUE_THRESHOLD", 5_000)
    # The live board flags a station as silent after this many days without a door visit
    # (a page may ask for another window with ?days=, 1 to 365).
    SILENT_STATION_DAYS = _int_env("SILENT_STATION_DAYS", 7)
    # The public map's tiles. In mainland China use a GCJ-02 tile server (Gaode/AMap) and
    # set MAP_TILE_COORD_SYSTEM=gcj02 so that markers are shifted to sit on its streets.
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
    MAP_TILE_COORD_SYSTEM = os.environ.get("MAP_TILE_COORD_SYSTEM", "wgs84")
    MAP_TILE_SUBDOMAINS = os.environ.get("MAP_TILE_SUBDOMAINS", "abc")
    # The JSON API (flask-smorest): its OpenAPI document is served at /api/v1/openapi.json.
    API_TITLE = "Inclusive Day API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "info": {
            "description": "Read units, stations, campaigns, activities, donations and report "
            "figures; plan activities, record headcounts and pledge donations. Send "
            "`Authorization: Bearer <token>` with a token made at /account/tokens."
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    # Lists answer pages of API_PER_PAGE items unless asked for more, at most API_MAX_PER_PAGE.
    API_PER_PAGE = 50
    API_MAX_PER_PAGE = 200

    def __init__(self) -> None:
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.REPORTS_DATABASE_URL = _reports_database_url()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
        self.IDENTITY_SECRET = _identity_secret()


class ProductionConfig(Config):
    """Production: the secret and the database must come from the environment."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    def __init__(self) -> None:
        secret = os.environ.get("SECRET_KEY")
        if not secret or len(secret) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to at least 32 random characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL must be set in production.")
        self.SECRET_KEY = secret
        self.IDENTITY_SECRET = _identity_secret()
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.REPORTS_DATABASE_URL = _reports_database_url()


class TestConfig(Config):
    """Tests: a database given by the fixture, a fixed secret, cheap password hashes."""

    __test__ = False  # not a pytest test class, despite the name
    ENV_NAME = "test"
    TESTING = True
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

    def __init__(self, database_url: str | None = None) -> None:
        self.SECRET_KEY = "test-secret-key-not-for-production-0123456789"
        self.SQLALCHEMY_DATABASE_URI = database_url or "sqlite://"


def config_from_environment() -> Config:
    """Pick the configuration class named by INCLUSIVE_DAY_ENV (development or production)."""
    name = os.environ.get("INCLUSIVE_DAY_ENV", "development")
    if name == "production":
        return ProductionConfig()
    if name == "development":
        return Config()
    raise RuntimeError(f"INCLUSIVE_DAY_ENV must be 'development' or 'production', not {name!r}.")
