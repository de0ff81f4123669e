"""Volunteer teams (志愿服务队), their members and skills, and the hours they serve at stations
and activities, confirmed by the station's administrator or the activity's organiser."""

from flask import Blueprint

bp = Blueprint("volunteers", __name__)
