"""`flask report ...`: render reports from the command line, and run the report worker."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from rq import SimpleWorker
from sqlalchemy import select

from inclusive_day.campaigns.models import Campaign
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.periods import Month
from inclusive_day.replica import REPLICA_BIND, replica_lag
from inclusive_day.reports.construction import ConstructionScope, check_days, default_since
from inclusive_day.reports.documents import (
    render_construction,
    render_league,
    render_recap,
    traffic_file_name,
)
from inclusive_day.reports.jobs import report_queue
from inclusive_day.reports.notices import issue_to_sub_units, issue_traffic_notice
from inclusive_day.reports.recap import RecapScope, ReportError, check_period, default_period
from inclusive_day.units.models import Level, Unit

report_cli = AppGroup(
    "report",
    help="Render reports: the recap PDF, the monthly notice, the construction progress notice,"
    " the monthly traffic notice.",
)


def day_parameter(_ctx, _param, value: str | None) -> date | None:
    """A click callback: the option's YYYY-MM-DD as a date (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@report_cli.command("recap")
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@click.option("--unit", "unit_id", type=int, help="Unit id (default: the campaign's owner).")
@click.option("--from", "start", callback=day_parameter, help="First day, YYYY-MM-DD (China date).")
@click.option("--to", "end", callback=day_parameter, help="Last day, YYYY-MM-DD (included).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file."
)
@with_appcontext
def recap_command(campaign_id, unit_id, start, end, lang, output):
    """Write the recap of a campaign over a unit's subtree and a period as an A4 PDF."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"There is no campaign {campaign_id}.")
    unit = campaign.unit if unit_id is None else db.session.get(Unit, unit_id)
    if unit is None:
        raise click.ClickException(f"There is no unit {unit_id}.")
    if not unit.is_within(campaign.unit):
        raise click.ClickException(
            f"Unit {unit.id} ({unit.name}) is not in the subtree of the campaign's unit "
            f"{campaign.unit.name}."
        )
    first, last = default_period(campaign)
    start, end = start or first, end or last
    try:
        check_period(start, end)
    except ReportError as error:
        raise click.ClickException(str(error.message)) from None
    data = render_recap(RecapScope(campaign.id, unit.id, start, end), lang)
    output.write_bytes(data)
    click.echo(
        f"Wrote {output} ({len(data):,} bytes): {campaign.name}, {unit.name}, {start} to {end}."
    )


@report_cli.command("league")
@click.option("--unit", "unit_id", type=int, required=True, help="Unit whose sub-units rank.")
@click.option("--month", required=True, help="YYYY-MM.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file."
)
@with_appcontext
def league_command(unit_id, month, lang, output):
    """Write the monthly notice of a unit's league table as an A4 PDF."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise click.ClickException(f"There is no unit {unit_id}.")
    try:
        chosen = Month.parse(month)
    except ValueError:
        raise click.ClickException(f"{month!r} is not a month (YYYY-MM).") from None
    data = render_league(unit, chosen, lang)
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({len(data):,} bytes): {unit.name}, {chosen}.")


