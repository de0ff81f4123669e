"""`flask analytics ...`: rebuild the analytics tables from the raw rows, refresh the people
bitmaps (once, or every N seconds as a worker)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup, with_appcontext

from inclusive_day.analytics.refresh import AnalyticsError, check_period, queued, rebuild, refresh
from inclusive_day.extensions import db
from inclusive_day.reports.commands import day_parameter

analytics_cli = AppGroup(
    "analytics", help="Keep the analytics tables: rebuild them, refresh the people bitmaps."
)


@analytics_cli.command("rebuild")
@click.option("--from", "first", callback=day_parameter, help="First day, YYYY-MM-DD (China date).")
@click.option("--to", "last", callback=day_parameter, help="Last day, YYYY-MM-DD (included).")
@with_appcontext
def rebuild_command(first, last):
    """Count the analytics tables again from the raw rows, for the whole months the period
    touches (all the data without --from and --to)."""
    try:
        check_period(first, last)
    except AnalyticsError as error:
        raise click.BadParameter(str(error), param_hint="--to") from None
    bar = None

    def planned(steps: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=steps, label="Counting months", file=None)
        bar.__enter__()

    def progress(done: int) -> None:
        if bar is not None:
            bar.update(done)

    try:
        done = rebuild(first, last, progress=progress, planned=planned)
        db.session.commit()
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(
        f"Rebuilt: {done.bitmaps} people bitmaps, {done.people_numbered} people newly numbered."
    )


@analytics_cli.command("refresh")
@click.option(
    "--every", type=click.IntRange(min=1), help="Run again every this many seconds, until stopped."
)
@with_appcontext
def refresh_command(every):
    """Bring the people bitmaps up to the changes committed so far."""
    while True:
        done = refresh()
        db.session.commit()
        click.echo(
            f"Refreshed {done.changes} changes: {done.bitmaps} bitmaps written,"
            f" {done.people_numbered} people newly numbered; {queued()} waiting."
        )
        if every is None:
            return
        db.session.remove()
        time.sleep(every)
