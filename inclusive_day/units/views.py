"""The tree page and unit management."""

from inclusive_day.units import bp  # noqa: F401
