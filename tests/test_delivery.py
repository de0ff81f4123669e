"""How the public pages travel to a phone: compressed, with an icon, a description, and
static files kept for a year when their address carries their version."""

import gzip
import html
import re
from datetime import timedelta

import pytest

from inclusive_day import assets, compression
from inclusive_day.database import utcnow

CSRF = re.compile(r'name="csrf_token" value="[^"]*"')
DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)">')
YEAR = "max-age=31536000"


def without_tokens(body: str) -> str:
    """A page without its CSRF tokens (signed with the time, so they differ between answers)."""
    return CSRF.sub("", body)


def asset_urls(page: str) -> list[str]:
    """The stylesheets, scripts and icons a page loads from this site."""
    return [
        html.unescape(url)
        for url in re.findall(
            r'(?:href|src)="(/(?:static|bootstrap|directory/vendor)/[^"]+)"', page
        )
    ]


@pytest.fixture
def station(make_station, make_unit):
    """An open station in Kunming, with a point on the map."""
    unit = make_unit("五华区总工会")
    return make_station(
        unit,
        "翠湖社区工会驿站",
        code="KM-WH-002",
        address="翠湖南路8号",
        opening_hours="08:00-20:00",
        latitude=25.0478,
        longitude=102.7035,
    )


@pytest.fixture
def activity(make_activity, station):
    """A haircut day at the station, on now."""
    now = utcnow()
    return make_activity(
        station, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=90)
    )


# --- Compression ---------------------------------------------------------------------------


def test_a_page_asked_for_in_gzip_comes_in_gzip_and_decompresses_to_the_page(client, station):
    plain = client.get("/directory/")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    packed = client.get("/directory/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
    page = gzip.decompress(packed.data).decode()
    assert without_tokens(page) == without_tokens(plain.get_data(as_text=True))
    for response in (plain, packed):
        assert "Accept-Encoding" in response.headers["Vary"]


@pytest.mark.skipif(compression.brotli is None, reason="Brotli is not installed")
def test_brotli_is_preferred_when_the_browser_takes_it(client, station):
    response = client.get("/directory/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    page = compression.brotli.decompress(response.data).decode()
    assert "翠湖社区工会驿站" in page
    response = client.get("/directory/", headers={"Accept-Encoding": "gzip;q=1, br;q=0.5"})
    assert response.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "deflate"])
