"""Browser safety headers on every response.

The Content-Security-Policy allows scripts from this site only, never inline ones (data the
scripts need travels in <script type="application/json"> blocks, which browsers do not run);
images may also come from the map's tile server. Inline style attributes stay allowed: they
carry layout only, and Bootstrap's components set some themselves. HSTS is sent only over
HTTPS, where it means something.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

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
        return response
