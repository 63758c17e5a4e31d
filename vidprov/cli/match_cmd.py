"""``vidprov match``, ``vidprov compare`` and ``vidprov index``: has this footage been seen before?"""

from __future__ import annotations

from typing import Any

import click

from .. import match as matching
from ..fingerprint import Fingerprint, index_sampling
from ..index import open_index, resolve_location
from ..index.base import Index
from ..keyframes import format_time
from ..records import Claim, parse_date_claim
from ._base import clip_progress, echo_json, main
from .options import index_option


def _fingerprint(path: str, algorithm: str) -> Fingerprint:
    with clip_progress(click.format_filename(path)) as progress:
        return matching.fingerprint_query(path, algorithm=algorithm, progress=progress)


def _segments(match: matching.Match) -> list[str]:
    return [f"{format_time(s.query_start)}-{format_time(s.query_end)} of the query = "
            f"{format_time(s.reference_start)}-{format_time(s.reference_end)} of the match"
            for s in match.segments]


def _describe(match: matching.Match, number: int, index: Index | None = None) -> list[str]:
    flags = " mirrored" if match.mirrored else ""
    if match.window is not None:
        flags += f" inside {match.window} of the frame"
    if match.cropped:
        flags += " cropped"
    speed = f" speed x{match.speed:.2f}" if abs(match.speed - 1) > 0.03 else ""
    head = f"{number}. " if number else ""
    lines = [f"  {head}clip {match.clip_id if match.clip_id is not None else ''} score {match.score:.2f}  "
             f"covers {match.query_coverage:.0%} of the query, {match.reference_coverage:.0%} of the match  "
             f"{match.matched_frames} frames{flags}{speed}".replace("clip  ", "")]
    lines.append(f"     sha256 {match.reference}")
    if index is not None:
        for appearance in index.records([match.reference]).appearances:
            when = str(appearance.posted_at) if appearance.posted_at else "date unknown"
            who = appearance.publisher or appearance.handle or "unknown publisher"
            lines.append(f"     seen: {who} on {getattr(appearance.platform, 'value', appearance.platform)}, "
                         f"{when}{'  ' + appearance.url if appearance.url else ''}")
    lines += [f"     {line}" for line in _segments(match)]
    return lines


@main.command("match")
@click.argument("clip", type=click.Path(dir_okay=True))
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: query, matches and verdict.")
@click.option("--add", "add_after", is_flag=True, help="Add the clip to the index after matching.")
@click.option("--claimed-date", help="The date now claimed for this clip (e.g. 2024-10-15/2024-10-18), "
                                     "if it is not recorded in the index.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=matching.DEFAULT_THRESHOLD, show_default=True,
              help="Score from which a clip counts as sharing footage.")
