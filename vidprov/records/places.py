"""Where footage is said (or found) to have been filmed.

A :class:`PlaceClaim` can carry any mix of a place name, an ISO 3166 country
and subdivision code, a point with a radius, and a GeoJSON geometry, plus
its basis ("stated by publisher", "geolocated", ...). Codes are checked
against ``pycountry``'s copy of ISO 3166, so no network is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pycountry

from ..errors import ValidationError
from ._fields import check_number, check_optional, check_optional_text
from ._serial import DictReader, nested_dict

POINT_SYNTAX = "'lat,lon' in decimal degrees, such as '44.34,131.66'"

# Kosovo has no ISO 3166-1 code yet; XK is the user-assigned code that
# GeoNames (and so the offline place lookup) and the EU use for it.
_EXTRA_COUNTRIES = frozenset({"XK"})

_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_SUBDIVISION = re.compile(r"(?P<country>[A-Z]{2})-[A-Z0-9]{1,3}", re.ASCII)
# An exponent is allowed because programs that print floats write 1e-06.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
_POINT = re.compile(rf"\s*(?P<lat>{_NUMBER})\s*,\s*(?P<lon>{_NUMBER})\s*", re.ASCII)


@dataclass(frozen=True, kw_only=True)
class Point:
    """A WGS 84 point; ``radius_m`` says how far off it may be (None: not stated)."""

    lat: float
    lon: float
    radius_m: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lat", check_number("lat", self.lat, minimum=-90, maximum=90))
        object.__setattr__(self, "lon", check_number("lon", self.lon, minimum=-180, maximum=180))
        object.__setattr__(self, "radius_m", check_number("radius_m", self.radius_m, minimum=0,
                                                           required=False))

    def __str__(self) -> str:
        text = f"{self.lat:g},{self.lon:g}"
        return text if self.radius_m is None else f"{text} (±{self.radius_m:g} m)"

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "radius_m": self.radius_m}

    @classmethod
    def from_dict(cls, data: Any, where: str = "point") -> Point:
        reader = DictReader(data, where)
        point = cls(lat=reader.value("lat", float), lon=reader.value("lon", float),
                    radius_m=reader.optional("radius_m", float))
        reader.finish()
        return point


def parse_point(text: str, *, radius_m: float | None = None) -> Point:
    """Parse ``"44.34,131.66"`` (latitude first, as map apps copy it)."""
    if not isinstance(text, str):
        raise ValidationError("point", text, POINT_SYNTAX)
    match = _POINT.fullmatch(text)
    if match is None:
        raise ValidationError("point", text, POINT_SYNTAX)
    return Point(lat=float(match["lat"]), lon=float(match["lon"]), radius_m=radius_m)


# ---------------------------------------------------------------- GeoJSON

Position = tuple[float, ...]

_SIMPLE_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_GEOMETRY_TYPES = _SIMPLE_TYPES + ("GeometryCollection",)


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """An RFC 7946 GeoJSON geometry, held as nested tuples so that it stays immutable.

    Positions are ``(lon, lat)`` or ``(lon, lat, altitude)``, as GeoJSON
    orders them. Nested GeometryCollections are refused (RFC 7946 §3.1.8
    advises against them).
    """

    type: str
    coordinates: tuple[Any, ...] = ()
    geometries: tuple[Geometry, ...] = ()

    def __post_init__(self) -> None:
        where = "geometry"
        if self.type not in _GEOMETRY_TYPES:
            raise ValidationError(f"{where}.type", self.type, f"one of: {', '.join(_GEOMETRY_TYPES)}")
        if self.type == "GeometryCollection":
            if self.coordinates:
                raise ValidationError(f"{where}.coordinates", self.coordinates,
                                      "no coordinates on a GeometryCollection (use geometries)")
            members = tuple(self.geometries)
            for member in members:
                if not isinstance(member, Geometry) or member.type == "GeometryCollection":
                    raise ValidationError(f"{where}.geometries", member,
                                          "Geometry objects other than GeometryCollection")
            object.__setattr__(self, "geometries", members)
            return
        if self.geometries:
            raise ValidationError(f"{where}.geometries", self.geometries,
                                  "no member geometries except on a GeometryCollection")
        depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
                 "Polygon": 2, "MultiPolygon": 3}[self.type]
        coordinates = _check_nested(f"{where}.coordinates", self.coordinates, depth)
        _check_shape(self.type, coordinates)
        object.__setattr__(self, "coordinates", coordinates)

    def to_dict(self) -> dict[str, Any]:
        """The GeoJSON object itself."""
        if self.type == "GeometryCollection":
            return {"type": self.type, "geometries": [member.to_dict() for member in self.geometries]}
        return {"type": self.type, "coordinates": _to_lists(self.coordinates)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "geometry") -> Geometry:
        """Read a GeoJSON geometry object (not a Feature)."""
        reader = DictReader(data, where)
        kind = reader.value("type", str)
        if kind in ("Feature", "FeatureCollection"):
            reader.fail(f"expected a GeoJSON geometry, got a {kind}; pass its 'geometry' instead", "type")
        if kind == "GeometryCollection":
            members = reader.objects("geometries", cls.from_dict)
            reader.finish()
            return cls(type=kind, geometries=members)
        coordinates = reader.value("coordinates", list, default=[])
        reader.finish()
        return cls(type=kind, coordinates=coordinates)  # type: ignore[arg-type]


def _check_nested(field: str, value: Any, depth: int) -> Any:
    if depth == 0:
        return _check_position(field, value)
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise ValidationError(field, value, "nested arrays of [lon, lat] positions")
    return tuple(_check_nested(field, item, depth - 1) for item in value)


def _check_position(field: str, value: Any) -> Position:
    if not isinstance(value, (list, tuple)) or len(value) not in (2, 3):
        raise ValidationError(field, value, "a position [lon, lat] or [lon, lat, altitude]")
    lon = check_number(f"{field} lon", value[0], minimum=-180, maximum=180)
    lat = check_number(f"{field} lat", value[1], minimum=-90, maximum=90)
    rest = tuple(check_number(f"{field} altitude", item) for item in value[2:])
    return (lon, lat, *rest)


def _check_shape(kind: str, coordinates: Any) -> None:
    field = "geometry.coordinates"
    lines = {"LineString": [coordinates], "MultiLineString": list(coordinates)}.get(kind, [])
    for line in lines:
        if len(line) < 2:
            raise ValidationError(field, _to_lists(line), "a LineString of two or more positions")
    polygons = {"Polygon": [coordinates], "MultiPolygon": list(coordinates)}.get(kind, [])
    for polygon in polygons:
        if not polygon:
            raise ValidationError(field, [], "a Polygon with at least one linear ring")
        for ring in polygon:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValidationError(field, _to_lists(ring),
                                      "a closed linear ring: four or more positions, the last equal to the first")


def _to_lists(value: Any) -> Any:
    return [_to_lists(item) for item in value] if isinstance(value, tuple) else value


# -------------------------------------------------------------- PlaceClaim


@dataclass(frozen=True, kw_only=True)
class PlaceClaim:
    """Where footage is said or found to have been filmed, and on what basis.

    ``country`` is an ISO 3166-1 alpha-2 code (plus XK for Kosovo) and
    ``subdivision`` an ISO 3166-2 code such as ``RU-PRI``; both are stored
    upper-case. ``basis`` is free text, for example "stated by publisher" or
    "geolocated".
    """

    name: str | None = None
    country: str | None = None
    subdivision: str | None = None
    point: Point | None = None
    geometry: Geometry | None = None
    basis: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_optional_text("place.name", self.name))
        object.__setattr__(self, "basis", check_optional_text("place.basis", self.basis))
        object.__setattr__(self, "country", check_country("place.country", self.country))
        object.__setattr__(self, "subdivision", check_subdivision("place.subdivision", self.subdivision))
        if self.country and self.subdivision and not self.subdivision.startswith(self.country + "-"):
            raise ValidationError("place.subdivision", self.subdivision,
                                  f"a subdivision of the country given ({self.country}-...)")
        check_optional("place.point", self.point, Point)
        check_optional("place.geometry", self.geometry, Geometry)
        if not any((self.name, self.country, self.subdivision, self.point, self.geometry)):
            raise ValidationError("place", None, "at least one of name, country, subdivision, point, geometry")

    @property
    def country_code(self) -> str | None:
        """The country, given or implied by the subdivision."""
        if self.country:
            return self.country
        return self.subdivision[:2] if self.subdivision else None

    def __str__(self) -> str:
        parts = [self.name, self.subdivision or self.country, str(self.point) if self.point else None,
                 f"GeoJSON {self.geometry.type}" if self.geometry else None]
        text = ", ".join(part for part in parts if part)
        return f"{text} [{self.basis}]" if self.basis else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "country": self.country,
            "subdivision": self.subdivision,
            "point": nested_dict(self.point),
            "geometry": nested_dict(self.geometry),
            "basis": self.basis,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "place") -> PlaceClaim:
        reader = DictReader(data, where)
        place = cls(
            name=reader.optional("name", str),
            country=reader.optional("country", str),
            subdivision=reader.optional("subdivision", str),
            point=reader.nested("point", Point.from_dict, optional=True),
            geometry=reader.nested("geometry", Geometry.from_dict, optional=True),
            basis=reader.optional("basis", str),
        )
        reader.finish()
        return place


def check_country(field: str, value: Any) -> str | None:
    if value is None:
        return None
    code = value.upper() if isinstance(value, str) else value
    if isinstance(code, str) and _COUNTRY.fullmatch(code):
        if code in _EXTRA_COUNTRIES or pycountry.countries.get(alpha_2=code) is not None:
            return code
    raise ValidationError(field, value, "an ISO 3166-1 alpha-2 country code such as 'UA' or 'RU'")


def check_subdivision(field: str, value: Any) -> str | None:
    if value is None:
        return None
    code = value.upper() if isinstance(value, str) else value
    if isinstance(code, str) and _SUBDIVISION.fullmatch(code):
        if pycountry.subdivisions.get(code=code) is not None:
            return code
    raise ValidationError(field, value, "an ISO 3166-2 subdivision code such as 'RU-PRI' or 'UA-14'")


__all__ = ["Geometry", "POINT_SYNTAX", "PlaceClaim", "Point", "check_country", "check_subdivision",
           "parse_point"]
