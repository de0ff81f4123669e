"""Paper sign-in sheets: a CSV of the people who signed on paper, imported as check-ins.

Every row is checked before anything is written; one bad row and nothing at all is
written, and every bad row is reported with its number and the reason. A good file makes
one check-in (source PAPER) per person through `record_checkin`, with a nonce derived from
the activity and the person, so uploading the same sheet again adds nothing.

What a sheet holds: a header row (a title row above it is allowed) with a phone column and
a group column, in Chinese or English (`COLUMNS`), and optionally a time column; other
columns (a name, a signature, a row number) are ignored and never stored. The file is
CSV in UTF-8 (with or without a BOM), GBK or UTF-16, read by the one upload reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from inclusive_day.activities.models import Activity, ActivityStatus
from inclusive_day.attendance.identity import Person
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource
from inclusive_day.attendance.services import (
    AttendanceError,
    derived_nonce,
    parse_person,
    record_checkin,
)
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.uploads import (
    CSV,
    Reason,
    RowError,
    UploadRefused,
    encoding_label,
    format_size,
    read_table,
)

# The largest sheet accepted (a module constant, like the station import's
# STATION_IMPORT_MAX_BYTES but fixed: a sign-in sheet of 5,000 rows is about 150 KB).
MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class Column:
    """A column of the sign-in sheet: its key, its label, the headers read as it."""

    key: str
    label: Any
    headers: tuple[str, ...]  # the first is the header of the blank sheet we hand out
    required: bool = False
    note: Any = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "phone",
        _l("Mobile number"),
        ("手机号", "手机号码", "手机", "电话", "联系电话", "电话号码", "phone", "mobile"),
        True,
        _l("11 digits; spaces, dashes and +86 are allowed. Only a keyed hash of it is kept."),
    ),
    Column(
        "group",
        _l("Group"),
        ("服务对象", "对象", "人员类别", "类别", "身份", "群体", "group", "beneficiary group"),
        True,
        _l("The group's name in Chinese or English, or its code, e.g. 外卖骑手 or rider."),
    ),
    Column(
        "time",
        _l("Time"),
        ("签到时间", "时间", "time", "check-in time", "checked in at"),
        False,
        _l(
            'Beijing time during the activity, "2024-01-18 09:30" or "09:30"; '
            "blank: the activity's start."
        ),
    ),
)

# More names people write for the groups, beside their labels in both languages.
GROUP_ALIASES: dict[BeneficiaryGroup, tuple[str, ...]] = {
    BeneficiaryGroup.COURIER: ("快递", "快递小哥", "快递员工", "快递人员"),
    BeneficiaryGroup.RIDER: ("外卖", "外卖员", "外卖小哥", "骑手", "送餐员", "rider"),
    BeneficiaryGroup.SANITATION: ("环卫", "环卫工", "环卫工人", "保洁员"),
    BeneficiaryGroup.DRIVER: ("司机", "出租车司机", "网约车司机", "的哥", "的姐", "taxi driver"),
    BeneficiaryGroup.POLICE: ("交警", "辅警", "交警辅警", "民警", "traffic police"),
    BeneficiaryGroup.CONSTRUCTION: ("建筑工", "建筑工人", "工地工人"),
    BeneficiaryGroup.ELDERLY: ("老人", "老年人", "长者", "elderly people"),
    BeneficiaryGroup.OTHER: ("其他", "其它"),
}

_SPACES = re.compile(r"[\s_\-:：*＊/／、]")
_OPTIONAL = re.compile(r"[(（]\s*(必填|选填|可选|required|optional)\s*[)）]", re.I)
_TIME = re.compile(
    r"^(?:(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日\s*|\s*[T\s]\s*))?"
    r"(\d{1,2})\s*[:：时点]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?$"
)


def _key(text: Any) -> str:
    """A header or group name reduced to compare: no spaces or punctuation, lower case."""
    return _SPACES.sub("", _OPTIONAL.sub("", str(text or ""))).lower()


@cache
def _header_names() -> dict[str, str]:
    return {_key(h): c.key for c in COLUMNS for h in c.headers}


@cache
def _group_names() -> dict[str, BeneficiaryGroup]:
    names: dict[str, BeneficiaryGroup] = {}
    for group in BeneficiaryGroup:
        names[_key(group.value)] = group
        for alias in GROUP_ALIASES.get(group, ()):
            names[_key(alias)] = group
        for locale in ("zh", "en"):
            with force_locale(locale):
                names[_key(group.label)] = group
    return names


def parse_group_name(text: str) -> BeneficiaryGroup | None:
    """A beneficiary group from its code, its label in Chinese or English, or a common name."""
    return _group_names().get(_key(text))


@dataclass
class PaperReport:
    """What a sheet held, what importing it did, and every error found in it."""

    filename: str
    encoding: str = ""
    rows: int = 0
    created: int = 0  # new check-ins
    existing: int = 0  # people already checked in at the activity (by QR, API or paper)
    repeated: int = 0  # rows naming a person an earlier row of the sheet names
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        """True when the sheet has no error at all (and so was imported)."""
        return not self.errors

    @property
    def encoding_label(self) -> str:
        """How the sheet's characters were encoded, in words people know."""
        return encoding_label(self.encoding)


@dataclass
class _Entry:
    row: int
    person: Person
    group: BeneficiaryGroup
    at: datetime


def _refuse(report: PaperReport, message) -> PaperReport:
    report.errors.append(RowError(None, "", message))
    return report


def _check_activity(activity: Activity, now: datetime):
    """A reason the activity takes no paper sheet, or None."""
    if activity.status is ActivityStatus.CANCELLED:
        return _l("This activity was cancelled.")
    opens, _closes = activity.checkin_window()
    if now < opens:
        return _l("The activity has not started yet; import its sheets once it is under way.")
    return None


def _parse_time(text: str, activity: Activity, now: datetime):
    """A sheet's time cell as UTC; blank is the activity's start. Raises ValueError(reason)."""
    if not text:
        return min(activity.starts_at, now)
    match = _TIME.match(text.strip())
    if match is None:
        raise ValueError(_l('Write the time as "2024-01-18 09:30" or "09:30".'))
    year, month, day, hour, minute, second = match.groups()
    local_start = activity.starts_at.astimezone(DEFAULT_ZONE)
    try:
        if year is None:
            local = local_start.replace(
                hour=int(hour), minute=int(minute), second=int(second or 0), microsecond=0
            )
        else:
            local = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=DEFAULT_ZONE,
            )
    except ValueError:
        raise ValueError(_l("There is no such date or time.")) from None
    at = local.astimezone(activity.starts_at.tzinfo)
    opens, closes = activity.checkin_window()
    if not opens <= at <= min(closes, now):
        raise ValueError(
            _l(
                "The time is outside the activity (%(start)s to %(end)s).",
                start=opens.astimezone(DEFAULT_ZONE).strftime("%Y-%m-%d %H:%M"),
                end=min(closes, now).astimezone(DEFAULT_ZONE).strftime("%Y-%m-%d %H:%M"),
            )
        )
    return at


