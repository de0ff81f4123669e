"""Home dashboard and language switch."""

from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from inclusive_day.auth.access import is_sponsor_only
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.main import bp
from inclusive_day.reports.periods import Month
from inclusive_day.reports.queries import dashboard as dashboard_figures


@bp.get("/")
@login_required
def dashboard():
    """The signed-in user's subtree at a glance: stations, this month, campaigns, what is next."""
    if is_sponsor_only(current_user):
        return redirect(url_for("sponsors.mine"))
    now = utcnow()
    month_text = request.args.get("month")
    try:
        month = Month.parse(month_text) if month_text else Month.containing(now)
    except ValueError:
        abort(400)
    figures = dashboard_figures(current_user, month, now)
    return render_template(
        "main/dashboard.html",
        figures=figures,
        previous_month=month.shift(-1),
        next_month=month.shift(1),
        this_month=Month.containing(now),
    )


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers and monitors: the process answers, touching nothing else."""
    return jsonify(status="ok")


@bp.post("/language")
def set_language():
    """Switch the interface language for this browser (and remember it for the user)."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
        db.session.commit()
    target = request.form.get("next") or ""
    if not target.startswith("/") or urlsplit(target).netloc or "\\" in target:
        target = url_for("main.dashboard")
    return redirect(target)
