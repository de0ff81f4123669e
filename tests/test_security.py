"""Browser safety: the headers on every answer, and templates that a strict CSP can run."""

from __future__ import annotations

import re
from pathlib import Path

from inclusive_day.security import tile_sources

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_every_page_carries_the_safety_headers(client):
    for url in ("/directory/", "/auth/login", "/no-such-page"):
        headers = client.get(url).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "https://a.tile.openstreetmap.org" not in policy  # no {s} in the default URL
        assert "https://tile.openstreetmap.org" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers


def test_hsts_only_over_https(client):
    answer = client.get("/auth/login", base_url="https://yizhan.example.cn")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_tile_subdomains_become_sources():
    assert tile_sources("https://{s}.tiles.example/{z}/{x}/{y}.png", "ab") == [
        "https://a.tiles.example",
        "https://b.tiles.example",
    ]
    assert tile_sources("not a url", "abc") == []


def test_no_template_holds_a_script_the_policy_would_block():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.parts[-2] == "pdf":
            continue  # PDFs are rendered by WeasyPrint, not a browser
        text = path.read_text(encoding="utf-8")
        if inline_script.search(text) or handler.search(text) or "javascript:" in text:
            offenders.append(path.name)
    assert offenders == []
