"""Browser safety headers on every response.

The Content-Security-Policy allows scripts from this site only, never inline ones (data the
scripts need travels in <script type="application/json"> blocks, which browsers do not run);
images may also come from the map's tile server. Inline style attributes stay allowed: they
carry layout only, and Bootstrap's components set some themselves. HSTS is sent only over
HTTPS, where it means something.

No cache keeps a private answer: every response to a signed-in user or to a request carrying
an API token, and every download (Content-Disposition: attachment), says
`Cache-Control: no-store`, so that people's data, receipts and exports stay out of shared
proxies and the browser's history. Public pages (the directory, a station's page) and static
files answered to an anonymous visitor keep their caching, and so do static files and
responses marked public, whoever asks.

Behind reverse proxies (TRUSTED_PROXIES of them), the client's address and scheme are read from
the X-Forwarded-For and X-Forwarded-Proto headers those proxies add, and from nothing else:
the rate limits count per client, not per proxy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def tile_sources(url: str, subdomains: str) -> list[str]:
    """The origins a tile URL template loads from: {s} stands for each subdomain letter."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return []
    hosts = (
        [parts.netloc.replace("{s}", s) for s in subdomains or "abc"]
        if "{s}" in parts.netloc
        else [parts.netloc]
    )
    return [f"{parts.scheme}://{host}" for host in hosts]


def content_security_policy(app: Flask) -> str:
    """The policy for this app's configuration."""
    tiles = " ".join(
        tile_sources(app.config.get("MAP_TILE_URL", ""), app.config.get("MAP_TILE_SUBDOMAINS", ""))
    )
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: {tiles}".strip(),
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def is_private(response: Response) -> bool:
    """True when no cache may keep `response` (see the module's docstring)."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static") or response.cache_control.public:
        return False
    if "Authorization" in request.headers:
        return True
    if response.headers.get("Content-Disposition", "").lower().startswith("attachment"):
        return True
    return bool(current_user and current_user.is_authenticated)


def register(app: Flask) -> None:
    """Add the headers to every response the app sends."""
    policy = content_security_policy(app)

    @app.after_request
    def _secure(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if is_private(response) and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        return response


def trust_proxies(app: Flask) -> None:
    """Take the client's address (and scheme) from the headers of the TRUSTED_PROXIES reverse
    proxies in front of the app: with n of them, the n-th address from the right of
    X-Forwarded-For, the one the outermost proxy saw. Addresses a client adds to the header
    itself lie further left and are ignored; with 0, the header is ignored altogether."""
    trusted = app.config.get("TRUSTED_PROXIES", 0)
    if not isinstance(trusted, int) or trusted < 0:
        raise RuntimeError(f"TRUSTED_PROXIES must be 0 or more, not {trusted!r}.")
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)
