"""Building iCalendar feeds: who may read which feed, what it holds, its cache stamp, its body.

A feed costs a constant number of SQL queries whatever its size: the owner row, the token
(when given; tokens.py), one aggregate (count and latest change) for the ETag, and one Core
select of the columns written, joined with the station and the theme. The calendar head and
its VTIMEZONE come from the icalendar library; the events are written by `_EventWriter`
below, because icalendar's generic per-property path costs seconds for 10,000 events.
Tests parse the result back with icalendar.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import abort, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Timezone, vDuration
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import joinedload

from inclusive_day.access.rule import Action, can, visible
from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.activities.queries import in_public_campaign
from inclusive_day.auth.models import User
from inclusive_day.campaigns.models import Campaign, Theme
from inclusive_day.extensions import db
from inclusive_day.periods import zone_of
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

PRODID = "-//Inclusive Day//Calendar feeds//ZH"
REFRESH = timedelta(hours=1)
DAYS_BACK, DAYS_AHEAD = 30, 365
# The longest date window a feed may ask for, so that one request cannot ask for everything.
MAX_WINDOW_DAYS = 3 * 366
# Stands for the activity id in the URL template, so url_for runs once per feed, not per event.
_ID_MARK = 987654321


class FilterError(ValueError):
    """A filter value in the query string that cannot be used (answered with 400)."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Window:
    """The optional theme and the local days (both included) a feed covers."""

    first: date
    last: date
    theme_id: int | None = None

    @property
    def key(self) -> str:
        """The filters as they enter the ETag."""
        return f"{self.first}/{self.last}/{self.theme_id or ''}"


@dataclass(frozen=True)
class Feed:
    """One feed as a request sees it: its name, its zone and the activities it may show."""

    key: str
    name: str
    zone_name: str
    where: tuple[ColumnElement[bool], ...]
    viewer_id: int | None = None
    windowed: bool = True

    @property
    def zone(self) -> ZoneInfo:
        """The zone the events are written in."""
        return zone_of(self.zone_name)


@dataclass(frozen=True)
class Stamp:
    """What the cache headers are made of: one aggregate over the feed's rows."""

    etag: str
    last_modified: datetime | None
    count: int


# ---- filters ------------------------------------------------------------------------------


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(_l("%(name)s must be a date written YYYY-MM-DD.", name=what)) from None


def parse_window(args, today: date) -> Window:
    """Read `theme`, `from` and `to` from the query string; raise FilterError on bad values."""
    theme_id = None
    if args.get("theme"):
        text = args["theme"].strip()
        if not text.isdigit() or int(text) < 1 or int(text) > 2**31 - 1:
            raise FilterError(_l("theme must be a theme's number."))
        theme_id = int(text)
    first = _day(args["from"], "from") if args.get("from") else today - timedelta(DAYS_BACK)
    last = _day(args["to"], "to") if args.get("to") else today + timedelta(DAYS_AHEAD)
    if last < first:
        raise FilterError(_l("to must not be before from."))
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise FilterError(
            _l("The date window may cover at most %(days)d days.", days=MAX_WINDOW_DAYS)
        )
    if theme_id is not None and db.session.get(Theme, theme_id) is None:
        raise FilterError(_l("There is no theme %(id)d.", id=theme_id))
    return Window(first, last, theme_id)


# ---- who may read which feed --------------------------------------------------------------


def _open_to(user: User | None) -> ColumnElement[bool]:
    """Activities of public campaigns, and those the token's user may view."""
    if user is None:
        return in_public_campaign()
    return or_(in_public_campaign(), visible(user, Action.VIEW, Activity))


def campaign_feed(campaign_id: int, user: User | None) -> Feed:
    """A campaign's activities: open for a public campaign, else only through a token."""
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).options(joinedload(Campaign.unit))
    )
    if campaign is None:
        abort(404)
    where = [Activity.campaign_id == campaign.id]
    if not campaign.is_public:
        if user is None or not can(user, Action.VIEW, campaign):
            abort(404)
        where.append(visible(user, Action.VIEW, Activity))
    return Feed(
        f"campaign:{campaign.id}", campaign.name, campaign.unit.timezone, tuple(where), _id(user)
    )


