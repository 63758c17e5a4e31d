"""``vidprov places``: offline candidates for a name or a coordinate."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from vidprov.cli import main
from vidprov.records.gazetteer import places_available

pytestmark = pytest.mark.skipif(not places_available(), reason="the places extra is not installed")


def test_point_gives_country_region_and_nearest_places() -> None:
    result = CliRunner().invoke(main, ["places", "44.34,131.66", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["countries"][0] == "RU"
    assert data["nearest"][0]["name"] == "Sergeyevka"


def test_name_gives_candidates_and_picks_none() -> None:
    result = CliRunner().invoke(main, ["places", "Vladivostok"])
    assert result.exit_code == 0
    assert "1 candidate place" in result.stdout and "RU" in result.stdout


def test_out_of_range_point_is_one_line() -> None:
    result = CliRunner().invoke(main, ["places", "95,10"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "vidprov: error: lat: 95.0 is not allowed; expected a number from -90 to 90"