def _find_header(rows: list[tuple[int, list[str]]]) -> int | None:
    """Index (in `rows`) of the first early row naming both the phone and the group column."""
    names = _header_names()
    for index, (_row, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = {names.get(_key(c)) for c in cells}
        if {"phone", "group"} <= keys:
            return index
    return None


def _columns(header: list[str], report: PaperReport) -> dict[str, int]:
    """Where each known column is; unknown headers go to the report as ignored."""
    names = _header_names()
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        spelled = str(cell or "").strip()
        key = names.get(_key(cell))
        if key is None or key in index:
            if spelled:
                report.ignored_columns.append(spelled)
            continue
        index[key] = position
        report.columns.append(spelled)
    return index


def _check_rows(
    activity: Activity, rows, index: dict[str, int], report: PaperReport, now: datetime
) -> list[_Entry]:
    """Every data row checked; errors go to the report, good rows come back."""
    spelled = dict(zip(index, report.columns, strict=True))
    entries: list[_Entry] = []
    for number, cells in rows:
        values = {k: (cells[i].strip() if i < len(cells) else "") for k, i in index.items()}
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        person = group = at = None
        try:
            person = parse_person(values["phone"])
        except AttendanceError as error:
            report.errors.append(RowError(number, spelled["phone"], error.message))
        group = parse_group_name(values["group"])
        if group is None:
            message = (
                _l("Say which group the person belongs to.")
                if not values["group"]
                else _l(
                    '"%(value)s" is not a group; use one of: %(groups)s.',
                    value=values["group"][:40],
                    groups="、".join(g.label for g in BeneficiaryGroup),
                )
            )
            report.errors.append(RowError(number, spelled["group"], message))
        try:
            at = _parse_time(values.get("time", ""), activity, now)
        except ValueError as error:
            report.errors.append(RowError(number, spelled["time"], error.args[0]))
        if person and group and at:
            entries.append(_Entry(number, person, group, at))
    return entries


def import_paper_sheet(
    activity: Activity, data: bytes, filename: str, now: datetime | None = None
) -> PaperReport:
    """Check a sign-in sheet and, if every row is good, record its check-ins; the caller
    commits (or rolls back when the report has errors)."""
    now = now or utcnow()
    report = PaperReport(filename=filename or "")
    refused = _check_activity(activity, now)
    if refused is not None:
        return _refuse(report, refused)
    try:
        table = read_table(data, (CSV,), max_bytes=MAX_BYTES)
    except UploadRefused as refused:
        if refused.code is not Reason.TOO_LARGE:
            return _refuse(report, refused.message)
        return _refuse(
            report,
            _l(
                "The file is %(size)s; a sign-in sheet may be at most %(limit)s.",
                size=format_size(len(data)),
                limit=format_size(MAX_BYTES),
            ),
        )
    report.encoding = table.encoding
    rows = [(n, [str(c) for c in cells]) for n, cells in table.rows]
    header = _find_header(rows)
    if header is None:
        return _refuse(
            report,
            _l(
                'No header row names the phone and group columns (for example "%(phone)s" '
                'and "%(group)s").',
                phone=COLUMNS[0].headers[0],
                group=COLUMNS[1].headers[0],
            ),
        )
    index = _columns(rows[header][1], report)
    body = rows[header + 1 :]
    if sum(1 for _n, cells in body if any(c.strip() for c in cells)) > MAX_ROWS:
        return _refuse(
            report, _l("A sheet may hold at most %(n)s rows; split the file.", n=MAX_ROWS)
        )
    entries = _check_rows(activity, body, index, report, now)
    if report.errors:
        return report
    if not entries:
        return _refuse(report, _l("The sheet has no rows under its header."))
    _write(activity, entries, report)
    return report


def _write(activity: Activity, entries: list[_Entry], report: PaperReport) -> None:
    """One check-in per person not yet checked in; repeats count as such, nothing more."""
    known = set(
        db.session.scalars(select(CheckIn.identity).where(CheckIn.activity_id == activity.id))
    )
    seen: set[str] = set()
    for entry in entries:
        identity = entry.person.identity
        if identity in seen:
            report.repeated += 1
            continue
        seen.add(identity)
        if identity in known:
            report.existing += 1
            continue
        _checkin, created = record_checkin(
            activity,
            entry.person,
            entry.group,
            derived_nonce("paper", activity.id, identity),
            CheckInSource.PAPER,
            entry.at,
        )
        if created:
            report.created += 1
        else:
            report.existing += 1
    db.session.flush()
    report.written = True


def blank_sheet() -> bytes:
    """An empty sign-in sheet to print or fill in: the header row, UTF-8 with a BOM for Excel."""
    return ("\ufeff" + ",".join(c.headers[0] for c in COLUMNS) + "\r\n").encode("utf-8")