def unit_feed(unit_id: int, user: User | None) -> Feed:
    """The activities at every station of a unit's subtree that are public or the user's."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    stations = select(Station.id).where(Station.under(unit.path))
    where = (Activity.station_id.in_(stations), _open_to(user))
    return Feed(f"unit:{unit.id}", unit.name, unit.timezone, where, _id(user))


def station_feed(station_id: int, user: User | None) -> Feed:
    """The activities at one station that are public or the user's."""
    station = db.session.scalar(
        select(Station).where(Station.id == station_id).options(joinedload(Station.unit))
    )
    if station is None:
        abort(404)
    where = (Activity.station_id == station.id, _open_to(user))
    return Feed(f"station:{station.id}", station.name, station.unit.timezone, where, _id(user))


def activity_feed(activity_id: int, user) -> Feed:
    """One activity, for "add to calendar": public, or one the signed-in user may view."""
    activity = db.session.scalar(
        select(Activity)
        .where(Activity.id == activity_id)
        .options(
            joinedload(Activity.campaign), joinedload(Activity.station).joinedload(Station.unit)
        )
    )
    if activity is None:
        abort(404)
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if not activity.campaign.is_public and not (signed_in and can(user, Action.VIEW, activity)):
        abort(404)
    return Feed(
        f"activity:{activity.id}",
        activity.title,
        activity.station.unit.timezone,
        (Activity.id == activity.id,),
        user.id if signed_in else None,
        windowed=False,
    )


def _id(user: User | None) -> int | None:
    return None if user is None else user.id


# ---- the rows -----------------------------------------------------------------------------


def _where(feed: Feed, window: Window | None) -> list[ColumnElement[bool]]:
    where = list(feed.where)
    if window is not None and feed.windowed:
        zone = feed.zone
        start = datetime.combine(window.first, datetime.min.time(), zone).astimezone(UTC)
        end = datetime.combine(
            window.last + timedelta(days=1), datetime.min.time(), zone
        ).astimezone(UTC)
        where += [Activity.starts_at >= start, Activity.starts_at < end]
        if window.theme_id is not None:
            where.append(Activity.theme_id == window.theme_id)
    return where


def stamp(feed: Feed, window: Window | None) -> Stamp:
    """The feed's ETag and Last-Modified, from one aggregate query (no rows are read)."""
    count, last_activity, last_station = db.session.execute(
        select(func.count(Activity.id), func.max(Activity.updated_at), func.max(Station.updated_at))
        .join(Station, Station.id == Activity.station_id)
        .where(*_where(feed, window))
    ).one()
    changes = [t for t in (last_activity, last_station) if t is not None]
    last_modified = max(changes) if changes else None
    parts = (
        feed.key,
        feed.name,
        feed.zone_name,
        feed.viewer_id,
        _language(),
        count,
        last_modified.isoformat() if last_modified else "",
        window.key if window and feed.windowed else "",
        request.host_url,
    )
    etag = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    return Stamp(etag, last_modified, count)


def _language() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def _rows(feed: Feed, window: Window | None):
    theme_name = Theme.name_en if _language() == "en" else Theme.name_zh
    stmt = (
        select(
            Activity.id,
            Activity.uid,
            Activity.sequence,
            Activity.status,
            Activity.title,
            Activity.description,
            Activity.cancel_reason,
            Activity.starts_at,
            Activity.ends_at,
            Activity.updated_at,
            theme_name.label("theme_name"),
            Station.name.label("station_name"),
            Station.address,
            Station.latitude,
            Station.longitude,
        )
        .join(Station, Station.id == Activity.station_id)
        .join(Theme, Theme.id == Activity.theme_id)
        .where(*_where(feed, window))
        .order_by(Activity.starts_at, Activity.id)
    )
    # Core execution: plain rows, without the ORM's per-row loading machinery.
    return db.session.connection().execute(stmt)


# ---- the body -----------------------------------------------------------------------------


def render(feed: Feed, window: Window | None) -> bytes:
    """The feed as iCalendar bytes (UTF-8, CRLF, folded at 75 octets on character bounds)."""
    zone = feed.zone
    url_mark = url_for("activities.show", activity_id=_ID_MARK, _external=True)
    cancelled_note = _("Cancelled: %(reason)s", reason="\x00").split("\x00")
    writer = _EventWriter(zone, url_mark, cancelled_note)
    # Rows are written as they arrive, so that none outlives its line of the body.
    events = "".join([writer.event(row) for row in _rows(feed, window)])
    if window is not None and feed.windowed:
        years = (window.first.year, window.last.year)
    else:
        years = writer.years or (date.today().year, date.today().year)
    head = _head(feed.name, zone.key, years[0] - 1, years[1] + 1)
    end = b"END:VCALENDAR\r\n"
    return head[: -len(end)] + events.encode("utf-8") + end


