"""The one password rule, used wherever a password is set, and temporary passwords.

A password must have at least PASSWORD_MIN characters, must not be a common password (the
list in common_passwords.txt, also with digits or signs added at its end), must not contain
the user name, must not be one character repeated or a plain keyboard or number sequence,
and must not be built only of pieces people guess first (auth.guessable: repeats, runs,
keyboard and keypad walks, dates, 520 and 1314, pinyin names, common words): it must take
at least 10**GUESSES_MIN_LOG10 guesses. A refusal says which pieces it found.
"""

from __future__ import annotations

import re
import secrets

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import ValidationError

from inclusive_day.auth.guessable import (
    KEYBOARD_SEQUENCES,
    PieceKind,
    cheapest,
    common_passwords,
)

PASSWORD_MIN = 10
PASSWORD_MAX = 200
# A password must take at least 10**GUESSES_MIN_LOG10 guesses by its cheapest split.
GUESSES_MIN_LOG10 = 11

# Rows and runs that people type instead of choosing; a password that is a piece of one of
# these (forwards or backwards) is a sequence, not a secret.
_SEQUENCES = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    *KEYBOARD_SEQUENCES,
)
_TRAILING_DIGITS_AND_SIGNS = re.compile(r"[\d\W_]+$")


def _is_common(lowered: str) -> bool:
    if lowered in common_passwords():
        return True
    # "iloveyou2024" and "password!!" are the listed password with something stuck on.
    stem = _TRAILING_DIGITS_AND_SIGNS.sub("", lowered)
    return bool(stem) and stem != lowered and stem in common_passwords()


def _is_pattern(lowered: str) -> bool:
    """One character repeated, a short piece repeated, or a run along a keyboard or the digits."""
    for size in range(1, 5):
        piece = lowered[:size]
        if (
            len(lowered) > size
            and piece * (len(lowered) // size) + piece[: len(lowered) % size] == lowered
        ):
            return True
    return any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES)


def password_problem(password: str, username: str | None = None) -> str | None:
    """What is wrong with `password` for the user `username`, in the user's language, or None."""
    if len(password) < PASSWORD_MIN:
        return _("Use at least %(count)s characters.", count=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _("Use at most %(count)s characters.", count=PASSWORD_MAX)
    lowered = password.lower()
    name = (username or "").strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        return _("The password must not contain the user name.")
    if _is_pattern(lowered):
        return _(
            "This password is too easy to guess: no repeated characters or keyboard "
            "and number sequences."
        )
    if _is_common(lowered):
        return _("This password is one of the most common ones; choose another.")
    estimate = cheapest(lowered)
    if estimate.log_guesses < GUESSES_MIN_LOG10:
        return _guessable_message(estimate.kinds)
    return None


# How a refusal names each kind of piece it found.
PIECE_WORDS = {
    PieceKind.COMMON: _l("a common password or word"),
    PieceKind.MEANINGFUL_NUMBER: _l("a number that means something, such as 520 or 1314"),
    PieceKind.PINYIN: _l("a name or word in pinyin"),
    PieceKind.DATE: _l("a date or a year"),
    PieceKind.KEYBOARD: _l("a keyboard or keypad pattern, such as qwer or 147258"),
    PieceKind.SEQUENCE: _l("a sequence, such as 1234 or abcd"),
    PieceKind.REPEAT: _l("repeated characters"),
}


def _guessable_message(kinds: tuple[PieceKind, ...]) -> str:
    """Why a password made of predictable pieces is refused, naming the pieces."""
    if not kinds:
        return _("This password is too easy to guess; make it longer or less regular.")
    locale = get_locale() or "en"
    pieces = format_list([str(PIECE_WORDS[k]) for k in kinds], locale=locale)
    return _(
        "This password is too easy to guess: it is made of %(pieces)s. Add words or "
        "characters that follow no pattern.",
        pieces=pieces,
    )


class StrongPassword:
    """WTForms validator for the password rule; the user name comes from another field of the
    form (`username_field`) or from a callable (`username`), e.g. the signed-in user."""

    def __init__(self, username_field: str | None = None, username=None) -> None:
        self.username_field = username_field
        self.username = username

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        name = None
        if self.username_field is not None:
            name = getattr(form, self.username_field).data
        elif self.username is not None:
            name = self.username()
        problem = password_problem(field.data, name)
        if problem:
            raise ValidationError(problem)


PASSWORD_HINT = _l(
    "At least %(count)s characters; not a common password, a sequence or your user name.",
    count=PASSWORD_MIN,
)


def temporary_password() -> str:
    """A strong random password for an administrator's reset, easy to read out and type."""
    alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        candidate = "-".join(groups)
        if password_problem(candidate) is None:
            return candidate
