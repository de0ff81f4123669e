"""The goods-sharing shelf (爱心互献): goods put on a station's shelf and taken from it, stock
that never goes below zero, per-person limits, and what was given and taken over any subtree."""

from flask import Blueprint

bp = Blueprint("shelf", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # a station's shelf for its staff, and the rollup of a subtree's shelves
    "views_public",  # what a shelf holds now, and a worker's own taking, on the phone
)
