"""The server-drawn charts: the axis top is round and close above the tallest column."""

import re

import pytest

from inclusive_day.reports.charts import Bar, column_chart, nice_max


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (7, 8), (10, 10), (27_119, 30_000), (12_520, 15_000), (1_123, 1_250)],
)
def test_the_axis_top_is_round_and_close_above_the_peak(value, top):
    assert nice_max(value) == top


def test_no_peak_leaves_more_than_a_third_of_the_plot_empty():
    for value in range(11, 200_000, 97):
        assert value <= nice_max(value) <= value * 4 / 3 + 1


def test_the_tallest_column_reaches_most_of_the_plot():
    svg = str(column_chart([Bar("Jan", 27_119), Bar("Feb", 5_987)], "Served", str))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    plot = 240 - 26 - 58
    assert max(heights) > 0.85 * plot