def test_nothing_is_compressed_for_a_browser_that_does_not_ask(client, station, accept):
    response = client.get("/directory/", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in response.headers
    assert "翠湖社区工会驿站" in response.get_data(as_text=True)


def test_tiny_and_already_compressed_answers_go_as_they_are(client):
    tiny = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert tiny.json == {"status": "ok"} and "Content-Encoding" not in tiny.headers
    for path in ("/favicon.ico", "/static/img/apple-touch-icon.png"):
        image = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert image.status_code == 200
        assert "Content-Encoding" not in image.headers
        assert "Accept-Encoding" not in image.headers.get("Vary", "")
        image.close()


def test_a_static_file_is_compressed_once_and_still_revalidates(client):
    path = "/bootstrap/static/css/bootstrap.min.css"
    plain = client.get(path)
    size = len(plain.data)
    plain.close()
    first = client.get(path, headers={"Accept-Encoding": "gzip"})
    again = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert len(gzip.decompress(first.data)) == size
    assert again.data == first.data and len(first.data) < size / 4
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')  # the same content in another encoding
    assert "Accept-Ranges" not in first.headers
    unchanged = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert unchanged.status_code == 304 and not unchanged.data
    for response in (first, again, unchanged):
        response.close()


def test_a_range_is_sent_uncompressed(client):
    response = client.get(
        "/bootstrap/static/css/bootstrap.min.css",
        headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"},
    )
    assert response.status_code == 206 and len(response.data) == 100
    assert "Content-Encoding" not in response.headers
    response.close()


def test_the_map_files_are_compressed(client, station, make_station):
    for n in range(5):
        make_station(station.unit, f"驿站{n}", latitude=25.0 + n / 100, longitude=102.7)
    for path in ("/directory/stations.geojson", "/directory/stations.kml"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip", path
        assert "翠湖社区工会驿站" in gzip.decompress(response.data).decode(), path


def test_pages_for_a_signed_in_user_are_not_compressed(client, login, make_user, station):
    # They hold the CSRF token beside text the request echoes: what BREACH reads from sizes.
    login(make_user())
    response = client.get("/directory/?q=驿站", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]


# --- The icon ------------------------------------------------------------------------------


def test_favicon_ico_answers_with_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's signature
    assert "max-age=604800" in response.headers["Cache-Control"]
    response.close()


def test_every_page_names_its_icons(client, station):
    page = client.get("/directory/").get_data(as_text=True)
    icons = re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', page)
    assert "/favicon.ico" in icons and len(icons) == 3
    for url in icons:
        response = client.get(html.unescape(url))
        assert response.status_code == 200, url
        assert response.mimetype.startswith("image/"), url
        response.close()


# --- The description -----------------------------------------------------------------------


def test_public_pages_describe_themselves(client, station, activity, make_campaign):
    pages = {
        "/directory/": "free for couriers",
        "/directory/map": "free for couriers",
        "/directory/stations/KM-WH-002": "翠湖社区工会驿站 · 翠湖南路8号 · 08:00-20:00",
        "/sponsors/honour": "caring enterprises",
        f"/sponsors/honour/campaign/{activity.campaign_id}": "Honour roll: ",
        f"/c/{activity.checkin_token}": f"Check in: {activity.title}",
        "/d/KM-WH-002": "Post station check-in: 翠湖社区工会驿站 · 翠湖南路8号",
    }
    for path, expected in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        (description,) = DESCRIPTION.findall(response.get_data(as_text=True))
        assert expected in html.unescape(description), (path, description)


def test_the_description_is_translated(app, station):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    (description,) = DESCRIPTION.findall(client.get("/d/KM-WH-002").get_data(as_text=True))
    assert "Post station check-in" not in description and "翠湖社区工会驿站" in description


# --- Versioned static files ----------------------------------------------------------------


def test_static_addresses_carry_versions_and_those_are_kept_for_a_year(client, station):
    page = client.get("/directory/stations/KM-WH-002").get_data(as_text=True)
    urls = asset_urls(page)
    assert "/directory/vendor/leaflet/leaflet.js?v=1.9.3" in urls
    assert any(url.startswith("/bootstrap/static/css/bootstrap.min.css?v=") for url in urls)
    assert any(url.startswith("/static/css/directory.css?v=") for url in urls)
    for url in urls:
        assert re.search(r"\?v=[0-9a-z.]+$", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        cache = response.headers["Cache-Control"]
        assert "public" in cache and YEAR in cache and "immutable" in cache, (url, cache)
        assert "no-cache" not in cache, url
        response.close()


@pytest.mark.parametrize(
    ("path", "cache"),
    [
        ("/static/css/app.css?v=0000000000", "no-cache"),
        ("/static/css/app.css", "no-cache"),
        ("/directory/vendor/leaflet/leaflet.js?v=0.7.7", "max-age=86400"),
        ("/directory/vendor/leaflet/leaflet.js", "max-age=86400"),
    ],
)
def test_an_old_or_missing_version_is_not_kept_for_a_year(client, path, cache):
    response = client.get(path)
    assert response.status_code == 200
    assert cache in response.headers["Cache-Control"]
    assert "immutable" not in response.headers["Cache-Control"]
    response.close()


def test_a_changed_file_gets_a_new_version(tmp_path):
    (tmp_path / "site.css").write_text("body { color: red; }")
    before = assets.file_version(str(tmp_path), "site.css")
    assert before == assets.file_version(str(tmp_path), "site.css")
    (tmp_path / "site.css").write_text("body { color: darkred; }")
    assert assets.file_version(str(tmp_path), "site.css") != before
    assert assets.file_version(str(tmp_path), "missing.css") is None
    assert assets.file_version(str(tmp_path), "../etc/passwd") is None
    assert assets.file_version(str(tmp_path), ".") is None
