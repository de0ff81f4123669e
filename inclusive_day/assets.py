"""Static files with their version in their address, so that phones keep them for a year.

`url_for("static", filename=...)`, and the same for a blueprint's static folder (Bootstrap's),
gains `?v=<the start of the file's SHA-256>`. A request whose `v` is the file's version as it
is now is answered `Cache-Control: public, max-age=31536000, immutable`; any other (an old
page naming an old version, or no version) is revalidated as before. A changed file has a new
address, so a kept copy is never stale. A file's version is computed once per state of the
file (its size and modification time). The favicon lives here too, for /favicon.ico.
"""

from __future__ import annotations

import hashlib
import os
import stat
from functools import lru_cache

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

YEAR_SECONDS = 365 * 24 * 3600
VERSION_LENGTH = 10  # hex digits of the SHA-256: plenty to tell a file's versions apart
FAVICON = "img/favicon.ico"
FAVICON_MAX_AGE = 7 * 24 * 3600  # its address has no version: a week, then ask again


def is_static(endpoint: str | None) -> bool:
    """Whether an endpoint serves a static folder (the app's or a blueprint's)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def static_folder(endpoint: str) -> str | None:
    """The folder a static endpoint serves."""
    if endpoint == "static":
        return current_app.static_folder
    blueprint = current_app.blueprints.get(endpoint.rsplit(".", 1)[0])
    return blueprint.static_folder if blueprint is not None else None


@lru_cache(maxsize=1024)
def _digest(path: str, size: int, modified_ns: int) -> str:
    """The version of a file in one state (the arguments besides the path key the cache)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            sha.update(block)
    return sha.hexdigest()[:VERSION_LENGTH]


def file_version(folder: str | None, filename: str) -> str | None:
    """The version of `filename` in `folder` as it is now; None when there is no such file."""
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return _digest(path, info.st_size, info.st_mtime_ns)


def add_version(endpoint: str, values: dict) -> None:
    """URL defaults: a static file's address carries its version."""
    if is_static(endpoint) and "v" not in values and "filename" in values:
        version = file_version(static_folder(endpoint), str(values["filename"]))
        if version is not None:
            values["v"] = version


def keep_for_a_year(response: Response) -> Response:
    """Let every cache keep this answer for a year, unrevalidated: its address is versioned."""
    response.cache_control.no_cache = None
    response.cache_control.public = True
    response.cache_control.max_age = YEAR_SECONDS
    response.cache_control.immutable = True
    return response


def cache_versioned(response: Response) -> Response:
    """After a static file's request: kept for a year when it asked for the current version."""
    endpoint = request.endpoint
    if is_static(endpoint) and response.status_code in (200, 304):
        asked = request.args.get("v")
        filename = (request.view_args or {}).get("filename", "")
        if asked and asked == file_version(static_folder(endpoint), filename):
            keep_for_a_year(response)
    return response


def favicon() -> Response:
    """The site's icon, for the browsers that ask for /favicon.ico whatever the page says."""
    response = current_app.send_static_file(FAVICON)
    response.cache_control.no_cache = None
    response.cache_control.public = True
    response.cache_control.max_age = FAVICON_MAX_AGE
    return response


def register(app: Flask) -> None:
    """Version the static files' addresses and keep versioned ones for a year."""
    app.url_defaults(add_version)
    app.after_request(cache_versioned)
