"""The public QR check-in pages (no sign-in): an activity's and a station door's."""

from inclusive_day.attendance import bp  # noqa: F401