def _head(name: str, tzid: str, first_year: int, last_year: int) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.calendar_name = name
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add_component(_timezone(tzid, first_year, last_year))
    return calendar.to_ical()


@lru_cache(maxsize=64)
def _timezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of `tzid` over the years a feed spans (slow to compute, so kept)."""
    return Timezone.from_tzinfo(
        zone_of(tzid),
        tzid=tzid,
        first_date=date(first_year, 1, 1),
        last_date=date(last_year, 12, 31),
    )


class _EventWriter:
    """Writes VEVENTs; a station's LOCATION/GEO and a theme's CATEGORIES are folded once."""

    def __init__(self, zone: ZoneInfo, url_mark: str, cancelled_note: list[str]) -> None:
        self.zone = zone
        self.tzid = zone.key
        self.url_before, self.url_after = url_mark.split(str(_ID_MARK))
        self.cancelled_note = cancelled_note
        self._places: dict[tuple, str] = {}
        self._themes: dict[str, str] = {}
        self.years: tuple[int, int] | None = None
        self._times: dict[datetime, str] = {}

    def local(self, moment: datetime) -> str:
        """A moment as local DATE-TIME text (activities share a few slots, so keep them)."""
        text = self._times.get(moment)
        if text is None:
            text = self._times[moment] = moment.astimezone(self.zone).strftime("%Y%m%dT%H%M%S")
        return text

    def place(self, row) -> str:
        """The LOCATION and GEO lines of the row's station."""
        key = (row.station_name, row.address, row.latitude, row.longitude)
        text = self._places.get(key)
        if text is None:
            location = ", ".join(p for p in (row.station_name, row.address) if p)
            text = fold("LOCATION:" + _text(location)) + "\r\n"
            if row.latitude is not None and row.longitude is not None:
                text += f"GEO:{row.latitude:.6f};{row.longitude:.6f}\r\n"
            self._places[key] = text
        return text

    def theme(self, name: str) -> str:
        """The CATEGORIES line of a theme."""
        text = self._themes.get(name)
        if text is None:
            text = self._themes[name] = fold("CATEGORIES:" + _text(name)) + "\r\n"
        return text

    def event(self, row) -> str:
        """One activity as a VEVENT, CRLF-terminated lines; only free-text lines can fold."""
        cancelled = row.status == ActivityStatus.CANCELLED
        description = row.description or ""
        if cancelled:
            before, after = self.cancelled_note
            note = before + (row.cancel_reason or "") + after
            description = f"{note}\n\n{description}" if description else note
        changed = row.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        starts = self.local(row.starts_at)
        year = int(starts[:4])
        if self.years is None or not self.years[0] <= year <= self.years[1]:
            first, last = self.years or (year, year)
            self.years = (min(first, year), max(last, year))
        ends = self.local(row.ends_at)
        parts = [
            "BEGIN:VEVENT\r\n",
            fold("UID:" + _text(row.uid)),
            f"\r\nDTSTAMP:{changed}\r\nLAST-MODIFIED:{changed}\r\nSEQUENCE:{row.sequence}\r\n"
            f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}\r\n"
            f"DTSTART;TZID={self.tzid}:{starts}\r\nDTEND;TZID={self.tzid}:{ends}\r\n",
            fold("SUMMARY:" + _text(row.title)),
            "\r\n",
        ]
        if description:
            parts += [fold("DESCRIPTION:" + _text(description)), "\r\n"]
        parts += [
            self.place(row),
            self.theme(row.theme_name),
            fold(f"URL:{self.url_before}{row.id}{self.url_after}"),
            "\r\nEND:VEVENT\r\n",
        ]
        return "".join(parts)


def _text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str, limit: int = 75) -> str:
    """Fold a content line at `limit` octets without splitting a UTF-8 character or an escape."""
    if len(line) <= limit // 4 or (len(line) <= limit and line.isascii()):
        return line
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line
    parts: list[bytes] = []
    start, room = 0, limit
    while len(data) - start > room:
        cut = start + room
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back to the lead byte
            cut -= 1
        # Keep a backslash escape ("\n", "\,") on one line, as picky clients expect.
        run = 0
        while cut - 1 - run > start and data[cut - 1 - run] == 0x5C:
            run += 1
        if run % 2:
            cut -= 1
        parts.append(data[start:cut])
        start, room = cut, limit - 1  # a continuation line starts with one space
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode("utf-8")
