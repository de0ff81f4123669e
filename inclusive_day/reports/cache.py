"""The on-disk cache of report PDFs, keyed by a fingerprint of what each one shows.

A rendered PDF is stored under a fingerprint of what it shows: the kind of report, its
parameters, its language, the day it is printed on and a cheap version of the data behind
it (row counts, highest ids and latest changes of the tables a report reads). An unchanged
report is served from the cache at once; any change to those tables renders it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from inclusive_day.activities.models import Activity, activity_donations
from inclusive_day.attendance.models import CheckIn, Headcount, StationVisit
from inclusive_day.campaigns.models import Campaign, CampaignTarget, Theme
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.funds.models import FundLine
from inclusive_day.periods import DEFAULT_ZONE
from inclusive_day.sponsors.models import Distribution, Donation, Sponsor
from inclusive_day.stations.models import HostType, Label, LabelAward, Station
from inclusive_day.units.models import Unit

# The templates a report PDF is drawn from: a change to any of them renders cached PDFs again.
TEMPLATE_FILES = (
    "pdf/recap.html",
    "pdf/league.html",
    "pdf/construction.html",
    "pdf/_report.css",
    "pdf/_report_macros.html",
)
# The code that fills the templates (this package: queries, charts, presentation) and the
# compiled catalogues: a change to any of them renders cached PDFs again, too.
RENDER_CODE = Path(__file__).parent
CATALOGUES = Path(__file__).parent.parent / "translations"
CACHE_MAX_FILES = 500


def cache_dir() -> Path:
    """Where rendered PDFs are kept (REPORT_CACHE_DIR, else report_cache in the instance)."""
    configured = current_app.config.get("REPORT_CACHE_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "report_cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached(fingerprint: str) -> Path | None:
    """The cached PDF with this fingerprint, if there is one."""
    path = cache_dir() / f"{fingerprint}.pdf"
    return path if path.exists() else None


def store(fingerprint: str, data: bytes) -> Path:
    """Keep a rendered PDF under its fingerprint (written whole, then renamed into place)."""
    folder = cache_dir()
    path = folder / f"{fingerprint}.pdf"
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)  # the web app reads what a worker wrote
    os.replace(temporary, path)
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    """Forget the oldest PDFs beyond CACHE_MAX_FILES."""
    files = sorted(folder.glob("*.pdf"), key=lambda p: p.stat().st_mtime)
    for old in files[: max(0, len(files) - CACHE_MAX_FILES)]:
        old.unlink(missing_ok=True)


def _count(column):
    return select(func.count(column)).scalar_subquery()


def _max(column):
    return select(func.max(column)).scalar_subquery()


def _sum(expression):
    return select(func.coalesce(func.sum(expression), 0)).scalar_subquery()


def data_version(now: datetime) -> list:
    """Cheap markers of every table a report reads (one query): an insert, an edit, an
    annulled check-in, a received gift, a renamed unit or catalogue value, a station's opening
    or closing day, a label awarded, a target, a fund line or a door visit changes at least one
    of them, and so does the start of an activity (which moves it from planned to held)."""
    markers = [
        _count(Activity.id),
        _max(Activity.id),
        _max(Activity.updated_at),
        select(func.count(Activity.id)).where(Activity.starts_at <= now).scalar_subquery(),
        _count(Headcount.id),
        _max(Headcount.updated_at),
        _max(CheckIn.id),
        _count(CheckIn.annulled_at),
        _count(Station.id),
        _max(Station.updated_at),
        _count(LabelAward.id),
        _max(LabelAward.id),
        _sum(LabelAward.year * 7 + LabelAward.label_id),
        _count(HostType.id),
        _sum(func.length(HostType.name_zh) + func.length(HostType.name_en) + HostType.position),
        _count(Label.id),
        _sum(func.length(Label.name_zh) + func.length(Label.name_en) + Label.position),
        _count(Unit.id),
        _sum(func.length(Unit.name) + func.length(Unit.path)),
        _count(Theme.id),
        _sum(func.length(Theme.name_zh) + func.length(Theme.name_en)),
        _count(Campaign.id),
        _sum(func.length(Campaign.name)),
        _count(CampaignTarget.id),
        _max(CampaignTarget.updated_at),
        _count(Sponsor.id),
        _sum(func.length(Sponsor.public_name) + func.length(Sponsor.name)),
        _sum(func.length(Sponsor.status) + func.length(Sponsor.kind)),
        select(func.count(Sponsor.id)).where(Sponsor.is_anonymous).scalar_subquery(),
        select(func.count(Sponsor.id)).where(Sponsor.on_honour_roll).scalar_subquery(),
        _count(Donation.id),
        _count(Donation.received_on),
        _sum(Donation.value),
        _sum(func.length(Donation.status) + func.length(Donation.description)),
        _count(Distribution.id),
        _sum(Distribution.value),
        select(func.count()).select_from(activity_donations).scalar_subquery(),
        # The station network: lifecycle days, targets, goals, funds.
        _max(Station.opened_on),
        _count(Station.closed_on),
        _count(ConstructionTarget.id),
        _max(ConstructionTarget.updated_at),
        _count(CoverageGoal.id),
        _max(CoverageGoal.updated_at),
        _count(FundLine.id),
        _max(FundLine.id),
        _sum(FundLine.amount),
        _count(FundLine.paid_on),
        # Door traffic: visits are only ever added.
        _count(StationVisit.id),
        _max(StationVisit.id),
    ]
    row = db.session.execute(select(*markers)).one()
    return [str(value) for value in row]


def _drawn_from() -> list[str]:
    """When each file a PDF is drawn from last changed (templates, render code, catalogues)."""
    folder = Path(current_app.template_folder)
    templates = [folder / name for name in TEMPLATE_FILES]
    code = sorted(RENDER_CODE.glob("*.py")) + sorted(CATALOGUES.glob("*/LC_MESSAGES/*.mo"))
    return [str(path.stat().st_mtime_ns) if path.exists() else "-" for path in templates + code]


def fingerprint(kind: str, params: dict, lang: str, now: datetime | None = None) -> str:
    """The cache key of a report: what it is, its language, today's date and the data."""
    now = now or utcnow()
    payload = {
        "kind": kind,
        "params": {k: str(v) for k, v in sorted(params.items())},
        "lang": lang,
        "day": now.astimezone(DEFAULT_ZONE).date().isoformat(),
        "data": data_version(now),
        "drawn_from": _drawn_from(),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"
