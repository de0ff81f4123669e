"""The public points card pages (no sign-in): the card this phone holds, moving it to a new
phone by a one-time link, and (with an SMS gateway configured) a link texted to a number.

The card is the signed cookie a check-in leaves; there is no page that shows points for a
typed number. Every answer is `no-store`: a card's page is never cached.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, url_for

from inclusive_day.extensions import db, limiter
from inclusive_day.points import bp
from inclusive_day.points.card import (
    LINK_LIFETIME,
    CardError,
    card_in_request,
    card_value,
    make_link,
    presentation_code,
    send_link,
    set_card,
    usable_link,
    use_link,
)
from inclusive_day.points.forms import ButtonForm, SendForm
from inclusive_day.points.queries import card_history
from inclusive_day.points.sms import configured_gateway
from inclusive_day.stations.posters import qr_image
from inclusive_day.web import show_error

# Text messages cost money and reach someone's phone: few per client address.
SEND_LIMIT = "5 per 10 minutes"


def _sms_configured() -> bool:
    """Whether POINTS_SMS_GATEWAY is set (without it /points/send does not exist)."""
    return bool(current_app.config.get("POINTS_SMS_GATEWAY"))


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Cache-Control"] = "no-store"
    return response


def link_url(nonce: str) -> str:
    """The absolute address of a one-time card link (PUBLIC_BASE_URL when set)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("points.link", nonce=nonce)
    return url_for("points.link", nonce=nonce, _external=True)


@bp.get("/points/card")
def card():
    """This phone's points card: the balance, the history, and a code to show staff; without
    a working card, how to get one (check in at a station)."""
    account = card_in_request()
    if account is None:
        return _page("points/card.html", account=None, sms=_sms_configured())
    shown = presentation_code(account)
    return _page(
        "points/card.html",
        account=account,
        entries=card_history(account.id),
        code=shown.code,
        code_qr=qr_image(shown.code),
        code_until=shown.expires_at,
        move_form=ButtonForm(),
        sms=False,
    )


@bp.post("/points/card/link")
def make_card_link():
    """Make a one-time link (and its QR) that moves this phone's card to a new phone."""
    account = card_in_request()
    if account is None or not ButtonForm().validate_on_submit():
        return redirect(url_for("points.card"))
    link = make_link(account)
    url = link_url(link.nonce)
    db.session.commit()
    return _page(
        "points/move.html",
        url=url,
        qr=qr_image(url),
        minutes=int(LINK_LIFETIME.total_seconds() // 60),
    )


@bp.route("/points/link/<nonce>", methods=["GET", "POST"])
def link(nonce: str):
    """A one-time link opened on the new phone: GET asks to confirm (so that a link preview
    spends nothing), POST puts the card on this phone and retires the old one. A used or
    expired link answers 410 and changes nothing."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            account = use_link(nonce)
            value = card_value(account)
            db.session.commit()
            response = redirect(url_for("points.card"))
            set_card(response, value)
            return response
        usable_link(nonce)
    except CardError as error:
        db.session.rollback()
        return _page("points/link.html", 410, message=error.message, form=None)
    return _page("points/link.html", form=form, message=None)


@bp.route("/points/send", methods=["GET", "POST"])
@limiter.limit(SEND_LIMIT, methods=["POST"], exempt_when=lambda: not _sms_configured())
def send():
    """Text a one-time card link to a number (only when POINTS_SMS_GATEWAY is set). The page
    says the same whether or not the number has a card."""
    gateway = configured_gateway()
    if gateway is None:
        abort(404)
    form = SendForm()
    sent, status = False, 200
    if form.validate_on_submit():
        try:
            send_link(form.phone.data, gateway, link_url)
        except CardError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
            status = 422
        else:
            db.session.commit()
            sent = True
    elif form.is_submitted():
        status = 422
    return _page("points/send.html", status, form=form, sent=sent)
