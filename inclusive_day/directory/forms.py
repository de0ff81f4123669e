"""The directory's search form: a GET form (no CSRF token: it changes nothing)."""

from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError

from inclusive_day.directory.queries import Filters, find_unit
from inclusive_day.stations.geo import Point
from inclusive_day.stations.models import Amenity, HostType, Label
from inclusive_day.stations.queries import by_code

MAX_TEXT = 100


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _coordinate(text: str | None, limit: float, message) -> float | None:
    """A finite number within ±limit, or None when nothing was given."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(message) from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValidationError(message)
    return value


class DirectorySearchForm(FlaskForm):
    """Search stations by text, district, amenities and distance from a point."""

    class Meta:
        csrf = False

    q = StringField(_l("Station name, address or code"), filters=[_strip])
    unit = SelectField(_l("District (county)"), choices=[], validate_choice=False)
    amenity = SelectMultipleField(_l("Amenities"), choices=[], validate_choice=False)
    type = SelectField(_l("Host type"), choices=[], validate_choice=False)
    label = SelectField(_l("Label"), choices=[], validate_choice=False)
    lat = HiddenField()
    lon = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.amenity.choices = Amenity.choices()
        self.found_unit = None
        self.found_type: HostType | None = None
        self.found_label: Label | None = None
        self.point: Point | None = None

    def validate_q(self, field) -> None:
        """Searches longer than a station's name are typing slips; say so."""
        if len(field.data or "") > MAX_TEXT:
            raise ValidationError(_l("Search for at most %(n)d characters.", n=MAX_TEXT))

    def validate_unit(self, field) -> None:
        """The unit must exist (any level: a link may name a city or a street)."""
        text = (field.data or "").strip()
        if not text:
            return
        unit = find_unit(int(text)) if text.isdigit() and len(text) < 10 else None
        if unit is None:
            raise ValidationError(_l("There is no such district; choose one from the list."))
        self.found_unit = unit

    def validate_amenity(self, field) -> None:
        """Only amenities from the catalogue."""
        known = {a.value for a in Amenity}
        unknown = [v for v in field.data or [] if v not in known]
        if unknown:
            raise ValidationError(_l('"%(value)s" is not a known amenity.', value=unknown[0]))

    def validate_type(self, field) -> None:
        """A host type from the catalogue, by its code."""
        text = (field.data or "").strip()
        if text:
            self.found_type = by_code(HostType, text)
            if self.found_type is None:
                raise ValidationError(_l('"%(value)s" is not a host type.', value=text[:40]))

    def validate_label(self, field) -> None:
        """A label from the catalogue, by its code."""
        text = (field.data or "").strip()
        if text:
            self.found_label = by_code(Label, text)
            if self.found_label is None:
                raise ValidationError(_l('"%(value)s" is not a label.', value=text[:40]))

    def validate_lat(self, field) -> None:
        """Latitude: a number from -90 to 90."""
        _coordinate(field.data, 90, _l("The latitude must be a number from -90 to 90."))

    def validate_lon(self, field) -> None:
        """Longitude: a number from -180 to 180, given together with a latitude."""
        lon = _coordinate(field.data, 180, _l("The longitude must be a number from -180 to 180."))
        try:
            lat = _coordinate(self.lat.data, 90, "")
        except ValidationError:
            return  # the latitude's own message says what is wrong
        if (lat is None) != (lon is None):
            raise ValidationError(_l("Your location needs both a latitude and a longitude."))
        if lat is not None and lon is not None:
            self.point = Point(lat, lon)

    def filters(self) -> Filters:
        """The search the valid parts of the form ask for (a wrong part is left out)."""
        chosen = set(self.amenity.data or [])
        return Filters(
            text="" if self.q.errors else (self.q.data or "")[:MAX_TEXT],
            unit=self.found_unit,
            amenities=() if self.amenity.errors else tuple(a for a in Amenity if a.value in chosen),
            near=self.point,
            host_type=self.found_type,
            label=self.found_label,
        )

    @property
    def error_messages(self) -> list[str]:
        """Every message of every field, in field order."""
        return [
            str(m)
            for name in ("q", "unit", "amenity", "type", "label", "lat", "lon")
            for m in self[name].errors
        ]