def match_command(clip: str, index_location: str | None, as_json: bool, add_after: bool,
                  claimed_date: str | None, threshold: float) -> None:
    """Find every indexed clip that shares footage with CLIP, and say what it means.

    Lists the matches, best first, with the matching segments, then the
    verdict: the earliest known appearance of the footage, whether it
    contradicts the date claimed for CLIP, and whether the places claimed for
    copies of the footage disagree.
    """
    with open_index(index_location, create=add_after) as index:
        query = _fingerprint(clip, index.algorithm)
        found = matching.search(index, query, threshold=threshold, exclude=query.sha256)
        extra: tuple[Claim, ...] = ()
        if claimed_date:
            extra = (Claim(clip_sha256=query.sha256, text=f"claimed date {claimed_date}",
                           date=parse_date_claim(claimed_date)),)
        verdict = matching.provenance(index, query.sha256, found, extra)
        added = None
        if add_after:
            from ..ingest import add as ingest_add

            added = ingest_add(index, clip, fingerprint=query.resampled(index_sampling(query.duration)))
        if as_json:
            data: dict[str, Any] = {
                "query": {"path": clip, "sha256": query.sha256, "duration": query.duration},
                "matches": [m.to_dict() for m in found],
                "verdict": verdict.to_dict(),
            }
            if added is not None:
                data["added"] = {"clip_id": added.clip.id, "created": added.clip.created}
            echo_json(data)
            return
        click.echo(f"query    {click.format_filename(clip)}")
        click.echo(f"         sha256 {query.sha256}, {query.duration or 0:.1f} s, {len(query.frames)} frames hashed")
        count = index.count_clips()
        click.echo(f"index    {index.location} ({count} clip{'' if count == 1 else 's'})")
        click.echo(f"matches  {len(found) or 'none'}")
        for number, item in enumerate(found, start=1):
            for line in _describe(item, number, index):
                click.echo(line)
        click.echo("verdict  " + verdict.summary)
        if verdict.earliest_appearance is not None:
            first = verdict.earliest_appearance
            click.echo(f"         earliest appearance: {first.publisher or first.handle or 'unknown'}, "
                       f"{first.posted_at}, {first.url or 'no URL'}")
        if verdict.claimed_date is not None:
            click.echo(f"         claimed date: {verdict.claimed_date}")
        if verdict.date_conflict is not None:
            click.echo(f"         date conflict: first posted {verdict.date_conflict.days:.1f} days before the "
                       "earliest claimed date")
        for conflict in verdict.place_conflicts:
            click.echo(f"         place conflict: {conflict.first['place']} vs {conflict.second['place']} "
                       f"({conflict.reason})")
        if added is not None:
            state = "added" if added.clip.created else "already indexed"
            click.echo(f"added    clip {added.clip.id} ({state})")


@main.command("compare")
@click.argument("first", type=click.Path(dir_okay=True))
@click.argument("second", type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--algorithm", type=click.Choice(["pdq", "phash", "phash256"]), default="pdq", show_default=True,
              help="Frame hash used for both clips.")
def compare_command(first: str, second: str, as_json: bool, algorithm: str) -> None:
    """Compare two clips directly, with no index.

    Prints the score, the matching segments and a verdict: same footage,
    partial overlap or unrelated. The first clip is looked for in the second
    and the second in the first, and the stronger match is shown: a cropped
    copy, a 9:16 window or a screen recording matches its source in either
    order. Segments and coverage are always told from the first clip's side.
    """
    query = _fingerprint(first, algorithm)
    other = _fingerprint(second, algorithm)
    comparison = matching.compare_clips(query, other)
    result = comparison.match
    if as_json:
        echo_json({"first": {"path": first, "sha256": query.sha256}, "second": {"path": second,
                   "sha256": other.sha256}, **comparison.to_dict()})
        return
    click.echo(f"{comparison.verdict}")
    if result is None:
        click.echo("  no frames of either clip line up in time with frames of the other")
        return
    if comparison.reversed:
        click.echo("  found the other way round, the second clip looked for in the first")
    for line in _describe(result, 0):
        click.echo(line)


@main.group("index")
def index_group() -> None:
    """Look after the index: its version, its size, its schema."""


@index_group.command("info")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def index_info(index_location: str | None, as_json: bool) -> None:
    """Where the index is, its backend, schema version, algorithm and size."""
    with open_index(index_location) as index:
        data = {"location": index.location, "backend": index.backend, "schema_version": index.schema_version(),
                "algorithm": index.algorithm, "clips": index.count_clips()}
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:<15} {value}")


@index_group.command("migrate")
@index_option
def index_migrate(index_location: str | None) -> None:
    """Bring the index schema up to this vidprov's version (creating the index if need be)."""
    with open_index(index_location, create=True) as index:
        applied = index.migrate()
        version = index.schema_version()
    location = resolve_location(index_location)
    if applied:
        click.echo(f"{location}: migrated to schema version {version} (applied {', '.join(map(str, applied))})")
    else:
        click.echo(f"{location}: schema version {version} is current")


@index_group.command("optimize")
@index_option
def index_optimize(index_location: str | None) -> None:
    """Fold recently added postings into the posting lists (it also happens by itself)."""
    with open_index(index_location) as index:
        optimize = getattr(index, "optimize", None)
        if optimize is not None:
            optimize()
        click.echo(f"{index.location}: optimized")
