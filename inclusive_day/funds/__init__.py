"""Money for the station network: subsidies allocated, union money driven, partners' leveraged."""

from flask import Blueprint

bp = Blueprint("funds", __name__)
