"""Synthetic people for the demos: mobile numbers, the identities a scan of them would store,
and numbers that never repeat within a run.

An identity is what attendance.identity.identity_for stores for a phone number: the app's
keyed hash of it. The demos hash hundreds of thousands of numbers, so they use
`identity_hasher`, the same HMAC with its key schedule done once.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

MOBILE_PREFIXES = tuple(
    str(n)
    for n in (130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 157, 158)
    + (159, 166, 173, 175, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 199)
)
# 3**16: coprime with 10**8, so serial * STRIDE walks every 8-digit tail once before repeating.
STRIDE = 43_046_721


def identity_hasher(key: bytes) -> Callable[[bytes], str]:
    """attendance.identity.identity_for of a normalised number (as bytes), in half the time:
    HMAC-SHA256 (RFC 2104) with the key's inner and outer states hashed once."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def identity(phone: bytes) -> str:
        digest = inner.copy()
        digest.update(phone)
        result = outer.copy()
        result.update(digest.digest())
        return result.hexdigest()

    return identity


def mobile(rng: random.Random) -> str:
    """A mainland mobile number, as staff contacts are written down."""
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


class Phones:
    """Distinct synthetic mobile numbers (as bytes, ready to hash): within one run no tail of
    eight digits comes twice, whatever the prefix."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.offset = rng.randrange(10**8)
        self.serial = 0
        self.prefixes = [p.encode() for p in MOBILE_PREFIXES]

    def take(self, count: int) -> list[bytes]:
        """`count` new numbers."""
        random, prefixes, offset = self.rng.random, self.prefixes, self.offset
        first = self.serial
        self.serial += count
        return [
            prefixes[int(random() * len(prefixes))] + b"%08d" % ((offset + s * STRIDE) % 10**8)
            for s in range(first, first + count)
        ]
