"""Home dashboard, the navigation bar and the language switch."""

from typing import NamedTuple

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from inclusive_day.access.rule import Action, is_sponsor_only, may_read_log, reach
from inclusive_day.assets import favicon as site_icon
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.main import bp
from inclusive_day.main.dashboard import dashboard as dashboard_figures
from inclusive_day.periods import Month
from inclusive_day.web import safe_next


@bp.app_context_processor
def _account_menu() -> dict:
    """The signed-in user's own menu: their account, and what their grants let them run."""

    def account_links() -> list[tuple[str, str]]:
        links = [
            ("auth.change_password", _l("Change password")),
            ("api.tokens", _l("API tokens")),
        ]
        if may_read_log(current_user):
            links.append(("audit.index", _l("Audit log")))
        if reach(current_user, Action.EDIT).everything:
            links.append(("auth.users", _l("Users")))
        return links

    def nav_here(menu: NavMenu) -> bool:
        """True when the page shown belongs to one of a menu's links (by blueprint)."""
        return any(request.blueprint == link.endpoint.split(".")[0] for link in menu.links)

    return {"account_links": account_links, "main_nav": MAIN_NAV, "nav_here": nav_here}


class NavLink(NamedTuple):
    """A link of the navigation bar."""

    endpoint: str
    label: str


class NavMenu(NamedTuple):
    """A menu of the navigation bar and its links."""

    label: str
    links: tuple[NavLink, ...]


# The signed-in navigation bar, in one place. The station network's pages share one menu, so
# the bar fits a laptop's width in both languages.
MAIN_NAV = (
    NavLink("main.dashboard", _l("Dashboard")),
    NavLink("campaigns.index", _l("Campaigns")),
    NavLink("activities.calendar_month", _l("Calendar")),
    NavMenu(
        _l("Station network"),
        (
            NavLink("stations.index", _l("Stations")),
            NavLink("staffing.roster", _l("Administrators")),
            NavLink("volunteers.index", _l("Volunteers")),
            NavLink("units.tree", _l("Union tree")),
            NavLink("directory.search", _l("Station directory")),
        ),
    ),
    NavLink("sponsors.index", _l("Sponsors")),
)


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
        # Recaps are of union units' work: a station manager follows no unit's recap.
        may_recap=_follows_units(current_user),
    )


def _follows_units(user) -> bool:
    """True when the user's grants cover union units (or everything), whose recaps they read."""
    r = reach(user, Action.VIEW)
    return r.everything or bool(r.unit_paths)


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers and monitors: the process answers, touching nothing else."""
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():
    """The site's icon where browsers and bookmarks look for it without reading the page."""
    return site_icon()


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
    return redirect(safe_next(request.form.get("next"), url_for("main.dashboard")))
