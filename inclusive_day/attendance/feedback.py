"""Workers' word on a station: an optional rating of one to five and a short comment, left on
the confirmation page after a door scan or an activity check-in.

One per person, station and local day: the first word of the day stands, and a second one the
same day is refused ("already given"), so that a comment an organiser hid cannot be written
over with another the same day. The row goes in through one INSERT ... ON CONFLICT DO NOTHING
on the unique (station, identity, day): of two concurrent submissions one is stored and the
other refused. The person is the identity the scan already stored; no number is asked again.

Organisers may hide a comment: it no longer shows on public pages, and is shown greyed to
those who may edit the station only; its rating still counts.

ratings = the ratings given (comments without a rating do not count), their average and
          their distribution over one to five.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, select, true, update

from inclusive_day.attendance.models import FEEDBACK_COMMENT_MAX, Feedback
from inclusive_day.auth.models import User
from inclusive_day.database import INSERT_OR_NOTHING, utcnow
from inclusive_day.extensions import db
from inclusive_day.refusals import Refused

RATINGS = (1, 2, 3, 4, 5)


class FeedbackRefusal(StrEnum):
    """Why a worker's feedback is refused: the code a FeedbackError carries."""

    INVALID_RATING = "invalid_rating"
    COMMENT_TOO_LONG = "comment_too_long"
    EMPTY = "empty"
    ALREADY_GIVEN = "already_given"


class FeedbackError(Refused):
    """Feedback that cannot be stored; its code is a FeedbackRefusal."""


# ---- input ----------------------------------------------------------------------------------


def parse_rating(value) -> int | None:
    """A rating: a whole number from one to five, or None when none was given."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if text in {str(r) for r in RATINGS}:
        return int(text)
    raise FeedbackError(
        _l("Choose a rating from one to five stars."), FeedbackRefusal.INVALID_RATING, "rating"
    )


def parse_comment(value) -> str:
    """A comment, trimmed: at most FEEDBACK_COMMENT_MAX characters."""
    text = str(value or "").strip()
    if len(text) > FEEDBACK_COMMENT_MAX:
        raise FeedbackError(
            _l(
                "Keep the comment to %(max)s characters (it has %(n)s).",
                max=FEEDBACK_COMMENT_MAX,
                n=len(text),
            ),
            FeedbackRefusal.COMMENT_TOO_LONG,
            "comment",
        )
    return text


# ---- verbs ----------------------------------------------------------------------------------


def leave_feedback(
    station_id: int, identity: str, day: date, rating, comment, now: datetime | None = None
) -> Feedback:
    """A worker rates a station and/or comments on it, once a day; the caller commits."""
    rating = parse_rating(rating)
    comment = parse_comment(comment)
    if rating is None and not comment:
        raise FeedbackError(
            _l("Choose a rating or write a comment, or leave this page as it is."),
            FeedbackRefusal.EMPTY,
            "rating",
        )
    values = {
        "station_id": station_id,
        "identity": identity,
        "visit_day": day,
        "rating": rating,
        "comment": comment,
        "created_at": now or utcnow(),
    }
    table = Feedback.__table__
    dialect = db.session.get_bind().dialect.name
    statement = INSERT_OR_NOTHING[dialect](table).on_conflict_do_nothing().returning(table.c.id)
    new_id = db.session.execute(statement, values).scalar()
    if new_id is None:
        raise FeedbackError(
            _l("You already left your word on this station today. Thank you!"),
            FeedbackRefusal.ALREADY_GIVEN,
        )
    return Feedback(id=new_id, **values)


def hide_comment(feedback: Feedback, user, now: datetime | None = None) -> bool:
    """An organiser hides a comment from public pages; False if it was hidden already."""
    moved = db.session.execute(
        update(Feedback)
        .where(Feedback.id == feedback.id, Feedback.hidden_at.is_(None))
        .values(hidden_at=now or utcnow(), hidden_by_id=getattr(user, "id", None)),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(feedback)
    return moved.rowcount == 1


def show_comment(feedback: Feedback) -> bool:
    """An organiser shows a hidden comment again; False if it was not hidden."""
    moved = db.session.execute(
        update(Feedback)
        .where(Feedback.id == feedback.id, Feedback.hidden_at.is_not(None))
        .values(hidden_at=None, hidden_by_id=None),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(feedback)
    return moved.rowcount == 1


# ---- reads ----------------------------------------------------------------------------------


def feedback_of(station_id: int, identity: str, day: date) -> Feedback | None:
    """The word this person left on the station that day, if any."""
    return db.session.scalar(
        select(Feedback).where(
            Feedback.station_id == station_id,
            Feedback.identity == identity,
            Feedback.visit_day == day,
        )
    )


@dataclass(frozen=True)
class Ratings:
    """A station's ratings: how many, their average, and how many of each (one to five)."""

    count: int = 0
    total: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    @property
    def average(self) -> float | None:
        """The mean rating to one decimal, or None with no rating."""
        return round(self.total / self.count, 1) if self.count else None

    def share(self, rating: int) -> float:
        """The percentage of the ratings that gave `rating`."""
        return round(self.distribution.get(rating, 0) * 100 / self.count, 1) if self.count else 0.0


