"""The goods-sharing shelf (爱心互献): goods put on a station's shelf and taken from it, stock
that never goes below zero, per-person limits, and what was given and taken over any subtree."""
