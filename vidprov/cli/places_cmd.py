"""``vidprov places``: offline candidate places for a name or a coordinate."""

from __future__ import annotations

import click

from ..metadata.text import printable
from ..records import gazetteer
from ._base import echo_json, main


def _line(place: gazetteer.PlaceCandidate) -> str:
    distance = f"  {place.distance_m / 1000:.1f} km away" if place.distance_m is not None else ""
    region = f", region {place.region_code}" if place.region_code else ""
    return (f"  {printable(place.name)} ({place.country}{region})  {place.lat:.4f},{place.lon:.4f}  "
            f"population {place.population:,}{distance}  geonames {place.geonameid}")


@main.command("places")
@click.argument("query")
@click.option("--country", help="Only places in this country (ISO 3166 alpha-2), for a name.")
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True, help="Most candidates shown.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def places_command(query: str, country: str | None, limit: int, as_json: bool) -> None:
    """Candidate places for a NAME, or the country, region and nearest places of LAT,LON.

    Offline, from the GeoNames data the places extra ships
    (pip install "vidprov[places]"). These are candidates for a person to
    choose from: nothing is picked or recorded automatically.

    \b
    Examples:
      vidprov places Vladivostok
      vidprov places 44.34,131.66
    """
    looks_like_point = "," in query and all(part.strip().lstrip("+-").replace(".", "", 1).isdigit()
                                            for part in query.split(",", 1))
    if looks_like_point:
        found = gazetteer.lookup_point(query, limit=limit)
        if as_json:
            echo_json(found.to_dict())
            return
        click.echo(f"{query}: country {found.country or ' or '.join(found.countries) or 'unknown'}, "
                   f"region {found.region_code or ' or '.join(found.region_codes) or 'unknown'}")
        click.echo("nearest places:")
        for place in found.nearest:
            click.echo(_line(place))
        return
    candidates = gazetteer.lookup_name(query, country=country, limit=limit)
    if as_json:
        echo_json({"name": query, "candidates": [c.to_dict() for c in candidates]})
        return
    click.echo(f"{printable(query)}: {len(candidates) or 'no'} candidate place{'s' if len(candidates) != 1 else ''}")
    for place in candidates:
        click.echo(_line(place))