def ratings_of(station_id: int) -> Ratings:
    """A station's ratings over all time, hidden comments' ratings included (one query)."""
    rows = db.session.execute(
        select(Feedback.rating, func.count())
        .where(Feedback.station_id == station_id, Feedback.rating.is_not(None))
        .group_by(Feedback.rating)
    ).all()
    distribution = dict.fromkeys(RATINGS, 0)
    for rating, n in rows:
        distribution[int(rating)] = int(n)
    count = sum(distribution.values())
    return Ratings(count, sum(r * n for r, n in distribution.items()), distribution)


def comments_query(station_id: int, with_hidden: bool) -> Select:
    """SELECT a station's comments, newest first; hidden ones only when `with_hidden`."""
    stmt = select(Feedback).where(Feedback.station_id == station_id, Feedback.comment != "")
    if not with_hidden:
        stmt = stmt.where(Feedback.hidden_at.is_(None))
    return stmt.order_by(Feedback.created_at.desc(), Feedback.id.desc())


def hidden_by_names(rows: list[Feedback]) -> dict[int, str]:
    """The user names of whoever hid these comments, by user id (one query)."""
    ids = {row.hidden_by_id for row in rows if row.hidden_by_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class PublicComment:
    """A comment as a public page shows it: the day, the rating given with it, the words."""

    day: date
    rating: int | None
    comment: str


@dataclass(frozen=True)
class PublicFeedback:
    """What a station's public page shows of workers' word: how many ratings, their average,
    and the latest comments that nobody hid (never who wrote them)."""

    count: int = 0
    average: float | None = None
    comments: list[PublicComment] = field(default_factory=list)


def public_feedback(station_id: int, limit: int) -> PublicFeedback:
    """The station's ratings and its latest `limit` comments nobody hid, in one query (the
    one-row aggregate joined to the latest comments)."""
    figures = (
        select(func.count(Feedback.rating).label("n"), func.sum(Feedback.rating).label("total"))
        .where(Feedback.station_id == station_id)
        .subquery("figures")
    )
    latest = (
        comments_query(station_id, with_hidden=False)
        .with_only_columns(
            Feedback.visit_day, Feedback.rating, Feedback.comment, Feedback.created_at, Feedback.id
        )
        .limit(limit)
        .subquery("latest")
    )
    rows = db.session.execute(
        select(figures.c.n, figures.c.total, latest.c.visit_day, latest.c.rating, latest.c.comment)
        .select_from(figures)
        .outerjoin(latest, true())
        .order_by(latest.c.created_at.desc(), latest.c.id.desc())
    ).all()
    count = int(rows[0].n or 0) if rows else 0
    return PublicFeedback(
        count,
        round(int(rows[0].total) / count, 1) if count else None,
        [PublicComment(r.visit_day, r.rating, r.comment) for r in rows if r.comment is not None],
    )


def ratings_by_window(windows) -> dict[tuple, tuple[int, float]]:
    """(how many ratings, their average) per window: `windows` is a subquery of (kind, ref,
    station_id, first_day, end_day), the ratings counted at the window's station on its days
    (end_day excluded). One grouped query; windows with no rating are absent."""
    rows = db.session.execute(
        select(windows.c.kind, windows.c.ref, func.count(), func.sum(Feedback.rating))
        .select_from(Feedback)
        .join(
            windows,
            and_(
                windows.c.station_id == Feedback.station_id,
                Feedback.visit_day >= windows.c.first_day,
                Feedback.visit_day < windows.c.end_day,
            ),
        )
        .where(Feedback.rating.is_not(None))
        .group_by(windows.c.kind, windows.c.ref)
    )
    return {
        (kind, ref): (int(n), int(total) / int(n)) for kind, ref, n, total in rows if int(n or 0)
    }
