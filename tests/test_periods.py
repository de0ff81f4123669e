"""The one zone rule: a unit's own zone when it names one that exists, else China's."""

from zoneinfo import ZoneInfo

import pytest

from inclusive_day.periods import DEFAULT_ZONE, zone_of


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Asia/Urumqi", ZoneInfo("Asia/Urumqi")),
        ("Asia/Shanghai", DEFAULT_ZONE),
        (None, DEFAULT_ZONE),
        ("", DEFAULT_ZONE),
        ("Mars/Olympus_Mons", DEFAULT_ZONE),
        ("Asia", DEFAULT_ZONE),  # a folder of zones, not a zone
        ("../etc/passwd", DEFAULT_ZONE),
    ],
)
def test_a_unit_is_in_its_own_zone_or_else_chinas(name, zone):
    assert zone_of(name) == zone
