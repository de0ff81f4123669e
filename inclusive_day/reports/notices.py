"""Notices issued down the tree: each kept as the PDF that was sent, for the unit it went to.

A unit issues its monthly traffic notice to its sub-units (from the traffic page, or from
`flask report traffic --all-cities` on the first of the month): each sub-unit receives its own
notice (its sub-units ranked, and its place among its peers) and finds it, with everything
else issued to the units in its reach, on the notices page. Issuing again for the same unit,
month and language replaces the PDF kept before.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import Select, select
from sqlalchemy.orm import defer, joinedload

from inclusive_day.access.rule import Action, visible
from inclusive_day.auth.models import User
from inclusive_day.construction.queries import children_of
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import Month
from inclusive_day.reports.documents import render_traffic
from inclusive_day.reports.models import Notice, NoticeKind
from inclusive_day.reports.traffic import build_traffic_notice
from inclusive_day.units.models import Level, Unit, units_under


def store_notice(
    unit: Unit,
    kind: NoticeKind,
    month: Month,
    lang: str,
    pdf: bytes,
    issued_by: User | None = None,
    now: datetime | None = None,
) -> Notice:
    """Keep `pdf` as `unit`'s notice of `kind` for `month` in `lang`, replacing one issued
    before; flushes."""
    notice = db.session.scalar(
        select(Notice).where(
            Notice.unit_id == unit.id,
            Notice.kind == kind,
            Notice.month == month.first_day,
            Notice.lang == lang,
        )
    )
    if notice is None:
        notice = Notice(unit_id=unit.id, kind=kind, month=month.first_day, lang=lang)
        db.session.add(notice)
    notice.pdf = pdf
    notice.issued_at = now or utcnow()
    notice.issued_by_id = issued_by.id if issued_by is not None else None
    db.session.flush()
    return notice


def issue_traffic_notice(
    unit: Unit, month: Month, lang: str, issued_by: User | None = None, now: datetime | None = None
) -> Notice:
    """Render `unit`'s traffic notice for `month` and keep it as issued to `unit`."""
    pdf = render_traffic(unit, month, lang, now)
    return store_notice(unit, NoticeKind.TRAFFIC, month, lang, pdf, issued_by, now)


def issue_to_sub_units(
    unit: Unit,
    month: Month,
    lang: str,
    issued_by: User | None = None,
    now: datetime | None = None,
    level: Level | None = None,
) -> list[Notice]:
    """Render and keep the traffic notice of each immediate sub-unit of `unit` (those of
    `level` only, when given) for `month`. `unit`'s own ranking is counted once and gives
    each sub-unit its place among the others."""
    children = [c for c in children_of(unit) if level is None or c.level is level]
    if not children:
        return []
    now = now or utcnow()
    with force_locale(lang):
        ranking = build_traffic_notice(unit, month, now)
    notices = []
    for child in children:
        pdf = render_traffic(child, month, lang, now, ranking)
        notices.append(store_notice(child, NoticeKind.TRAFFIC, month, lang, pdf, issued_by, now))
    return notices


def notices_in_reach(user, unit: Unit | None = None) -> Select:
    """SELECT the notices issued to the units `user` reaches (in `unit`'s subtree, when
    given), newest first, with their unit and issuer, without the PDFs themselves."""
    stmt = (
        select(Notice)
        .where(visible(user, Action.VIEW, Notice))
        .options(defer(Notice.pdf), joinedload(Notice.unit), joinedload(Notice.issued_by))
        .order_by(Notice.issued_at.desc(), Notice.id.desc())
    )
    if unit is not None:
        stmt = stmt.where(Notice.unit_id.in_(units_under(unit.path)))
    return stmt
