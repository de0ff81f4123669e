"""Station spreadsheets in: read a CSV or XLSX file, check every row, then upsert by code.

The whole file is read and every row checked before anything touches the session; only a
file without a single bad row is written, by bulk statements (executemany, and one
INSERT ... SELECT per amenity), never one ORM object per row. The service flushes, the
caller commits.

What a file may hold (the upload page shows the same as a table):
- a header row with Chinese or English column names (`COLUMNS`); a title row above it is
  allowed, unknown columns are ignored and named in the report;
- required columns: station code, station name, union unit (its name or its code) and
  opening hours. A blank hours cell is an error, as on the station form: a station must
  say when it is open ("24小时" for round the clock);
- any other column may be left out: a station already registered keeps its stored value
  for a column the file does not have, a new one gets the default (blank; status active).
  A blank cell in a column that is there clears the value (blank status keeps it);
- coordinates in WGS-84 unless the coordinate system column says GCJ-02 or BD-09; they are
  stored in WGS-84. When a row gives the stored point again, the station keeps its record
  of the system it was first given in, so an export re-imports unchanged;
- the lifecycle (status, opening day, closing day and reason) follows the station form's
  rules (services.check_lifecycle). A new open station without an opening-day column opened
  today; a blank host type keeps the stored one (new: "other");
- partners are named as on the form ("中国石化、中国电信"), each kept by the row's unit or a
  unit above it; labels are written "省级工会驿站 2023；全国最美工会驿站 2024 @530000": a label
  (code or name in either language), the year, and after "@" the code or name of the
  awarding unit when it is not the station's own unit (it must be one above it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import PurePath
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    any_,
    bindparam,
    literal,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect

from inclusive_day.access.rule import Action, visible
from inclusive_day.audit.summaries import stations_imported
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import local_today, zone_of
from inclusive_day.spreadsheets import FORMULA_STARTS
from inclusive_day.stations.geo import CoordSystem
from inclusive_day.stations.models import (
    OTHER_HOST_TYPE,
    Amenity,
    HostType,
    Label,
    LabelAward,
    Partner,
    Station,
    StationAmenity,
    StationPartner,
    StationStatus,
)
from inclusive_day.stations.services import (
    Lifecycle,
    StationError,
    catalogue_spellings,
    check_award_year,
    check_code,
    check_hours,
    check_lifecycle,
    check_location,
    check_phone,
    parse_amenities,
    partner_choice,
    spelling,
    split_names,
    unknown_host_type,
    unknown_label,
    unknown_partner,
)
from inclusive_day.units.models import Unit
from inclusive_day.uploads import (
    CSV,
    XLSX,
    Reason,
    RowError,
    Table,
    UploadRefused,
    encoding_label,
    format_size,
    not_accepted,
    read_table,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# An XLSX is a zip: refuse one that would unpack to more than this many times the limit.
MAX_UNPACKED_RATIO = 20
HEADER_SEARCH_ROWS = 10
IN_CHUNK = 900  # values per IN (...) list on SQLite, well below its limit
WRITE_CHUNK = 1000  # rows per bulk statement (one progress step each)
PROGRESS_EVERY = 250
TEXT_SUFFIXES = {"", ".csv", ".txt", ".tsv"}

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stage is "check" (reading rows) or "save"."""


@dataclass(frozen=True)
class Column:
    """A column of the station spreadsheet: its key, its label, the headers read as it."""

    key: str
    label: Any
    headers: tuple[str, ...]  # the first is the Chinese header the export writes
    required: bool = False
    note: Any = ""

    @property
    def header(self) -> str:
        """The header the export writes."""
        return self.headers[0]


COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        _l("Station code"),
        ("驿站编码", "编码", "驿站编号", "站点编码", "code", "station code"),
        True,
        _l('Letters, digits, "-", "_" or "."; a station with this code is updated, else created.'),
    ),
    Column(
        "name",
        _l("Station name"),
        ("驿站名称", "名称", "站点名称", "驿站名", "name", "station name"),
        True,
    ),
    Column(
        "unit",
        _l("Union unit"),
        ("所属工会", "所属单位", "工会", "主管工会", "unit", "union unit"),
        True,
        _l("The unit's exact name; or give its code in the next column."),
    ),
    Column(
        "unit_code",
        _l("Union unit code"),
        ("所属工会编码", "工会编码", "单位编码", "行政区划代码", "unit code", "union unit code"),
        False,
        _l("The unit's administrative division code; needed when two units share a name."),
    ),
    Column("address", _l("Address"), ("地址", "详细地址", "驿站地址", "address")),
    Column("longitude", _l("Longitude"), ("经度", "longitude", "lng", "lon")),
    Column(
        "latitude",
        _l("Latitude"),
        ("纬度", "latitude", "lat"),
        False,
        _l("Both or neither, inside China."),
    ),
    Column(
        "coord_system",
        _l("Coordinate system"),
        ("坐标系", "坐标类型", "坐标系统", "coordinate system", "coord system"),
        False,
        _l("WGS-84 (GPS) when blank; GCJ-02 for Gaode/AMap or Tencent, BD-09 for Baidu."),
    ),
    Column(
        "hours",
        _l("Opening hours"),
        ("开放时间", "开放时段", "营业时间", "服务时间", "opening hours", "hours"),
        True,
        _l('"08:00-20:00", "8:00-12:00, 14:00-18:00" or "24小时".'),
    ),
    Column(
        "amenities",
        _l("Amenities"),
        ("服务设施", "设施", "配套设施", "amenities", "facilities"),
        False,
        _l('Separated by "、" or commas, e.g. "饮水、充电、微波炉".'),
    ),
    Column(
        "host_type",
        _l("Host type"),
        ("依托类型", "驿站类型", "依托载体", "host type", "type"),
        False,
        _l(
            "One value of the host-type set, by its code or its name in either language (e.g. "
            '"加油站", "gas_station"); blank keeps a station\'s type (new: other).'
        ),
    ),
    Column(
        "labels",
        _l("Labels"),
        ("称号", "驿站称号", "星级", "荣誉称号", "labels", "label"),
        False,
        _l(
            'Each label with the year awarded, separated by "；": "省级工会驿站 2023；全国最美工会'
            '驿站 2024 @530000". Awarded by the station\'s own unit unless "@" names another by '
            "its code or name, which must be a unit above it. Blank removes every label."
        ),
    ),
    Column(
        "partners",
        _l("Co-building partners"),
        (
            "共建单位",
            "partners",
            "partner",
            "co-building partners",
            "co-building partner",
        ),
        False,
        _l(
            'Names of partners separated by "、" (e.g. "中国石化、中国电信"), each kept by the '
            "station's unit or a unit above it (see the partner pages)."
        ),
    ),
    Column("services", _l("Characteristic services"), ("特色服务", "服务项目", "services")),
    Column("phone", _l("Contact phone"), ("联系电话", "电话", "phone", "telephone", "tel")),
    Column(
        "status",
        _l("Status"),
        ("状态", "运行状态", "status"),
        False,
        _l(
            "Planned, under construction, active, suspended or closed; blank keeps a station's "
            "status (new: active)."
        ),
    ),
    Column(
        "opened_on",
        _l("Opened on"),
        ("建成启用日期", "启用日期", "建成日期", "开放日期", "opened on", "opened"),
        False,
        _l(
            "YYYY-MM-DD, not in the future; required for an active, suspended or closed "
            "station, blank for a planned one. Without this column a new open station opened "
            "today."
        ),
    ),
    Column(
        "closed_on",
        _l("Closed on"),
        ("关闭日期", "退出日期", "closed on", "closed"),
        False,
        _l("YYYY-MM-DD, for a closed station only: not before its opening day."),
    ),
    Column(
        "closure_reason",
        _l("Reason for closing"),
        ("关闭原因", "退出原因", "closure reason", "reason for closing"),
        False,
        _l("Required for a closed station."),
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

# Station attributes a row may set, beside the code (the amenities are rows of their own).
STATION_VALUES = (
    "name",
    "unit_id",
    "address",
    "latitude",
    "longitude",
    "coord_system",
    "open_24h",
    "opening_hours",
    "host_type_id",
    "services",
    "phone",
    "status",
    "opened_on",
    "closed_on",
    "closure_reason",
)
NEW_STATION = {
    "address": "",
    "latitude": None,
    "longitude": None,
    "coord_system": CoordSystem.WGS84,
    "services": "",
    "phone": "",
    "status": StationStatus.ACTIVE,
    "opened_on": None,
    "closed_on": None,
    "closure_reason": "",
}
LIFECYCLE_KEYS = ("status", "opened_on", "closed_on", "closure_reason")
# Text lengths the columns hold (String(n) in models.py).
MAX_LENGTHS = {"name": 120, "address": 255}
# Between the labels of one cell, and one label: name, year, then "@unit" or "(unit)".
LABEL_SEPARATORS = re.compile(r"[;；\n]+")
LABEL_ITEM = re.compile(
    r"^(?P<label>.+?)\s*(?P<year>\d{4})\s*年?\s*"
    r"(?:[@＠]\s*(?P<unit>.+?)|[(（]\s*(?P<unit2>[^()（）]+?)\s*[)）])?\s*$"
)
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")

STATUS_ALIASES = {
    StationStatus.PLANNED: ("规划", "计划", "拟建", "筹建"),
    StationStatus.UNDER_CONSTRUCTION: ("建设中", "在建", "施工中", "underconstruction", "building"),
    StationStatus.ACTIVE: ("正常", "运营", "运营中", "运行", "开放", "启用", "在用", "open"),
    StationStatus.SUSPENDED: ("暂停", "暂停运营", "暂停使用", "暂停开放", "停用", "paused"),
    StationStatus.CLOSED: ("关闭", "关停", "停止运营", "撤销", "撤除", "退出"),
}


@dataclass
class ImportReport:
    """What an import read, what it did (or would do), and every error it found."""

    filename: str
    dry_run: bool = False
    format: str = ""  # "csv" or "xlsx"
    encoding: str = ""  # of a CSV: "utf-8-sig", "utf-8", "gb18030" or "utf-16"
    sheet: str = ""  # of an XLSX: the sheet read
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    columns: list[str] = field(default_factory=list)  # the headers understood
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        """True when the file has no error at all (and so was, or may be, imported)."""
        return not self.errors

    @property
    def file_errors(self) -> list[RowError]:
        """Errors about the whole file rather than one row."""
        return [e for e in self.errors if e.row is None]

    @property
    def encoding_label(self) -> str:
        """How the file's characters were encoded, in words people know."""
        return encoding_label(self.encoding)


def max_import_bytes() -> int:
    """The largest file the import accepts (config STATION_IMPORT_MAX_BYTES)."""
    return int(current_app.config.get("STATION_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# ---------------------------------------------------------------------------------------
# Reading the file into rows of cells


def _read_table(data: bytes, filename: str) -> Table:
    """Cells by row from a CSV or XLSX file, read as what its bytes are; a text file must also
    be named as one (.csv, .txt, .tsv or no suffix). UploadRefused says why not."""
    limit = max_import_bytes()
    try:
        table = read_table(
            data,
            max_bytes=limit,
            max_unpacked=limit * MAX_UNPACKED_RATIO,
            choose_sheet=lambda rows: _find_header(rows) is not None,
        )
    except UploadRefused as refused:
        if refused.code is not Reason.TOO_LARGE:
            raise
        raise UploadRefused(
            _l(
                "The file is %(size)s; at most %(limit)s may be imported at once.",
                size=format_size(len(data)),
                limit=format_size(limit),
            ),
            refused.code,
        ) from None
    if table.kind == CSV and PurePath(filename or "").suffix.lower() not in TEXT_SUFFIXES:
        raise UploadRefused(not_accepted((CSV, XLSX)), Reason.NOT_ACCEPTED)
    return table


# ---------------------------------------------------------------------------------------
# Cells


def _text(value: Any) -> str:
    """A cell as text: stripped, numbers without a trailing ".0", our formula guard removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        text = text[1:].strip()
    return text


def _number(value: Any) -> float | None:
    """A coordinate cell as a number; None when blank; ValueError when not a number."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value).rstrip("°").strip()
        if not text:
            return None
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _date(value: Any) -> date | None:
    """A day cell: a spreadsheet date, "2023-05-01", "2023/5/1" or "2023年5月1日"; None when
    blank; ValueError when not a day."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    match = DATE_PATTERN.match(text)
    if match is None:
        raise ValueError(text)
    return date(*(int(part) for part in match.groups()))


def _header_key(text: Any) -> str:
    text = _text(text)
    text = re.sub(r"[(（]\s*(必填|选填|可选|required|optional)\s*[)）]", "", text, flags=re.I)
    return re.sub(r"[\s*＊_\-:：]", "", text).lower()


@cache
def _header_names() -> dict[str, str]:
    return {_header_key(h): c.key for c in COLUMNS for h in c.headers}


def _find_header(rows: list[tuple[int, Sequence[Any]]]) -> int | None:
    """Index (in `rows`) of the header: the first early row naming two known columns."""
    names = _header_names()
    seen = 0
    for index, (_row, cells) in enumerate(rows):
        if not any(_text(c) for c in cells):
            continue
        if sum(1 for c in cells if _header_key(c) in names) >= 2:
            return index
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    return None


@cache
def _status_names() -> dict[str, StationStatus]:
    names: dict[str, StationStatus] = {}
    for status in StationStatus:
        names[status.value] = status
        for alias in STATUS_ALIASES.get(status, ()):
            names[alias.lower()] = status
        for locale in ("zh", "en"):
            with force_locale(locale):
                names[str(status.label).lower().replace(" ", "")] = status
    return names


def _parse_status(text: str) -> StationStatus | None:
    return _status_names().get(text.lower().replace(" ", ""))


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _among(column, values: Sequence, item_type) -> Iterator[ColumnElement[bool]]:
    """Clauses "column is one of values", together covering all of them.

    PostgreSQL takes the whole list as one array parameter. A long IN list would be
    planned anew for every chunk, and once psycopg prepares the statement (the fifth
    run on a connection) every later run of it is slow; SQLite gets chunked IN lists.
    """
    if not values:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=ARRAY(item_type)))
        return
    for chunk in _chunks(values, IN_CHUNK):
        yield column.in_(chunk)


# ---------------------------------------------------------------------------------------
# Checking rows


Award = tuple[int, int, int]  # (label id, year, awarding unit id)


@dataclass
class _Existing:
    id: int
    values: dict[str, Any]
    amenities: frozenset[Amenity]
    editable: bool
    partners: frozenset[int] = frozenset()
    awards: frozenset[Award] = frozenset()


@dataclass
class _Change:
    row: int
    code: str
    values: dict[str, Any]  # every STATION_VALUES key
    amenities: frozenset[Amenity] | None  # None: leave an existing station's as they are
    existing: _Existing | None
    partners: frozenset[int] | None = None  # None: leave an existing station's as they are
    awards: frozenset[Award] | None = None


@dataclass(frozen=True)
class _UnitRow:
    id: int
    code: str | None
    name: str
    path: str
    timezone: str

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class _Checker:
    """Checks rows against the rules in services.py and the database as it stands."""

    def __init__(self, user, header: Sequence[Any], report: ImportReport):
        self.user = user
        self.report = report
        self.index: dict[str, int] = {}
        self.spelling: dict[str, str] = {}
        self.duplicate: RowError | None = None
        names = _header_names()
        for position, cell in enumerate(header):
            spelled = _text(cell)
            key = names.get(_header_key(cell))
            if key is None:
                if spelled:
                    report.ignored_columns.append(spelled)
                continue
            if key in self.index:
                message = _l(
                    'The columns "%(first)s" and "%(second)s" both give "%(column)s".',
                    first=self.spelling[key],
                    second=spelled,
                    column=COLUMN_BY_KEY[key].label,
                )
                self.duplicate = RowError(None, "", message)
                return
            self.index[key] = position
            self.spelling[key] = spelled
        report.columns = [self.spelling[c.key] for c in COLUMNS if c.key in self.index]
        self.first_row: dict[str, int] = {}
        self.units_by_code: dict[str, tuple[int, str]] = {}
        self.units_by_name: dict[str, list[int]] = {}
        self.existing: dict[str, _Existing] = {}
        # Every unit in reach and every unit above one (for partners and awarding units).
        self.units: dict[int, _UnitRow] = {}
        self.partners: list[tuple[int, str, int]] = []  # (id, name, keeping unit id)
        self.host_types: dict[str, int] = {}
        self.labels: dict[str, int] = {}
        self.other_host_type: int | None = None
        self.today: dict[str, date] = {}

    def header_errors(self) -> list[RowError]:
        """A file error for a column the header names twice, else for each required column
        it lacks."""
        if self.duplicate is not None:
            return [self.duplicate]
        errors = []
        for column in COLUMNS:
            if not column.required or column.key in self.index:
                continue
            if column.key == "unit" and "unit_code" in self.index:
                continue
            headers = column.headers
            if column.key == "unit":
                headers += COLUMN_BY_KEY["unit_code"].headers
            errors.append(
                RowError(
                    None,
                    "",
                    _l(
                        'The file has no "%(column)s" column (its header may be %(headers)s).',
                        column=column.label,
                        headers=" / ".join(headers),
                    ),
                )
            )
        if ("latitude" in self.index) != ("longitude" in self.index):
            errors.append(
                RowError(None, "", _l("The file has a latitude or longitude column, not both."))
            )
        return errors

    # -- what the database holds, read in a few queries

    def load(self, rows: list[tuple[int, Sequence[Any]]]) -> None:
        """Read the units in reach and the stations whose codes the file names."""
        stmt = select(Unit.id, Unit.code, Unit.name, Unit.path, Unit.timezone)
        if self.user is not None:
            stmt = stmt.where(visible(self.user, Action.EDIT, Unit))
        for unit_id, code, name, path, timezone in db.session.execute(stmt):
            if code:
                self.units_by_code[code] = (unit_id, name)
            self.units_by_name.setdefault(name, []).append(unit_id)
            self.units[unit_id] = _UnitRow(unit_id, code, name, path, timezone)
        above = sorted({i for u in self.units.values() for i in u.ancestor_ids} - set(self.units))
        for among in _among(Unit.id, above, Integer):
            stmt = select(Unit.id, Unit.code, Unit.name, Unit.path, Unit.timezone).where(among)
            for row in db.session.execute(stmt):
                self.units[row[0]] = _UnitRow(*row)
        if "partners" in self.index:
            names = sorted(
                {n for _n, cells in rows for n in split_names(self._text(cells, "partners"))}
            )
            for among in _among(Partner.name, names, String):
                stmt = select(Partner.id, Partner.name, Partner.unit_id).where(among)
                self.partners.extend(tuple(row) for row in db.session.execute(stmt))
        self.host_types = catalogue_spellings(HostType)
        self.labels = catalogue_spellings(Label)
        self.other_host_type = self.host_types.get(spelling(OTHER_HOST_TYPE))

        codes = sorted({_text(self._cell(cells, "code")) for _n, cells in rows} - {""})
        columns = [getattr(Station, name) for name in STATION_VALUES]
        found: dict[str, tuple[int, dict]] = {}
        for among in _among(Station.code, codes, String):
            stmt = select(Station.id, Station.code, *columns).where(among)
            for station_id, code, *values in db.session.execute(stmt):
                found[code] = (station_id, dict(zip(STATION_VALUES, values, strict=True)))
        ids = sorted(station_id for station_id, _values in found.values())
        amenities: dict[int, set[Amenity]] = {}
        for among in _among(StationAmenity.station_id, ids, Integer):
            stmt = select(StationAmenity.station_id, StationAmenity.amenity).where(among)
            for station_id, amenity in db.session.execute(stmt):
                amenities.setdefault(station_id, set()).add(amenity)
        editable: set[int] = set(ids)
        if self.user is not None:
            editable = set()
            for among in _among(Station.id, ids, Integer):
                stmt = select(Station.id).where(among, visible(self.user, Action.EDIT, Station))
                editable.update(db.session.scalars(stmt))
        partners: dict[int, set[int]] = {}
        awards: dict[int, set[Award]] = {}
        for among in _among(StationPartner.station_id, ids, Integer):
            stmt = select(StationPartner.station_id, StationPartner.partner_id).where(among)
            for station_id, partner_id in db.session.execute(stmt):
                partners.setdefault(station_id, set()).add(partner_id)
        for among in _among(LabelAward.station_id, ids, Integer):
            stmt = select(
                LabelAward.station_id,
                LabelAward.label_id,
                LabelAward.year,
                LabelAward.awarded_by_id,
            ).where(among)
            for station_id, *award in db.session.execute(stmt):
                awards.setdefault(station_id, set()).add(tuple(award))
        for code, (station_id, values) in found.items():
            self.existing[code] = _Existing(
                station_id,
                values,
                frozenset(amenities.get(station_id, ())),
                station_id in editable,
                frozenset(partners.get(station_id, ())),
                frozenset(awards.get(station_id, ())),
            )

    # -- one row

    def _cell(self, cells: Sequence[Any], key: str) -> Any:
        position = self.index.get(key)
        if position is None or position >= len(cells):
            return None
        return cells[position]

    def _text(self, cells: Sequence[Any], key: str) -> str:
        return _text(self._cell(cells, key))

    def _today(self, unit_id: int) -> date:
        zone = self.units[unit_id].timezone if unit_id in self.units else None
        if zone not in self.today:
            self.today[zone] = local_today(zone_of(zone))
        return self.today[zone]

    def check(self, number: int, cells: Sequence[Any]) -> _Change | None:
        """The change a row asks for, or None after recording its errors in the report."""
        errors: list[RowError] = []

        def fail(key: str, message) -> None:
            # A lifecycle rule may need a column the file lacks: name the one to add.
            column = self.spelling.get(key) or getattr(COLUMN_BY_KEY.get(key), "header", "")
            errors.append(RowError(number, column, message))

        def text(key: str) -> str:
            return _text(self._cell(cells, key))

        values: dict[str, Any] = {}
        code = ""
        try:
            code = check_code(text("code"))
        except StationError as error:
            fail("code", error.message)
        existing = self.existing.get(code) if code else None
        if code in self.first_row:
            fail(
                "code",
                _l(
                    "Station code %(code)s is already in row %(row)d of this file.",
                    code=code,
                    row=self.first_row[code],
                ),
            )
        elif code:
            self.first_row[code] = number
            if existing is not None and not existing.editable:
                fail(
                    "code",
                    _l("Station code %(code)s belongs to a station you may not edit.", code=code),
                )

        name = text("name")
        if not name:
            fail("name", _l("A station name is required."))
        values["name"] = name

        unit_id = self._unit(text("unit"), text("unit_code"), fail)
        values["unit_id"] = unit_id

        for key in ("address", "services"):
            if key in self.index:
                values[key] = text(key)
        for key, limit in MAX_LENGTHS.items():
            if len(values.get(key, "")) > limit:
                fail(key, _l("At most %(n)d characters.", n=limit))

        if "phone" in self.index:
            try:
                values["phone"] = check_phone(text("phone"))
            except StationError as error:
                fail("phone", error.message)

        if "latitude" in self.index and "longitude" in self.index:
            self._location(cells, values, fail)

        try:
            hours = check_hours(text("hours"))
        except StationError as error:
            fail("hours", error.message)
        else:
            # The model's own setter, applied to a plain record rather than an ORM object.
            record = SimpleNamespace()
            Station.set_hours(record, hours)
            values["open_24h"], values["opening_hours"] = record.open_24h, record.opening_hours

        amenities = None
        if "amenities" in self.index:
            try:
                amenities = frozenset(parse_amenities(text("amenities")))
            except StationError as error:
                fail("amenities", error.message)

        status_text = text("status")
        if status_text:
            status = _parse_status(status_text)
            if status is None:
                choices = "、".join(str(s.label) for s in StationStatus)
                fail(
                    "status",
                    _l(
                        '"%(value)s" is not a station status (%(choices)s).',
                        value=status_text,
                        choices=choices,
                    ),
                )
            values["status"] = status

        host_text = text("host_type")
        if host_text:
            values["host_type_id"] = self.host_types.get(spelling(host_text))
            if values["host_type_id"] is None:
                fail("host_type", unknown_host_type(host_text).message)

        for key in ("opened_on", "closed_on"):
            if key in self.index:
                try:
                    values[key] = _date(self._cell(cells, key))
                except ValueError:
                    fail(key, _l('"%(value)s" is not a day: write YYYY-MM-DD.', value=text(key)))
        if "closure_reason" in self.index:
            values["closure_reason"] = text("closure_reason")

        unit = self.units.get(unit_id) if unit_id is not None else None
        partners = awards = None
        if unit is not None and "partners" in self.index:
            partners = self._partners(text("partners"), unit, fail)
        if unit is not None and "labels" in self.index:
            awards = self._awards(text("labels"), unit, fail)

        if errors:
            self.report.errors.extend(errors)
            return None
        if existing is None:
            merged = {**NEW_STATION, "host_type_id": self.other_host_type, **values}
            if "opened_on" not in values and merged["status"].has_opened:
                merged["opened_on"] = self._today(unit_id)  # entered as open: opened today
            before = None
        else:
            merged = {**existing.values, **values}
            old = existing.values
            if (merged["latitude"], merged["longitude"]) == (old["latitude"], old["longitude"]):
                # The same point: keep the record of the system it was first given in.
                merged["coord_system"] = old["coord_system"]
            before = Lifecycle(*(old[key] for key in LIFECYCLE_KEYS))
        try:
            life = check_lifecycle(
                Lifecycle(*(merged[key] for key in LIFECYCLE_KEYS)), self._today(unit_id), before
            )
        except StationError as error:
            fail(error.field, error.message)
            self.report.errors.extend(errors)
            return None
        merged.update({key: getattr(life, key) for key in LIFECYCLE_KEYS})
        if existing is None:
            return _Change(
                number,
                code,
                merged,
                amenities or frozenset(),
                None,
                partners or frozenset(),
                awards or frozenset(),
            )
        return _Change(number, code, merged, amenities, existing, partners, awards)

    def _partners(self, text: str, unit: _UnitRow, fail) -> frozenset[int] | None:
        """The partner ids a row names, each kept by its unit or one above; None on error."""
        usable = partner_choice(self.partners, unit.path)
        ids = set()
        for name in split_names(text):
            if name not in usable:
                fail("partners", unknown_partner(name, unit.name).message)
                return None
            ids.add(usable[name])
        return frozenset(ids)

    def _awards(self, text: str, unit: _UnitRow, fail) -> frozenset[Award] | None:
        """The labels a row gives ("省级工会驿站 2023；示范驿站 2024 @530100"); None on error."""
        above = [self.units[i] for i in unit.ancestor_ids if i in self.units]
        awards: dict[int, Award] = {}
        for item in filter(None, (part.strip() for part in LABEL_SEPARATORS.split(text))):
            match = LABEL_ITEM.match(item)
            if match is None:
                fail(
                    "labels",
                    _l(
                        '"%(value)s" is not a label with its year (e.g. "省级工会驿站 2023").',
                        value=item,
                    ),
                )
                return None
            label_id = self.labels.get(spelling(match["label"]))
            if label_id is None:
                fail("labels", unknown_label(match["label"].strip()).message)
                return None
            try:
                year = check_award_year(int(match["year"]), self._today(unit.id))
            except StationError as error:
                fail("labels", error.message)
                return None
            named = (match["unit"] or match["unit2"] or "").strip()
            by = unit
            if named:
                by = next((u for u in above if named in (u.code, u.name)), None)
                if by is None:
                    fail(
                        "labels",
                        _l(
                            '"%(value)s" is neither the station\'s unit nor a unit above it: '
                            "only those award it a label.",
                            value=named,
                        ),
                    )
                    return None
            if label_id in awards:
                fail("labels", _l('The label "%(value)s" is given twice.', value=item))
                return None
            awards[label_id] = (label_id, year, by.id)
        return frozenset(awards.values())

    def _unit(self, name: str, code: str, fail) -> int | None:
        key = "unit_code" if code else "unit"
        if code:
            found = self.units_by_code.get(code)
            if found is None:
                fail(key, _l('No union unit with code "%(value)s" that you may edit.', value=code))
                return None
            if name and name != found[1]:
                fail(
                    "unit",
                    _l(
                        'Unit code %(code)s is "%(name)s", not "%(value)s".',
                        code=code,
                        name=found[1],
                        value=name,
                    ),
                )
                return None
            return found[0]
        if not name:
            fail(key, _l("A union unit is required."))
            return None
        ids = self.units_by_name.get(name, [])
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            fail(
                key,
                _l(
                    '%(n)d union units are named "%(value)s": give the unit code instead.',
                    n=len(ids),
                    value=name,
                ),
            )
            return None
        if name in self.units_by_code:  # a code written in the name column
            return self.units_by_code[name][0]
        fail(key, _l('No union unit "%(value)s" that you may edit.', value=name))
        return None

    def _location(self, cells: Sequence[Any], values: dict, fail) -> None:
        numbers: dict[str, float | None] = {}
        for key in ("latitude", "longitude"):
            raw = self._cell(cells, key)
            try:
                numbers[key] = _number(raw)
            except ValueError:
                fail(key, _l('"%(value)s" is not a number.', value=_text(raw)))
        system = CoordSystem.WGS84
        system_text = _text(self._cell(cells, "coord_system"))
        if system_text:
            parsed = CoordSystem.parse(system_text)
            if parsed is None:
                fail(
                    "coord_system",
                    _l(
                        '"%(value)s" is not a coordinate system: write WGS-84, GCJ-02 or BD-09.',
                        value=system_text,
                    ),
                )
                return
            system = parsed
        if len(numbers) < 2:
            return
        try:
            point = check_location(numbers["latitude"], numbers["longitude"], system)
        except StationError as error:
            fail(error.field if error.field in self.index else "latitude", error.message)
            return
        record = SimpleNamespace()
        Station.set_location(record, point, system)
        values["latitude"], values["longitude"] = record.latitude, record.longitude
        values["coord_system"] = record.coord_system


def _changed(change: _Change) -> bool:
    old = change.existing
    if old is None:
        return True
    if change.amenities is not None and change.amenities != old.amenities:
        return True
    if change.partners is not None and change.partners != old.partners:
        return True
    if change.awards is not None and change.awards != old.awards:
        return True
    return any(change.values[key] != old.values[key] for key in STATION_VALUES)


# ---------------------------------------------------------------------------------------
# The service


def import_stations(
    data: bytes,
    filename: str,
    user=None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check a station spreadsheet and, when every row is good and not a dry run, upsert it.

    `user` is the importer (rows must lie in their EDIT reach) or None for everything (CLI).
    Nothing reaches the session unless the report comes back without errors; then the
    changes are flushed, and the caller commits.
    """
    report = ImportReport(filename=filename, dry_run=dry_run)
    try:
        table = _read_table(data, filename)
    except UploadRefused as refused:
        report.errors.append(RowError(None, "", refused.message))
        return report
    report.format, report.encoding, report.sheet = table.kind, table.encoding, table.sheet

    header_at = _find_header(table.rows)
    if header_at is None:
        header_at = next((i for i, (_n, cells) in enumerate(table.rows) if any(cells)), None)
    if header_at is None:
        report.errors.append(RowError(None, "", _l("The file is empty.")))
        return report
    checker = _Checker(user, table.rows[header_at][1], report)
    missing = checker.header_errors()
    if missing:
        report.errors.extend(missing)
        return report

    rows = [(n, cells) for n, cells in table.rows[header_at + 1 :] if any(_text(c) for c in cells)]
    report.rows = len(rows)
    if not rows:
        report.errors.append(
            RowError(None, "", _l("The file has no station rows under the header."))
        )
        return report

    checker.load(rows)
    changes: list[_Change] = []
    for done, (number, cells) in enumerate(rows, 1):
        change = checker.check(number, cells)
        if change is not None:
            changes.append(change)
        if progress and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            progress("check", done, len(rows))

    creates = [c for c in changes if c.existing is None]
    updates = [c for c in changes if c.existing is not None and _changed(c)]
    report.created, report.updated = len(creates), len(updates)
    report.unchanged = len(changes) - len(creates) - len(updates)
    if report.errors or dry_run:
        return report
    _write(creates, updates, progress)
    stations_imported(filename, creates, updates)
    report.written = True
    return report


def _write(creates: list[_Change], updates: list[_Change], progress: Progress | None) -> None:
    """Insert and update in bulk statements; flushes whatever the session held first.

    Rows go in as plain executemany (psycopg pipelines them; one statement text, parsed
    once), not as multi-row VALUES with thousands of parameters, which psycopg would
    parse anew for every batch. Amenities go in as one INSERT ... SELECT per amenity.
    """
    db.session.flush()
    now = utcnow()
    stations = Station.__table__
    total, done = len(creates) + len(updates), 0
    for chunk in _chunks(creates, WRITE_CHUNK):
        db.session.execute(
            stations.insert(),
            [{"code": c.code, **c.values, "created_at": now, "updated_at": now} for c in chunk],
        )
        done += len(chunk)
        if progress:
            progress("save", done, total)
    for chunk in _chunks(updates, WRITE_CHUNK):
        db.session.execute(
            update(stations).where(stations.c.id == bindparam("station_id")),
            [{"station_id": c.existing.id, **c.values, "updated_at": now} for c in chunk],
        )
        done += len(chunk)
        if progress:
            progress("save", done, total)

    new_ids: dict[str, int] = {}
    named = [c.code for c in creates if c.amenities or c.partners or c.awards]
    for among in _among(Station.code, named, String):
        new_ids.update(db.session.execute(select(Station.code, Station.id).where(among)).all())
    wanted: dict[Amenity, list[int]] = {}
    for c in creates:
        for amenity in c.amenities:
            wanted.setdefault(amenity, []).append(new_ids[c.code])
    replaced = []
    for c in updates:
        if c.amenities is not None and c.amenities != c.existing.amenities:
            replaced.append(c.existing.id)
            for amenity in c.amenities:
                wanted.setdefault(amenity, []).append(c.existing.id)
    for among in _among(StationAmenity.station_id, replaced, Integer):
        db.session.execute(StationAmenity.__table__.delete().where(among))
    for amenity, ids in wanted.items():
        for among in _among(Station.id, ids, Integer):
            chosen = select(Station.id, literal(amenity.value, String)).where(among)
            db.session.execute(
                StationAmenity.__table__.insert().from_select(["station_id", "amenity"], chosen)
            )
    _write_links(creates, updates, new_ids, now)
    _expire_stations({c.existing.id for c in updates})


def _write_links(creates, updates, new_ids: dict[str, int], now) -> None:
    """Replace the partners and labels of the stations whose rows changed them (bulk)."""
    partner_rows, award_rows = [], []
    partners_replaced, awards_replaced = [], []
    for c in creates:
        station_id = new_ids.get(c.code)
        partner_rows += [{"station_id": station_id, "partner_id": p} for p in c.partners or ()]
        award_rows += [_award_row(station_id, award, now) for award in c.awards or ()]
    for c in updates:
        station_id = c.existing.id
        if c.partners is not None and c.partners != c.existing.partners:
            partners_replaced.append(station_id)
            partner_rows += [{"station_id": station_id, "partner_id": p} for p in c.partners]
        if c.awards is not None and c.awards != c.existing.awards:
            awards_replaced.append(station_id)
            award_rows += [_award_row(station_id, award, now) for award in c.awards]
    for among in _among(StationPartner.station_id, partners_replaced, Integer):
        db.session.execute(StationPartner.__table__.delete().where(among))
    for among in _among(LabelAward.station_id, awards_replaced, Integer):
        db.session.execute(LabelAward.__table__.delete().where(among))
    for chunk in _chunks(partner_rows, WRITE_CHUNK):
        db.session.execute(StationPartner.__table__.insert(), list(chunk))
    for chunk in _chunks(award_rows, WRITE_CHUNK):
        db.session.execute(LabelAward.__table__.insert(), list(chunk))


def _award_row(station_id: int, award: Award, now) -> dict:
    label_id, year, unit_id = award
    return {
        "station_id": station_id,
        "label_id": label_id,
        "year": year,
        "awarded_by_id": unit_id,
        "created_at": now,
    }


def _expire_stations(ids: set[int]) -> None:
    """Make stations already loaded in this session read their rows again."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Station) and obj.id in ids:
            db.session.expire(obj)
        elif isinstance(obj, StationAmenity | StationPartner | LabelAward):
            # Read without loading: the row may be gone (replaced in bulk); an expired one
            # whose station is unknown is let go as well.
            station_id = sa_inspect(obj).dict.get("station_id")
            if station_id is None or station_id in ids:
                db.session.expunge(obj)
