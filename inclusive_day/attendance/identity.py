"""Check-in identities: a keyed hash of a normalised phone number, never the number."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cache

from flask import current_app

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")


class InvalidPhone(ValueError):
    """The text is not a mainland China mobile number."""


def normalise_phone(raw: str) -> str:
    """Reduce a typed mobile number to its 11 digits, dropping separators and +86 / 0086."""
    digits = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.match(digits):
        raise InvalidPhone(raw)
    return digits


@cache
def identity_key(secret: str) -> bytes:
    """The HMAC key derived from the app's identity secret, kept apart from other uses of it."""
    return hashlib.sha256(b"inclusive-day/checkin-identity/" + secret.encode()).digest()


def app_identity_key() -> bytes:
    """This app's identity key: from IDENTITY_SECRET when set, else from SECRET_KEY."""
    config = current_app.config
    return identity_key(config.get("IDENTITY_SECRET") or config["SECRET_KEY"])


def identity_for(phone: str, key: bytes | None = None) -> str:
    """The stored identity of a phone number: hex HMAC-SHA256 of its normalised form."""
    if key is None:
        key = app_identity_key()
    return hmac.new(key, normalise_phone(phone).encode(), hashlib.sha256).hexdigest()


def person_key(identity: str) -> int:
    """The identity's first 64 bits as a signed integer (PostgreSQL's bigint), the key that
    "unique people" counts: distinct keys hash and compare far faster than 64-character
    strings over millions of check-ins, and a covering index holds them. Two people share a
    key with odds of about 1 in 40 million at a million people (n^2 / 2^65)."""
    value = int(identity[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True, slots=True)
class Person:
    """Who scanned, as stored: the identity and the person key derived from it, worked out
    once per scan and passed along rather than hashed again at every step."""

    identity: str
    key: int

    @classmethod
    def of(cls, identity: str) -> "Person":
        """The person an identity already stored elsewhere names."""
        return cls(identity, person_key(identity))


def person_for(phone: str, key: bytes | None = None) -> Person:
    """The person a phone number names (InvalidPhone if it is none): hashed and keyed once."""
    return Person.of(identity_for(phone, key))


def address_key(address: str, key: bytes | None = None) -> str:
    """A client address as refused check-ins record it: a keyed hash, never the address, so
    that one address's refusals add up without the log holding who sent them."""
    if key is None:
        key = app_identity_key()
    return hmac.new(key, b"address/" + (address or "").encode(), hashlib.sha256).hexdigest()
