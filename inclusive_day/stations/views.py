"""Station list and profile."""

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from inclusive_day.activities.models import Activity
from inclusive_day.activities.queries import count_activities, upcoming
from inclusive_day.attendance.queries import totals
from inclusive_day.auth.access import Action, get_or_404, visible
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.stations import bp
from inclusive_day.stations.models import Station


@bp.get("/")
@login_required
def index():
    """The stations the user may see, searchable by name, code or address."""
    query = request.args.get("q", "").strip()[:100]
    stmt = (
        select(Station)
        .where(visible(current_user, Action.VIEW, Station))
        .options(joinedload(Station.unit), selectinload(Station.amenity_rows))
        .order_by(Station.code)
    )
    if query:
        like = f"%{query}%"
        stmt = stmt.where(
            Station.name.ilike(like) | Station.code.ilike(like) | Station.address.ilike(like)
        )
    page = db.paginate(stmt, per_page=25, error_out=False)
    return render_template("stations/index.html", page=page, query=query)


@bp.get("/<int:station_id>")
@login_required
def show(station_id: int):
    """A station's profile, figures and coming activities."""
    station = get_or_404(
        current_user, Action.VIEW, Station, station_id, selectinload(Station.amenity_rows)
    )
    scope = [Activity.station_id == station.id]
    return render_template(
        "stations/show.html",
        station=station,
        activities=count_activities(scope),
        figures=totals(scope),
        coming=upcoming(scope, utcnow(), limit=10),
    )
