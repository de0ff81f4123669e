"""`flask stations ...`: import and export station spreadsheets from the command line."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from inclusive_day.extensions import db
from inclusive_day.spreadsheets import FORMATS
from inclusive_day.stations.exporting import export_stations
from inclusive_day.stations.importing import ImportReport, import_stations
from inclusive_day.units.models import Unit

stations_cli = AppGroup("stations", help="Import and export station spreadsheets.")

LANGUAGE_OPTION = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the messages (default: the app's default language).",
)


def _language(lang: str | None) -> str:
    return lang or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")


class _Bars:
    """One click progress bar per stage of the import, drawn on stderr."""

    def __init__(self, stack: ExitStack):
        self.stack = stack
        self.bars: dict[str, click.progressbar] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            label = _("Checking rows") if stage == "check" else _("Saving")
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bars[stage] = self.stack.enter_context(bar)
        bar.update(done - bar.pos)


@stations_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@LANGUAGE_OPTION
def import_command(file: Path, dry_run: bool, lang: str | None) -> None:
    """Create or update stations (by station code) from a CSV or XLSX file."""
    with force_locale(_language(lang)):
        with ExitStack() as stack:
            report = import_stations(
                file.read_bytes(), file.name, user=None, dry_run=dry_run, progress=_Bars(stack)
            )
        _echo_report(report)
        counts = {"created": report.created, "updated": report.updated, "same": report.unchanged}
        if not report.ok:
            db.session.rollback()
            click.echo(_("Nothing was imported. Errors: %(n)d.", n=len(report.errors)), err=True)
            sys.exit(1)
        if dry_run:
            click.echo(
                _(
                    "Dry run, nothing written: %(created)d new, %(updated)d to update, "
                    "%(same)d unchanged.",
                    **counts,
                )
            )
            return
        db.session.commit()
        click.echo(
            _("Imported: %(created)d new, %(updated)d updated, %(same)d unchanged.", **counts)
        )


def _echo_report(report: ImportReport) -> None:
    """Print what the import read, then every error, one a line (errors on stderr)."""
    if report.format:
        detail = report.encoding_label if report.format == "csv" else report.sheet
        click.echo(f"{report.filename} ({report.format.upper()}, {detail})")
    if report.ignored_columns:
        click.echo(_("Ignored columns: %(columns)s", columns=", ".join(report.ignored_columns)))
    if report.rows:
        click.echo(_("Rows read: %(n)d", n=report.rows))
    for error in report.errors:
        if error.row is None:
            click.echo(str(error.message), err=True)
        else:
            click.echo(
                _(
                    "Row %(row)d, %(column)s: %(message)s",
                    row=error.row,
                    column=error.column or "-",
                    message=error.message,
                ),
                err=True,
            )


@stations_cli.command("export")
@click.argument("unit_code")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="csv or xlsx (default: from the output file's name, else csv).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    default=None,
    help='File to write (default: a name with the unit code and the date; "-" for stdout).',
)
@LANGUAGE_OPTION
def export_command(unit_code: str, fmt: str | None, output: Path | None, lang: str | None) -> None:
    """Write every station of a unit's subtree (the unit given by its code) to CSV or XLSX."""
    with force_locale(_language(lang)):
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code.strip()))
        if unit is None:
            raise click.ClickException(_("No union unit has the code %(code)s.", code=unit_code))
        if fmt is None:
            suffix = output.suffix.lower().lstrip(".") if output else ""
            fmt = suffix if suffix in FORMATS else "csv"
        export = export_stations(unit, fmt)
        if output is not None and str(output) == "-":
            click.echo(export.data, nl=False)
            return
        target = output or Path(export.filename)
        target.write_bytes(export.data)
        click.echo(_("Wrote %(path)s.", path=str(target)), err=True)
