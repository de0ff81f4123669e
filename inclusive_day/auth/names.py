"""The one rule for user names: the administrators' user form, the sponsors' sign-up, the
command line and sign-in all read a name through it.

A name is NFKC-normalised first, so that the full-width ａｄｍｉｎ is admin; it then holds 3 to
80 characters, each a Latin letter, a digit, a Chinese character or one of . @ + - _, so
that no invisible character (a zero-width space, a soft hyphen), no space and no letter of
another script that looks Latin (Cyrillic а) can make a look-alike of someone else's name.
Names compare without regard to case. A few names (admin, 管理员, ...) only an administrator
may give: a sign-up that asks for one is told the same as for a name that is taken.
"""

from __future__ import annotations

import re
import unicodedata

USERNAME_MIN = 3
USERNAME_MAX = 80
# Latin letters, digits, the CJK ideographs (with extension A) and . @ + - _ only.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@+\-\u3400-\u4dbf\u4e00-\u9fff]+$")
# Names that would pass for the site's own staff, whatever digits or signs are added.
RESERVED_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "system",
        "sysadmin",
        "superuser",
        "support",
        "staff",
        "official",
        "webmaster",
        "postmaster",
        "security",
        "moderator",
        "inclusiveday",
        "管理员",
        "系统",
        "客服",
        "官方",
        "工会",
        "总工会",
    }
)
_DIGITS_AND_SIGNS = re.compile(r"[0-9._@+\-]+")


def normalise_username(text: str | None) -> str:
    """The name as it is stored and compared: NFKC-normalised, without surrounding spaces."""
    return unicodedata.normalize("NFKC", text or "").strip()


def username_key(text: str | None) -> str:
    """What two names that must not both exist share: the normalised name, lower-cased."""
    return normalise_username(text).lower()


def is_valid_username(name: str) -> bool:
    """True when a normalised name has the allowed length and characters."""
    return USERNAME_MIN <= len(name) <= USERNAME_MAX and bool(USERNAME_PATTERN.match(name))


def is_reserved_username(name: str) -> bool:
    """True for a name only an administrator may give (admin, admin_1, 管理员 ...)."""
    return _DIGITS_AND_SIGNS.sub("", username_key(name)) in RESERVED_NAMES
