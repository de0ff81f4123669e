"""Bar charts drawn on the server as SVG: no script, the same drawing on the page and in the PDF.

Each function takes labels and whole numbers (already in the reader's language) and returns
inline SVG markup sized by its viewBox, so CSS scales it to the width it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BRAND_RED = "#c8102e"
GOLD = "#f6c343"
GRID = "#e6e1da"
INK = "#2b2b2b"
MUTED = "#6c757d"
FONT = (
    "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, an optional second line under the label, and a colour."""

    label: str
    value: int
    note: str = ""
    colour: str = ""
    group: str = ""  # a third line under the label, such as the year at each January


def text_width(text: str, size: float) -> float:
    """Estimated width of `text` at `size`: CJK and full-width characters 1 em, others 0.6."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def nice_max(value: int) -> int:
    """A round number at or above `value` for the top of an axis, at most a third above it
    once past 10 (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^n): a column chart spends its
    height on its columns, not on empty grid."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return 10 * magnitude


def _shorten(text: str, size: float, width: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _svg(width: float, height: float, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-label="{escape(title)}" font-family="{FONT}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def column_chart(
    bars: Sequence[Bar], title: str, fmt: Callable[[int], str], width: int = 680
) -> Markup:
    """Vertical columns (one per month, say) with the value above and two label lines below."""
    height, top, bottom, left, right = 240, 26, 58, 8, 8
    plot_h = height - top - bottom
    count = max(len(bars), 1)
    slot = (width - left - right) / count
    bar_w = min(slot * 0.62, 56)
    peak = nice_max(max((b.value for b in bars), default=0))
    size = 12 if slot >= 60 else 10 if slot >= 40 else 8
    body = []
    for i in range(1, 5):  # light gridlines at quarters
        y = top + plot_h * (1 - i / 4)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
    base = top + plot_h
    body.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#b9b2a9"/>'
    )
    best = max((b.value for b in bars), default=0)
    for i, b in enumerate(bars):
        x = left + slot * i + (slot - bar_w) / 2
        h = plot_h * b.value / peak if peak else 0
        colour = b.colour or (BRAND_RED if b.value == best and best else "#d9626f")
        if h > 0:
            body.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'rx="2" fill="{colour}"/>'
            )
        cx = x + bar_w / 2
        body.append(
            f'<text x="{cx:.1f}" y="{base - h - 6:.1f}" text-anchor="middle" font-size="{size}" '
            f'font-weight="700" fill="{INK}">{escape(fmt(b.value))}</text>'
        )
        label = _shorten(b.label, size, slot - 2)
        body.append(
            f'<text x="{cx:.1f}" y="{base + size + 6:.1f}" text-anchor="middle" '
            f'font-size="{size}" fill="{INK}">{escape(label)}</text>'
        )
        if b.note:
            note = _shorten(b.note, size - 1, slot - 2)
            body.append(
                f'<text x="{cx:.1f}" y="{base + 2 * size + 11:.1f}" text-anchor="middle" '
                f'font-size="{size - 1}" fill="{MUTED}">{escape(note)}</text>'
            )
        if b.group:
            body.append(
                f'<text x="{x - (slot - bar_w) / 2 + 2:.1f}" y="{base + 3 * size + 17:.1f}" '
                f'font-size="{size - 1}" font-weight="700" fill="{BRAND_RED}">'
                f"{escape(b.group)}</text>"
            )
    return _svg(width, height, body, title)


def bar_chart(
    bars: Sequence[Bar], title: str, fmt: Callable[[int], str], width: int = 680
) -> Markup:
    """Horizontal bars, longest first as given, each labelled on the left and valued at its end."""
    size, row, gap = 12, 22, 6
    label_w = min(max((text_width(b.label, size) for b in bars), default=0) + 10, width * 0.36)
    value_w = max((text_width(fmt(b.value), size) for b in bars), default=0) + 12
    plot_w = width - label_w - value_w
    peak = max((b.value for b in bars), default=0) or 1
    height = max(len(bars), 1) * (row + gap) + gap
    body = []
    for i, b in enumerate(bars):
        y = gap + i * (row + gap)
        label = _shorten(b.label, size, label_w - 10)
        body.append(
            f'<text x="{label_w - 8:.1f}" y="{y + row * 0.7:.1f}" text-anchor="end" '
            f'font-size="{size}" fill="{INK}">{escape(label)}</text>'
        )
        body.append(
            f'<rect x="{label_w:.1f}" y="{y}" width="{plot_w:.1f}" height="{row}" rx="3" '
            f'fill="#f3efe9"/>'
        )
        w = plot_w * b.value / peak
        if w > 0:
            body.append(
                f'<rect x="{label_w:.1f}" y="{y}" width="{max(w, 2):.1f}" height="{row}" rx="3" '
                f'fill="{b.colour or BRAND_RED}"/>'
            )
        body.append(
            f'<text x="{label_w + max(w, 2) + 6:.1f}" y="{y + row * 0.7:.1f}" '
            f'font-size="{size}" font-weight="700" fill="{INK}">{escape(fmt(b.value))}</text>'
        )
    return _svg(width, height, body, title)
