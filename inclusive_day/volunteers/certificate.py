"""A volunteer's certificate of service hours (志愿服务时长证明): one A4 landscape page, Chinese
with English beneath, issued by the team's unit, counting confirmed sessions only."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date as babel_date
from flask import render_template

from inclusive_day.pdfs import html_document, release_render_memory, write_pdf
from inclusive_day.periods import zone_of
from inclusive_day.volunteers.models import Volunteer, VolunteerSession, VolunteerTeam
from inclusive_day.volunteers.queries import Service, hours_of, service

TEMPLATE = "pdf/volunteer_certificate.html"
# The table names this many stations (by hours); the rest are summed in one line.
TABLE_ROWS = 8


def certificate_number(team: VolunteerTeam, volunteer: Volunteer, issued_on: date) -> str:
    """<unit code>-V-<year>-<volunteer id>: the issuing unit's code (or U and its id)."""
    code = team.unit.code or f"U{team.unit_id}"
    return f"{code}-V-{issued_on.year}-{volunteer.id:05d}"


def date_zh(day: date | None) -> str:
    """A date as Chinese documents write it: 2024年1月20日."""
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def date_en(day: date | None) -> str:
    """A date in English, day first as on a certificate: 20 January 2024."""
    return babel_date(day, "d MMMM y", locale="en") if day else "—"


def _rows(served: Service) -> list[dict]:
    """The table: hours by station, the longest first, the rest in one line."""
    rows = [
        {"name": b.name, "sessions": b.sessions, "hours": b.hours}
        for b in served.stations[:TABLE_ROWS]
    ]
    rest = served.stations[TABLE_ROWS:]
    if rest:
        rows.append(
            {
                "name": f"其他 {len(rest)} 个驿站 · {len(rest)} other stations",
                "sessions": sum(b.sessions for b in rest),
                "hours": hours_of(sum(b.minutes for b in rest)),
            }
        )
    return rows


def certificate_data(volunteer: Volunteer, team: VolunteerTeam, now: datetime) -> dict:
    """The certificate's plain values: who, which team, issued by whom, the hours."""
    zone = zone_of(team.unit.timezone)
    issued_on = now.astimezone(zone).date()
    served = service(VolunteerSession.volunteer_id == volunteer.id, zone=zone)
    return {
        "number": certificate_number(team, volunteer, issued_on),
        "unit_name": team.unit.name,
        "team_name": team.name,
        "name": volunteer.name,
        "hours": served.hours,
        "sessions": served.sessions,
        "stations": len(served.stations),
        "first_zh": date_zh(served.first_day),
        "first_en": date_en(served.first_day),
        "last_zh": date_zh(served.last_day),
        "last_en": date_en(served.last_day),
        "issued_zh": date_zh(issued_on),
        "issued_en": date_en(issued_on),
        "rows": _rows(served),
    }


def certificate_pdf(data: dict) -> bytes:
    """The certificate of `certificate_data` as PDF bytes."""
    document = html_document(render_template(TEMPLATE, c=data)).render()
    pdf = write_pdf(document)
    del document
    release_render_memory()
    return pdf