@report_cli.command("construction")
@click.option("--unit", "unit_id", type=int, required=True, help="Unit whose sub-units rank.")
@click.option("--on", "on", callback=day_parameter, required=True, help="The day, YYYY-MM-DD.")
@click.option(
    "--since", callback=day_parameter, help="Gain since, YYYY-MM-DD (default: a month before)."
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PDF file.",
)
@with_appcontext
def construction_command(unit_id, on, since, lang, output):
    """Write the construction progress notice of a unit's sub-units on a day as an A4 PDF."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise click.ClickException(f"There is no unit {unit_id}.")
    since = since or default_since(on)
    try:
        check_days(on, since)
    except ReportError as error:
        raise click.ClickException(f"{error.message} (--on {on}, --since {since})") from None
    data = render_construction(ConstructionScope(unit.id, on, since), lang)
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({len(data):,} bytes): {unit.name}, {on} (gain since {since}).")


def _unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise click.ClickException(f"There is no unit {unit_id}.")
    return unit


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise click.ClickException(f"{text!r} is not a month (YYYY-MM, e.g. 2024-01).") from None


@report_cli.command("traffic")
@click.option("--unit", "unit_id", type=int, help="Unit whose sub-units rank.")
@click.option("--month", help="YYYY-MM (with --all-cities: the previous month by default).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF file.")
@click.option(
    "--all-cities",
    is_flag=True,
    help="One notice per city below --unit (default: below every root unit).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the cities' PDFs (with --all-cities).",
)
@with_appcontext
def traffic_command(unit_id, month, lang, output, all_cities, output_dir):
    """Issue the monthly traffic notice: of one unit (--unit, --month), or of every city
    (--all-cities, for a cron job on the first of the month). Each notice is kept as issued to
    its unit, for its organisers' notices page; --output / --output-dir write the PDFs too."""
    if all_cities:
        _all_cities(unit_id, month, lang, output, output_dir)
        return
    if unit_id is None or month is None:
        raise click.ClickException("Give --unit and --month (or --all-cities).")
    if output_dir is not None:
        raise click.ClickException("--output-dir goes with --all-cities; give --output.")
    unit, chosen = _unit(unit_id), _month(month)
    notice = issue_traffic_notice(unit, chosen, lang)
    db.session.commit()
    if output is not None:
        output.write_bytes(notice.pdf)
    where = f"wrote {output}" if output is not None else "kept it"
    click.echo(
        f"Issued the traffic notice of {unit.name} for {chosen} ({len(notice.pdf):,} bytes);"
        f" {where} (notice {notice.id})."
    )


def _all_cities(unit_id, month, lang, output, output_dir) -> None:
    """The notice of every city below `unit_id` (else below every root) for `month` (else
    the previous month), kept and written into `output_dir`."""
    if output is not None:
        raise click.ClickException("--all-cities writes one file per city: give --output-dir.")
    if output_dir is None:
        raise click.ClickException("--all-cities needs --output-dir.")
    now = utcnow()
    chosen = _month(month) if month else Month.containing(now).shift(-1)
    if unit_id is not None:
        parents = [_unit(unit_id)]
    else:
        parents = list(
            db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.path))
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for parent in parents:
        for notice in issue_to_sub_units(parent, chosen, lang, None, now, Level.CITY):
            path = output_dir / traffic_file_name(notice.unit.name, chosen, lang)
            path.write_bytes(notice.pdf)
            click.echo(f"Wrote {path} ({len(notice.pdf):,} bytes): {notice.unit.name}.")
            written += 1
    if not written:
        db.session.rollback()
        below = f"unit {unit_id} ({parents[0].name})" if unit_id is not None else "the root units"
        raise click.ClickException(f"There is no city-level unit below {below}.")
    db.session.commit()
    click.echo(f"Issued {written} traffic notices for {chosen}.")


@report_cli.command("lag")
@with_appcontext
def lag_command():
    """Say how far behind the primary the reporting replica's figures are (REPORTS_DATABASE_URL)."""
    replica = db.engines.get(REPLICA_BIND)
    if replica is None:
        raise click.ClickException("REPORTS_DATABASE_URL is not set: reports read the primary.")
    with replica.connect() as on_replica, db.engine.connect() as on_primary:
        lag = replica_lag(on_replica, on_primary)
    if lag.as_of is None:
        click.echo(f"The replica has replayed no transaction yet; {lag.bytes_behind} bytes behind.")
        return
    click.echo(
        f"Figures as of {lag.as_of.isoformat(timespec='milliseconds')}: "
        f"{lag.behind.total_seconds():.3f} s and {lag.bytes_behind} bytes of WAL behind the "
        "primary."
    )


@report_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@with_appcontext
def worker_command(burst: bool):
    """Render queued report PDFs (needs REDIS_URL); run one or more next to the web app."""
    queue = report_queue()
    if queue is None:
        raise click.ClickException("Set REDIS_URL: without it reports render in the request.")
    # One process renders one report at a time; the app context stays pushed for the jobs,
    # which take their app from it (reports.jobs.render_job).
    SimpleWorker([queue], connection=queue.connection).work(burst=burst)
