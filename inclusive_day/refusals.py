"""The one shape of a service's refusal: a reason code for code to read, a message for people."""

from __future__ import annotations

from enum import StrEnum


class Refused(ValueError):
    """Input a service will not take: `code` (its domain's Refusal) says why for code to read,
    `message` for people, in their language; `field` names the input at fault, if one is.
    Views and the API map codes to answers; services never know HTTP statuses."""

    def __init__(self, message, code: StrEnum, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field
