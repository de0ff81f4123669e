"""Calendar feeds (.ics) for calendar apps, and the page where a user makes feed tokens.

Calendar apps fetch feeds without a session: a public campaign's feed is open, units' and
stations' feeds show public campaigns to anyone and more to the holder of a token, and an
internal campaign's feed opens only with a token. Unknown feeds and bad tokens answer 404.
"""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.access.rule import Action, get_or_404
from inclusive_day.campaigns.models import Campaign
from inclusive_day.extensions import db
from inclusive_day.feeds import bp, ical
from inclusive_day.feeds.ical import FilterError, parse_window, render, stamp
from inclusive_day.feeds.models import FeedKind, FeedToken
from inclusive_day.feeds.tokens import new_token, token_user, user_tokens
from inclusive_day.periods import local_today
from inclusive_day.stations.models import Station
from inclusive_day.units.models import Unit

ICS_MIMETYPE = "text/calendar; charset=utf-8"

_BUILDERS = {
    FeedKind.CAMPAIGN: ical.campaign_feed,
    FeedKind.UNIT: ical.unit_feed,
    FeedKind.STATION: ical.station_feed,
}
_ENDPOINTS = {
    FeedKind.CAMPAIGN: ("feeds.campaign_feed", "campaign_id"),
    FeedKind.UNIT: ("feeds.unit_feed", "unit_id"),
    FeedKind.STATION: ("feeds.station_feed", "station_id"),
}
_OWNERS = {FeedKind.CAMPAIGN: Campaign, FeedKind.UNIT: Unit, FeedKind.STATION: Station}


def _bad_filter(error: FilterError) -> Response:
    return Response(str(error.message) + "\n", 400, mimetype="text/plain")


def _serve(feed, window) -> Response:
    """Answer 304 when the client's copy is current, else build and send the feed."""
    current = stamp(feed, window)
    db.session.commit()  # a token's last use, if it was written
    response = Response(mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_MIMETYPE
    response.set_etag(current.etag)
    if current.last_modified is not None:
        response.last_modified = current.last_modified.replace(microsecond=0)
    response.headers["Cache-Control"] = "private, no-cache" if feed.viewer_id else "no-cache"
    response.vary.add("Accept-Language")
    if _unchanged(current):
        response.status_code = 304
        return response
    response.set_data(render(feed, window))
    name = "calendar.ics" if not feed.key.startswith("activity:") else "activity.ics"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _unchanged(current) -> bool:
    """If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)."""
    if request.if_none_match:
        return request.if_none_match.contains(current.etag)
    since = request.if_modified_since
    if since is not None and current.last_modified is not None:
        return current.last_modified.replace(microsecond=0) <= since
    return False


def _feed(kind: FeedKind, target_id: int) -> Response:
    user = token_user(kind, target_id, request.args.get("token"))
    feed = _BUILDERS[kind](target_id, user)
    try:
        window = parse_window(request.args, local_today(feed.zone))
    except FilterError as error:
        return _bad_filter(error)
    return _serve(feed, window)


@bp.get("/campaigns/<int:campaign_id>.ics")
def campaign_feed(campaign_id: int):
    """A campaign's activities as iCalendar (internal campaigns need ?token=)."""
    return _feed(FeedKind.CAMPAIGN, campaign_id)


@bp.get("/units/<int:unit_id>.ics")
def unit_feed(unit_id: int):
    """The activities of a unit's whole subtree as iCalendar."""
    return _feed(FeedKind.UNIT, unit_id)


@bp.get("/stations/<int:station_id>.ics")
def station_feed(station_id: int):
    """One station's activities as iCalendar."""
    return _feed(FeedKind.STATION, station_id)


@bp.get("/activities/<int:activity_id>.ics")
def activity_feed(activity_id: int):
    """One activity as iCalendar, for "add to calendar"."""
    return _serve(ical.activity_feed(activity_id, current_user), None)


# ---- tokens -------------------------------------------------------------------------------


def _kind(text: str) -> FeedKind:
    try:
        return FeedKind(text)
    except ValueError:
        abort(404)


def _feed_url(kind: FeedKind, target_id: int, raw: str | None = None) -> str:
    endpoint, arg = _ENDPOINTS[kind]
    extra = {"token": raw} if raw else {}
    return url_for(endpoint, **{arg: target_id}, **extra, _external=True)


def _subscribe_page(kind: FeedKind, target_id: int, raw: str | None = None):
    owner = get_or_404(current_user, Action.VIEW, _OWNERS[kind], target_id)
    public = not (kind is FeedKind.CAMPAIGN and not owner.is_public)
    return render_template(
        "feeds/subscribe.html",
        kind=kind,
        owner=owner,
        owner_name=getattr(owner, "name", ""),
        public_url=_feed_url(kind, target_id) if public else None,
        new_url=_feed_url(kind, target_id, raw) if raw else None,
        tokens=user_tokens(current_user, kind, target_id),
    )


@bp.get("/<kind>/<int:target_id>/subscribe")
@login_required
def subscribe(kind: str, target_id: int):
    """The feed's addresses and the user's tokens for it."""
    return _subscribe_page(_kind(kind), target_id)


@bp.post("/<kind>/<int:target_id>/subscribe")
@login_required
def create_token(kind: str, target_id: int):
    """Make a token for this feed and show its address, once."""
    feed_kind = _kind(kind)
    get_or_404(current_user, Action.VIEW, _OWNERS[feed_kind], target_id)
    _token, raw = new_token(current_user, feed_kind, target_id)
    db.session.commit()
    return _subscribe_page(feed_kind, target_id, raw)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Stop one of the user's tokens from opening its feed, at once."""
    token = db.session.scalar(
        select(FeedToken).where(FeedToken.id == token_id, FeedToken.user_id == current_user.id)
    )
    if token is None:
        abort(404)
    token.revoke()
    db.session.commit()
    flash(_("The feed address no longer works."), "success")
    return redirect(url_for("feeds.subscribe", kind=token.kind.value, target_id=token.target_id))
