"""`flask demo ...`."""

import time

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from inclusive_day.analytics.refresh import refresh
from inclusive_day.demo.kunming import (
    DemoLogin,
    campaign_figures,
    demo_logins,
    find_campaign,
    load_kunming,
)
from inclusive_day.demo.province import ProvinceExists, build_province, find_province
from inclusive_day.demo.province_points import generate_points
from inclusive_day.demo.province_shelf import generate_shelves
from inclusive_day.extensions import db
from inclusive_day.units.models import Unit

demo_cli = AppGroup("demo", help="Load demonstration data.")


@demo_cli.command("load")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Load only into a database that holds no union units yet (make run uses this).",
)
def load(if_empty: bool) -> None:
    """Load the Kunming Inclusive Day campaign of 2023-24 (does nothing if it is there)."""
    if if_empty and find_campaign() is None and db.session.scalar(select(func.count(Unit.id))):
        click.echo("The database holds union units of its own; the demo was not loaded.")
        return
    started = time.perf_counter()
    result = load_kunming(echo=click.echo)
    db.session.commit()
    _refresh_analytics()
    if result.created:
        click.echo(f"Loaded in {time.perf_counter() - started:.1f} s.")
    if result.campaign_id is None:
        click.echo("The Kunming union exists but has no Inclusive Day campaign.")
    else:
        figures = campaign_figures(result.campaign_id)
        click.echo(f"activities:    {figures.activities}")
        click.echo(f"served:        {figures.served}")
        click.echo(f"unique people: {figures.people}")
    _echo_logins(demo_logins())


@demo_cli.command("province")
@click.option("--stations", default=11_000, show_default=True, type=click.IntRange(min=1))
@click.option("--activities", default=100_000, show_default=True, type=click.IntRange(min=0))
@click.option("--checkins", default=2_230_000, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--visits",
    default=2_230_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Door visits over the campaign year, up to today.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same province.")
def province(stations: int, activities: int, checkins: int, visits: int, seed: int) -> None:
    """Build a synthetic province in bulk: union tree, stations, a year's campaign with targets,
    activities, headcounts, check-ins and sponsors (the data reports are measured on), a
    construction year: station lifecycles, host types, partners, labels, a construction target
    handed down to the cities and a funds ledger (Anhui's figures at 11,000 stations), and the
    stations' running: a year of door traffic (Shanxi's 2.23 million person-times) with some
    workers' feedback, station masters and assistants, their training and duty shifts.

    The province's root unit has the code 990000; a database holds one such province, and the
    command refuses, writing nothing, when it is already there. The construction year's
    figures it prints are counted back from the database.
    """
    try:
        build_province(
            stations=stations,
            activities=activities,
            checkins=checkins,
            visits=visits,
            seed=seed,
            echo=click.echo,
        )
        generate_shelves(find_province(), seed=seed, echo=click.echo)
        generate_points(db.session, find_province(), seed=seed, echo=click.echo)
        _refresh_analytics()
    except ProvinceExists as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.ClickException(f"Nothing was written: {error}") from None


def _refresh_analytics() -> None:
    """Count the people bitmaps of what was just loaded, as the refresh worker would."""
    started = time.perf_counter()
    done = refresh()
    db.session.commit()
    if done.changes:
        click.echo(
            f"Analytics: {done.bitmaps:,} people bitmaps of {done.people_numbered:,} people"
            f" in {time.perf_counter() - started:.1f} s."
        )


def _echo_logins(logins: list[DemoLogin]) -> None:
    """Print the demo accounts as a small table, the (Chinese) scope last so columns line up."""
    click.echo("")
    rows = [("user", "role", "password", "scope")]
    rows += [(x.username, x.role, x.password, x.scope) for x in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for *cells, scope in rows:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        click.echo("  ".join([*padded, scope]))
