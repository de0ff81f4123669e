"""Points (积分兑换): earned for volunteer hours and, where a unit turns it on, for taking part in
activities; spent on shelf goods or station services. One ledger per keyed identity, a balance
that never goes below zero, and a signed card on the phone the worker checks in with."""

from flask import Blueprint

bp = Blueprint("points", __name__)

# The modules whose routes this blueprint holds; create_app imports each of them.
VIEWS = (
    "views",  # the public card pages: /points/card, /points/link/<nonce>, /points/send
    "views_staff",  # spends at /stations/<id>/points, /points/rules, /points/report
)
