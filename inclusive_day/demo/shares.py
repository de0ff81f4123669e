"""Splitting a total into whole parts that add up to it exactly, for the demo generators."""

from __future__ import annotations

from collections.abc import Sequence


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights` by largest remainder, so the parts add up."""
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    parts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - quotas[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts
