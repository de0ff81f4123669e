"""Festival dates: the Chinese festivals and solar terms of a year."""

from flask import flash, jsonify, render_template, request
from flask_login import login_required

from inclusive_day.activities import bp
from inclusive_day.activities.festivals import (
    MAX_YEAR,
    MIN_YEAR,
    FestivalError,
    FestivalKind,
    UnknownFestivalError,
    YearOutOfRangeError,
    festival_date,
    festival_year,
    get_festival,
    lunar_text,
    parse_year,
)
from inclusive_day.periods import local_today


@bp.get("/festivals")
@login_required
def festivals():
    """A year's festivals and solar terms with their dates, for planning activities."""
    today = local_today()
    year = today.year
    if request.args.get("year"):
        try:
            year = parse_year(request.args["year"])
        except FestivalError as error:
            flash(str(error.message), "warning")
    return render_template(
        "activities/festivals.html",
        overview=festival_year(year, today),
        today=today,
        kinds=FestivalKind,
        first_year=MIN_YEAR,
        last_year=MAX_YEAR,
    )


@bp.get("/festivals/<code>/<int:year>.json", endpoint="festival_date")
@login_required
def festival_date_json(code: str, year: int):
    """One festival's date in a year, for the scheduling form to fill in a date field."""
    try:
        festival = get_festival(code)
        day = festival_date(code, year)
    except UnknownFestivalError as error:
        return jsonify(error=str(error.message)), 404
    except YearOutOfRangeError as error:
        return jsonify(error=str(error.message)), 400
    except FestivalError as error:  # the festival misses this year
        return jsonify(error=str(error.message)), 404
    return jsonify(
        code=festival.code, name=festival.name, date=day.isoformat(), lunar=lunar_text(day)
    )
