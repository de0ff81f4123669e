"""A gift in words ("为基层民辅警免费种植牙 100颗", "现金 5,000 元"): the one wording that the
honour roll, receipts, the sponsor's dashboard and the recap all use."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _

from inclusive_day.sponsors.models import DonationKind


def quantity_text(quantity: Decimal) -> str:
    """A count without needless decimals: 100, 2.5, 1,000."""
    if quantity == quantity.to_integral_value():
        return format_decimal(int(quantity), format="#,##0")
    return format_decimal(quantity, format="#,##0.##")


def money_text(value: Decimal) -> str:
    """Yuan with grouping and, only when there are fen, two decimals."""
    if value == value.to_integral_value():
        return format_decimal(int(value), format="#,##0")
    return format_decimal(value, format="#,##0.00")


def gift_in_words(
    kind: DonationKind, description: str, quantity: Decimal | None, unit_label: str, value: Decimal
) -> str:
    """What was given, as a reader says it; cash by its amount, things and services by count."""
    if kind is DonationKind.CASH or quantity is None:
        return _("%(amount)s yuan in cash", amount=money_text(value))
    return _(
        "%(what)s: %(quantity)s %(unit)s",
        what=description,
        quantity=quantity_text(quantity),
        unit=unit_label,
    ).strip()
