"""The points card: a signed cookie on the phone that checked in, the short-lived code a worker
shows staff to spend, and the one-time links that move a card to a new phone.

Nothing here looks a balance up by phone number: a typed number reveals nothing on the phone
that typed it. The card names an account and its `card_version`; moving the card raises the
version, and every older card (and every code shown from one) stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update

from inclusive_day.attendance.identity import InvalidPhone, normalise_phone, person_for
from inclusive_day.database import utcnow
from inclusive_day.extensions import db
from inclusive_day.points.ledger import find_account
from inclusive_day.points.models import CardLink, PointAccount
from inclusive_day.points.sms import SmsGateway
from inclusive_day.refusals import Refused

CARD_COOKIE = "points_card"
CARD_SALT = "inclusive-day/points-card"
# Browsers keep a cookie at most 400 days; each check-in writes it afresh.
CARD_MAX_AGE = timedelta(days=400)
LINK_LIFETIME = timedelta(minutes=15)
CODE_MAX_AGE = timedelta(minutes=10)
_CODE = re.compile(r"^(\d{1,12})-(\d{2})([A-Z2-7]{6})$")
_CODE_LABEL = b"inclusive-day/points-presentation/"


class Refusal(StrEnum):
    """Why a card, a code or a link is refused."""

    BAD_CODE = "bad_code"  # not a code this site made, or for an older card
    CODE_EXPIRED = "code_expired"
    LINK_GONE = "link_gone"  # used already, expired, or never made
    BAD_PHONE = "bad_phone"


class CardError(Refused):
    """A card, code or link that is not (or no longer) good; nothing was changed."""


# --- The card cookie --------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CARD_SALT)


def card_value(account: PointAccount) -> str:
    """The signed cookie value naming the account and its card version."""
    return _serializer().dumps({"a": account.id, "v": account.card_version})


def account_from_card(value: str | None) -> PointAccount | None:
    """The account a card cookie names, if it is signed by this site, not too old, and of the
    account's current card version; None otherwise (a forged, old or moved card)."""
    if not value:
        return None
    try:
        data = _serializer().loads(value, max_age=int(CARD_MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        return None
    account = db.session.get(PointAccount, data["a"])
    if account is None or account.card_version != data.get("v"):
        return None
    return account


def set_card(response, value: str) -> None:
    """Leave (or renew) the card cookie (a `card_value`) on the response: HttpOnly,
    SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        CARD_COOKIE,
        value,
        max_age=int(CARD_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )


def card_in_request() -> PointAccount | None:
    """The account of the card this phone holds, if it still works."""
    return account_from_card(request.cookies.get(CARD_COOKIE))


# --- The presentation code --------------------------------------------------------------------


@dataclass(frozen=True)
class Presentation:
    """A code to show staff: its text and until when it works."""

    code: str
    expires_at: datetime


def _code_mac(account_id: int, version: int, minute: int) -> str:
    key = hashlib.sha256(_CODE_LABEL + current_app.config["SECRET_KEY"].encode()).digest()
    digest = hmac.new(key, f"{account_id}:{version}:{minute}".encode(), hashlib.sha256).digest()
    return b32encode(digest).decode()[:6]


def presentation_code(account: PointAccount, now: datetime | None = None) -> Presentation:
    """A code that names the account for CODE_MAX_AGE: the account, the minute it was made (mod
    100) and a keyed signature over both and the card version, e.g. ``1234-07KQ7XJ3``."""
    now = now or utcnow()
    minute = int(now.timestamp()) // 60
    code = f"{account.id}-{minute % 100:02d}{_code_mac(account.id, account.card_version, minute)}"
    return Presentation(code, datetime.fromtimestamp(minute * 60, UTC) + CODE_MAX_AGE)


def account_from_code(text: str | None, now: datetime | None = None) -> PointAccount:
    """The account a presentation code names (CardError if forged, for a moved card, or older
    than CODE_MAX_AGE)."""
    now = now or utcnow()
    match = _CODE.match(re.sub(r"\s", "", text or "").upper())
    forged = CardError(
        _l("This is not a points code: ask the worker to show the code on their card again."),
        Refusal.BAD_CODE,
        "code",
    )
    if match is None:
        raise forged
    account_id, mod = int(match[1]), int(match[2])
    this_minute = int(now.timestamp()) // 60
    minute = this_minute - (this_minute - mod) % 100  # the latest minute with these digits
    account = db.session.get(PointAccount, account_id)
    if account is None or not hmac.compare_digest(
        match[3], _code_mac(account_id, account.card_version, minute)
    ):
        raise forged
    if now.timestamp() - minute * 60 > CODE_MAX_AGE.total_seconds():
        raise CardError(
            _l("This code has expired: ask the worker to open their card again for a new one."),
            Refusal.CODE_EXPIRED,
            "code",
        )
    return account


# --- Moving the card ------------------------------------------------------------------------


def make_link(account: PointAccount, now: datetime | None = None) -> CardLink:
    """A one-time link for the account's card, good for LINK_LIFETIME; the caller commits."""
    now = now or utcnow()
    link = CardLink(
        account_id=account.id,
        nonce=secrets.token_urlsafe(24),
        expires_at=now + LINK_LIFETIME,
        created_at=now,
    )
    db.session.add(link)
    db.session.flush()
    return link


def _gone() -> CardError:
    return CardError(
        _l(
            "This link has been used already or has expired, and changed nothing. "
            "Make a new one from the card on the old phone."
        ),
        Refusal.LINK_GONE,
    )


def usable_link(nonce: str, now: datetime | None = None) -> CardLink:
    """The link with this nonce, if it is unused and unexpired (CardError otherwise)."""
    now = now or utcnow()
    link = db.session.scalars(
        select(CardLink).where(
            CardLink.nonce == nonce, CardLink.used_at.is_(None), CardLink.expires_at > now
        )
    ).first()
    if link is None:
        raise _gone()
    return link


def use_link(nonce: str, now: datetime | None = None) -> PointAccount:
    """Spend a one-time link: mark it used and raise the account's card version, so the card on
    the old phone stops working; returns the account for the new phone's card. One guarded
    UPDATE marks the link, so two phones opening it at once put the card on one. The caller
    commits; a used or expired link raises CardError and changes nothing."""
    now = now or utcnow()
    account_id = db.session.execute(
        update(CardLink)
        .where(CardLink.nonce == nonce, CardLink.used_at.is_(None), CardLink.expires_at > now)
        .values(used_at=now)
        .returning(CardLink.account_id),
        execution_options={"synchronize_session": False},
    ).scalar()
    if account_id is None:
        raise _gone()
    db.session.execute(
        update(PointAccount)
        .where(PointAccount.id == account_id)
        .values(card_version=PointAccount.card_version + 1),
        execution_options={"synchronize_session": False},
    )
    account = db.session.get(PointAccount, account_id)
    db.session.refresh(account)
    return account


def send_link(
    phone: str, gateway: SmsGateway, url_of: Callable[[str], str], now: datetime | None = None
) -> bool:
    """Text a one-time card link to `phone` if that number has a points account; the caller
    commits and answers the same either way, so the page reveals nothing about the number.
    Returns whether a message went out. The number goes to the gateway only."""
    try:
        person = person_for(phone)
    except InvalidPhone:
        raise CardError(
            _l("Give a mainland mobile number of 11 digits."), Refusal.BAD_PHONE, "phone"
        ) from None
    account = find_account(person.identity)
    if account is None:
        return False
    link = make_link(account, now)
    gateway.send(
        normalise_phone(phone),
        _(
            "Inclusive Day points card: open %(url)s on this phone within 15 minutes. "
            "If you did not ask for it, ignore this message.",
            url=url_of(link.nonce),
        ),
    )
    return True
