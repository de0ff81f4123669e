"""Festival dates: the Chinese festivals and solar terms of a year."""

from inclusive_day.activities import bp  # noqa: F401
