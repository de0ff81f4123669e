"""Station spreadsheets on the web: upload, check, confirm, import; and export."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inclusive_day.access.rule import Action, get_or_404, reach
from inclusive_day.extensions import db
from inclusive_day.spreadsheets import FORMATS
from inclusive_day.stations import bp
from inclusive_day.stations.exporting import export_stations
from inclusive_day.stations.forms import TOKEN, ConfirmImportForm, ImportForm
from inclusive_day.stations.importing import COLUMNS, import_stations, max_import_bytes
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import top_units
from inclusive_day.uploads import format_size
from inclusive_day.web import send_export

UPLOAD_LIFETIME_SECONDS = 24 * 3600
MAX_ERRORS_SHOWN = 1000


def _require_importer() -> None:
    """Only users who may edit some unit's stations import; others get 404."""
    r = reach(current_user, Action.EDIT)
    if not (r.everything or r.unit_paths):
        abort(404)


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _upload_path(token: str, fmt: str) -> Path:
    """Where an upload of the current user is kept; the token must be plain hex."""
    if not TOKEN.match(token) or fmt not in FORMATS:
        abort(404)
    return _upload_dir() / f"import-{current_user.id}-{token}.{fmt}"


def _find_upload(token: str) -> Path | None:
    for fmt in FORMATS:
        path = _upload_path(token, fmt)
        if path.is_file():
            return path
    return None


def _forget_old_uploads() -> None:
    """Delete uploads nobody confirmed within a day."""
    folder = _upload_dir()
    if not folder.is_dir():
        return
    cutoff = time.time() - UPLOAD_LIFETIME_SECONDS
    for path in folder.glob("import-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker got there first
            continue


def _save_upload(data: bytes, fmt: str) -> str:
    token = secrets.token_hex(16)
    path = _upload_path(token, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return token


def _page(form: ImportForm, report=None, confirm=None, status: int = 200):
    return (
        render_template(
            "stations/import.html",
            form=form,
            report=report,
            confirm=confirm,
            columns=COLUMNS,
            max_size=format_size(max_import_bytes()),
            errors_shown=report.errors[:MAX_ERRORS_SHOWN] if report else [],
            export_unit=next(iter(top_units(current_user, Action.VIEW)), None),
        ),
        status,
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_upload():
    """Upload a station spreadsheet; it is checked (nothing written) and the report shown."""
    _require_importer()
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form, status=422 if request.method == "POST" else 200)
    _forget_old_uploads()
    upload = form.file.upload
    report = import_stations(upload.data, upload.name, current_user, dry_run=True)
    confirm = None
    if report.ok and report.created + report.updated:
        confirm = ConfirmImportForm(token=_save_upload(upload.data, report.format))
    return _page(form, report, confirm, status=200 if report.ok else 422)


@bp.post("/import/confirm")
@login_required
def import_confirm():
    """Import a checked upload: check it again against the database now, then commit."""
    _require_importer()
    confirm = ConfirmImportForm()
    if not confirm.validate_on_submit():
        abort(400)
    path = _find_upload(confirm.token.data)
    if path is None:
        flash(_("That upload has expired. Please upload the file again."), "warning")
        return redirect(url_for("stations.import_upload"))
    report = import_stations(path.read_bytes(), path.name, current_user)
    if not report.ok:
        db.session.rollback()
        return _page(ImportForm(formdata=None), report, status=422)
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(
        _(
            "Imported: %(created)d new stations, %(updated)d updated, %(same)d unchanged.",
            created=report.created,
            updated=report.updated,
            same=report.unchanged,
        ),
        "success",
    )
    return redirect(url_for("stations.index"))


@bp.get("/export.<fmt>")
@login_required
def export(fmt: str):
    """Every station under a unit the user may see, as a CSV or XLSX download."""
    if fmt not in FORMATS:
        abort(404)
    if "unit" in request.args:
        unit_id = request.args.get("unit", type=int)
        if unit_id is None:
            abort(404)
        unit = get_or_404(current_user, Action.VIEW, Unit, unit_id)
    else:
        unit = next(iter(top_units(current_user, Action.VIEW)), None)
        if unit is None:
            abort(404)
    return send_export(export_stations(unit, fmt))
