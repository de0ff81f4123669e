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
  of the system it was first given in, so an export re-imports unchanged.
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

from inclusive_day.access.rule import Action, visible
from inclusive_day.audit.summaries import stations_imported
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.spreadsheets import FORMULA_STARTS
from inclusive_day.stations.geo import CoordSystem
from inclusive_day.stations.models import Amenity, Station, StationAmenity, StationStatus
from inclusive_day.stations.services import (
    StationError,
    check_code,
    check_hours,
    check_location,
    check_phone,
    parse_amenities,
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
    Column("partner", _l("Co-building partner"), ("共建单位", "partner", "co-building partner")),
    Column("services", _l("Characteristic services"), ("特色服务", "服务项目", "services")),
    Column("phone", _l("Contact phone"), ("联系电话", "电话", "phone", "telephone", "tel")),
    Column(
        "status",
        _l("Status"),
        ("状态", "运行状态", "status"),
        False,
        _l("Active, suspended or closed; blank keeps a station's status (new: active)."),
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
    "partner",
    "services",
    "phone",
    "status",
)
NEW_STATION = {
    "address": "",
    "latitude": None,
    "longitude": None,
    "coord_system": CoordSystem.WGS84,
    "partner": "",
    "services": "",
    "phone": "",
    "status": StationStatus.ACTIVE,
}
# Text lengths the columns hold (String(n) in models.py).
MAX_LENGTHS = {"name": 120, "address": 255, "partner": 120}

STATUS_ALIASES = {
    StationStatus.ACTIVE: ("正常", "运营", "运营中", "运行", "开放", "启用", "在用", "open"),
    StationStatus.SUSPENDED: ("暂停", "暂停运营", "暂停使用", "暂停开放", "停用", "paused"),
    StationStatus.CLOSED: ("关闭", "关停", "停止运营", "撤销", "撤除"),
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


@dataclass
class _Existing:
    id: int
    values: dict[str, Any]
    amenities: frozenset[Amenity]
    editable: bool


@dataclass
class _Change:
    row: int
    code: str
    values: dict[str, Any]  # every STATION_VALUES key
    amenities: frozenset[Amenity] | None  # None: leave an existing station's as they are
    existing: _Existing | None


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
        stmt = select(Unit.id, Unit.code, Unit.name)
        if self.user is not None:
            stmt = stmt.where(visible(self.user, Action.EDIT, Unit))
        for unit_id, code, name in db.session.execute(stmt):
            if code:
                self.units_by_code[code] = (unit_id, name)
            self.units_by_name.setdefault(name, []).append(unit_id)

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
        for code, (station_id, values) in found.items():
            self.existing[code] = _Existing(
                station_id,
                values,
                frozenset(amenities.get(station_id, ())),
                station_id in editable,
            )

    # -- one row

    def _cell(self, cells: Sequence[Any], key: str) -> Any:
        position = self.index.get(key)
        if position is None or position >= len(cells):
            return None
        return cells[position]

    def check(self, number: int, cells: Sequence[Any]) -> _Change | None:
        """The change a row asks for, or None after recording its errors in the report."""
        errors: list[RowError] = []

        def fail(key: str, message) -> None:
            errors.append(RowError(number, self.spelling.get(key, ""), message))

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

        for key in ("address", "partner", "services"):
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

        if errors:
            self.report.errors.extend(errors)
            return None
        if existing is None:
            merged = {**NEW_STATION, **values}
            return _Change(number, code, merged, amenities or frozenset(), None)
        merged = {**existing.values, **values}
        old = existing.values
        if (merged["latitude"], merged["longitude"]) == (old["latitude"], old["longitude"]):
            # The same point: keep the record of the system it was first given in.
            merged["coord_system"] = old["coord_system"]
        return _Change(number, code, merged, amenities, existing)

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
    for among in _among(Station.code, [c.code for c in creates if c.amenities], String):
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
    _expire_stations({c.existing.id for c in updates})


def _expire_stations(ids: set[int]) -> None:
    """Make stations already loaded in this session read their rows again."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Station) and obj.id in ids:
            db.session.expire(obj)
        elif isinstance(obj, StationAmenity) and obj.station_id in ids:
            db.session.expunge(obj)
