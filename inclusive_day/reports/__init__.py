"""Aggregations over any subtree and period; recaps and league tables build on them."""
