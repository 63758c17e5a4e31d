"""Place claims: coordinates, ISO 3166 codes and GeoJSON geometries."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidprov.errors import FormatError, ValidationError, VidprovError
from vidprov.records import Geometry, PlaceClaim, Point, parse_point


def test_parse_point_latitude_first() -> None:
    assert parse_point("44.34,131.66") == Point(lat=44.34, lon=131.66)
    assert parse_point(" -33.8688 , 151.2093 ", radius_m=250) == Point(lat=-33.8688, lon=151.2093, radius_m=250.0)
    assert parse_point("90,-180") == Point(lat=90.0, lon=-180.0)
    assert parse_point("1e-06,-0.5E1") == Point(lat=0.000001, lon=-5.0)


@pytest.mark.parametrize(("text", "field"), [
    ("91,0", "lat"), ("-90.0001,0", "lat"), ("0,180.5", "lon"), ("0,-181", "lon"),
])
def test_out_of_range_coordinates_name_the_field(text: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_point(text)
    assert caught.value.field == field
    assert "-90 to 90" in str(caught.value) or "-180 to 180" in str(caught.value)


@pytest.mark.parametrize("text", ["", "44.34", "44.34;131.66", "44.34,131.66,10", "N44 E131", "nan,0",
                                  "inf,0", "1e,0", "44,34,131,66", "４４,131"])
def test_unparseable_points(text: str) -> None:
    with pytest.raises(ValidationError, match="lat,lon") as caught:
        parse_point(text)
    assert caught.value.field == "point"


@pytest.mark.parametrize("radius", [-1, float("nan"), float("inf"), True, "5"])
def test_radius_must_be_a_finite_non_negative_number(radius: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Point(lat=0, lon=0, radius_m=radius)  # type: ignore[arg-type]
    assert caught.value.field == "radius_m"


def test_zero_radius_is_allowed() -> None:
    assert Point(lat=0, lon=0, radius_m=0).radius_m == 0.0


def test_place_claim_codes_are_checked_and_upper_cased() -> None:
    place = PlaceClaim(name="Sergeyevka", country="ru", subdivision="ru-pri", basis="stated by publisher")
    assert (place.country, place.subdivision) == ("RU", "RU-PRI")
    assert PlaceClaim(subdivision="UA-14").country_code == "UA"
    assert PlaceClaim(country="XK").country == "XK"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"country": "ZZ"}, "place.country"),
    ({"country": "RUS"}, "place.country"),
    ({"country": 7}, "place.country"),
    ({"subdivision": "RU-XXX"}, "place.subdivision"),
    ({"subdivision": "PRI"}, "place.subdivision"),
    ({"country": "UA", "subdivision": "RU-PRI"}, "place.subdivision"),
    ({}, "place"),
    ({"name": "   "}, "place.name"),
    ({"name": "Kyiv", "point": (50.45, 30.52)}, "place.point"),
])
def test_place_claim_refusals_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PlaceClaim(**kwargs)
    assert caught.value.field == field


def test_place_claim_round_trips() -> None:
    place = PlaceClaim(name="Ussuriysk «центр»", country="RU", subdivision="RU-PRI",
                       point=Point(lat=43.8, lon=131.95, radius_m=1500), geometry=Geometry(
                           type="Polygon", coordinates=[[[131.9, 43.7], [132.0, 43.7], [132.0, 43.9], [131.9, 43.7]]]),
                       basis="geolocated")
    data = json.loads(json.dumps(place.to_dict()))
    assert data["geometry"] == {"type": "Polygon",
                                "coordinates": [[[131.9, 43.7], [132.0, 43.7], [132.0, 43.9], [131.9, 43.7]]]}
    assert PlaceClaim.from_dict(data) == place


GEOJSON_SAMPLES = [
    {"type": "Point", "coordinates": [131.66, 44.34]},
    {"type": "Point", "coordinates": [131.66, 44.34, 120.5]},
    {"type": "MultiPoint", "coordinates": [[131.66, 44.34], [131.7, 44.3]]},
    {"type": "LineString", "coordinates": [[131.66, 44.34], [131.7, 44.3]]},
    {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}]},
]


@pytest.mark.parametrize("geojson", GEOJSON_SAMPLES)
def test_geojson_geometries_round_trip(geojson: dict) -> None:
    geometry = Geometry.from_dict(geojson)
    assert Geometry.from_dict(geometry.to_dict()) == geometry
    assert json.loads(json.dumps(geometry.to_dict())) == json.loads(json.dumps(geojson), parse_int=float)


@pytest.mark.parametrize(("geojson", "message"), [
    ({"type": "Circle", "coordinates": [0, 0]}, "one of: Point"),
    ({"type": "Point", "coordinates": [44.34, 131.66]}, "lat"),  # latitude first is the usual mistake
    ({"type": "Point", "coordinates": [0]}, "position"),
    ({"type": "Point", "coordinates": [0, "1"]}, "number"),
    ({"type": "LineString", "coordinates": [[0, 0]]}, "two or more"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed linear ring"),
    ({"type": "Polygon", "coordinates": []}, "at least one linear ring"),
    ({"type": "GeometryCollection", "geometries": [
        {"type": "GeometryCollection", "geometries": []}]}, "other than GeometryCollection"),
])
def test_bad_geometries_are_refused(geojson: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Geometry.from_dict(geojson)


def test_a_feature_is_not_a_geometry() -> None:
    with pytest.raises(FormatError, match="pass its 'geometry'"):
        Geometry.from_dict({"type": "Feature", "geometry": None, "properties": {}})


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(
    st.text(max_size=30),
    st.builds(lambda a, b: f"{a},{b}", st.floats(allow_nan=True, allow_infinity=True),
              st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda a, b: f"{a:.6f},{b:.6f}", st.floats(-100, 100), st.floats(-200, 200)),
))
def test_point_parser_raises_only_vidprov_errors_and_round_trips(text: str) -> None:
    try:
        point = parse_point(text)
    except VidprovError:
        return
    assert -90 <= point.lat <= 90 and -180 <= point.lon <= 180
    assert math.isfinite(point.lat) and math.isfinite(point.lon)
    assert parse_point(f"{point.lat!r},{point.lon!r}") == point
    assert Point.from_dict(json.loads(json.dumps(point.to_dict()))) == point


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "coordinates", "geometries", "name", "country", "subdivision", "point",
                         "geometry", "basis", "lat", "lon", "radius_m"]) | st.text(max_size=5), inner, max_size=5),
    max_leaves=20)
geometry_dicts = st.builds(
    lambda kind, coordinates: {"type": kind, "coordinates": coordinates},
    st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]),
    st.recursive(st.lists(st.floats(-200, 200) | st.integers(-200, 200), min_size=1, max_size=3),
                 lambda inner: st.lists(inner, max_size=5), max_leaves=20))


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(json_values, geometry_dicts))
def test_reading_any_json_as_a_place_raises_only_vidprov_errors(data: object) -> None:
    for reader in (Geometry.from_dict, PlaceClaim.from_dict, Point.from_dict):
        try:
            value = reader(data)
        except VidprovError:
            continue
        assert reader(json.loads(json.dumps(value.to_dict()))) == value
