"""Building the station network: construction targets handed down the tree, coverage goals."""

from flask import Blueprint

bp = Blueprint("construction", __name__)
