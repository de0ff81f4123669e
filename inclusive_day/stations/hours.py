"""Opening hours as people write them: "24小时", "08:00-20:00", "8:00-12:00，14:00-18:00".

A station is either open round the clock (often unattended, opened by QR scan) or open in
one or more daily periods; a period that ends before it starts runs past midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from flask_babel import lazy_gettext as _l

# Spellings of "open round the clock" in forms and spreadsheets.
ROUND_THE_CLOCK = {
    "24",
    "24h",
    "24小时",
    "24小时开放",
    "24小时无人值守",
    "全天",
    "全天候",
    "全天开放",
    "24hours",
    "24/7",
    "allday",
    "roundtheclock",
}
_PERIOD = re.compile(r"^(\d{1,2})[:：](\d{2})\s*(?:-|－|–|—|~|～|至|到)\s*(\d{1,2})[:：](\d{2})$")
_SEPARATORS = re.compile(r"[,，;；、/\s]+")
MAX_PERIODS = 4


class HoursError(ValueError):
    """Opening hours that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class OpeningHours:
    """When a station is open: round the clock, or daily periods."""

    open_24h: bool
    periods: tuple[tuple[time, time], ...] = ()

    @property
    def text(self) -> str:
        """The canonical spelling stored on the station ("" when open round the clock)."""
        return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in self.periods)

    def is_open_at(self, moment: time) -> bool:
        """True when the station is open at local time `moment`."""
        if self.open_24h:
            return True
        for start, end in self.periods:
            if start <= end and start <= moment < end:
                return True
            if start > end and (moment >= start or moment < end):
                return True
        return False


def _clock(hours: str, minutes: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(23, 59)
    if h > 23 or m > 59:
        raise HoursError(_l("%(value)s is not a time of day", value=f"{hours}:{minutes}"))
    return time(h, m)


def parse_hours(text: str | None, open_24h: bool = False) -> OpeningHours:
    """Read opening hours, raising HoursError with a readable reason when they are malformed."""
    raw = (text or "").strip()
    compact = re.sub(r"[\s()（）]", "", raw).lower()
    if open_24h or compact in ROUND_THE_CLOCK:
        return OpeningHours(open_24h=True)
    if not raw:
        raise HoursError(_l('Give opening hours such as "08:00-20:00", or "24 hours".'))
    normalised = re.sub(r"\s*(-|－|–|—|~|～|至|到)\s*", r"\1", raw)
    periods = []
    for part in filter(None, _SEPARATORS.split(normalised)):
        match = _PERIOD.match(part)
        if not match:
            raise HoursError(
                _l(
                    '"%(value)s" is not a period such as "08:00-20:00".',
                    value=part,
                )
            )
        start, end = _clock(*match.group(1, 2)), _clock(*match.group(3, 4))
        if start == end:
            raise HoursError(_l('"%(value)s" opens and closes at the same time.', value=part))
        periods.append((start, end))
    if len(periods) > MAX_PERIODS:
        raise HoursError(_l("At most %(n)d opening periods a day.", n=MAX_PERIODS))
    return OpeningHours(open_24h=False, periods=tuple(sorted(periods)))
