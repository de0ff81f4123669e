"""The SMS gateway the "send the card to my number" path uses, once one is configured.

POINTS_SMS_GATEWAY names a factory as "package.module:name"; called with the app's config, it
returns an object with `send(phone, text)`. Unset, the path is not offered. The number goes to
the gateway and nowhere else: it is never stored.
"""

from __future__ import annotations

from typing import Protocol

from flask import current_app
from werkzeug.utils import import_string


class SmsGateway(Protocol):
    """Something that sends one text message to one mainland mobile number."""

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone` (11 digits); raise on failure."""


def configured_gateway() -> SmsGateway | None:
    """The gateway POINTS_SMS_GATEWAY names, made from the app's config; None when unset."""
    name = current_app.config.get("POINTS_SMS_GATEWAY")
    if not name:
        return None
    factory = import_string(name.replace(":", ".")) if isinstance(name, str) else name
    return factory(current_app.config)
