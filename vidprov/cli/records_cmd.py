"""Provenance records on the command line: ``add``, ``claim``, ``assess``, ``verdict``,
``show``, ``list``, ``export`` and ``import``.

The work is done by :mod:`vidprov.ingest` and the index; these commands parse,
call and print. Text that people wrote (captions, names, notes) and text read
from files is printed through :func:`~vidprov.metadata.printable`, so that it
cannot move the cursor or reorder the line it is on.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import click

from .. import ingest
from ..errors import FileAccessError, ValidationError, VidprovError
from ..index import open_index
from ..index.base import ClipFilter, Index, StoredClip
from ..manifest import read_manifest
from ..media import Sampling, check_file
from ..metadata import MediaMetadata, printable
from ..records import (
    Appearance,
    AssessmentKind,
    Claim,
    Platform,
    RecordBundle,
    Timestamp,
    VerdictStatus,
    appearances_csv,
    claims_csv,
    from_json,
    parse_timestamp,
    to_json,
    to_jsonld,
)
from ._base import clip_progress, json_option, main, report_failures, warning_line
from .options import crop_option, index_option, sampling_option
from .output import atomic_output

F = TypeVar("F", bound=Callable[..., Any])

#: Longest free text shown on one line; ``show --json`` gives all of it.
TEXT_LIMIT = 300
_LABEL = 11


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


PLATFORMS = _choices(item.value for item in Platform)
STATUSES = _choices(item.value for item in VerdictStatus)
KINDS = _choices(item.value.replace("_", "-") for item in AssessmentKind)


# ------------------------------------------------------------- options


def place_options(claimed: bool) -> Callable[[F], F]:
    """Where footage was filmed: a name, coordinates with a radius, country and subdivision codes.

    With ``claimed``, the name and coordinates are also spelled ``--claimed-place``
    and ``--claimed-coords``, as ``vidprov add`` names what is claimed.
    """
    place = ("--claimed-place", "--place") if claimed else ("--place",)
    coords = ("--claimed-coords", "--coords") if claimed else ("--coords",)
    options = [
        click.option(*place, "place_name", metavar="NAME", help="A place name, verbatim."),
        click.option(*coords, "coords", metavar="LAT,LON",
                     help="Coordinates in decimal degrees, latitude first (as map apps copy them)."),
        click.option("--radius-m", "radius_m", type=float, metavar="M",
                     help="How far from the coordinates it may be, in metres."),
        click.option("--country", metavar="CC", help="ISO 3166-1 country code, such as RU or UA."),
        click.option("--subdivision", metavar="CODE", help="ISO 3166-2 subdivision code, such as RU-PRI."),
    ]

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def claim_options(func: F) -> F:
    """What someone claims: text, who, when (any date syntax, max-age too) and where."""
    options = [
        click.option("--claim-text", "--text", "claim_text", metavar="TEXT",
                     help="What is claimed, verbatim (a caption, a quote)."),
        click.option("--claimant", metavar="WHO",
                     help="Who claims it, when not the publisher of the appearance."),
        click.option("--claimed-date", "--date", "claimed_date", metavar="DATE",
                     help="When the footage is said to be from: 2024-10-15, 2024-10-15/2024-10-18, "
                          "../2024-10-18, max-age:3d (at most 3 days before the post; h, d or w), unknown."),
    ]
    func = place_options(claimed=True)(func)
    for option in reversed(options):
        func = option(func)
    return func


def _place(place_name: str | None, coords: str | None, radius_m: float | None, country: str | None,
           subdivision: str | None) -> Any:
    return ingest.place_from_parts(name=place_name, coords=coords, radius_m=radius_m, country=country,
                                   subdivision=subdivision)


def _claim_draft(claim_text: str | None, claimant: str | None, claimed_date: str | None,
                 **place: Any) -> ingest.ClaimDraft | None:
    where = _place(**place)
    if claim_text is None and claimant is None and claimed_date is None and where is None:
        return None
    return ingest.ClaimDraft(text=claim_text, claimant=claimant, date=claimed_date, place=where)


def _echo_json(data: Any) -> None:
    # ASCII-only: free text may hold C1 controls and bidi overrides that JSON would pass through.
    click.echo(json.dumps(data, ensure_ascii=True, separators=(",", ":")))


# ----------------------------------------------------------------- add


#: The options that describe one clip's appearance and claim: for a single CLIP only.
RECORD_OPTIONS = ("platform", "url", "publisher", "handle", "posted_at", "info_json", "claim_text", "claimant",
                  "claimed_date", "place_name", "coords", "radius_m", "country", "subdivision")


@main.command("add")
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True), metavar="PATH...")
@index_option
@click.option("--platform", metavar="NAME", help=f"Where it was published: {PLATFORMS} "
                                                 "(default: from the URL's site, else other).")
@click.option("--url", help="The post's address.")
@click.option("--publisher", metavar="NAME", help="Who published it, by name.")
@click.option("--handle", metavar="HANDLE", help="The publisher's account, such as @name.")
@click.option("--posted-at", metavar="TIME", help="When it was posted: 2024-10-18, 2024-10-18T09:15Z, ...")
@click.option("--info-json", type=click.Path(dir_okay=False), metavar="FILE",
              help="Read the appearance from the .info.json yt-dlp wrote beside the clip; "
                   "the options above override what it says.")
@claim_options
@click.option("--manifest", type=click.Path(dir_okay=False), metavar="FILE",
              help="A CSV or JSON table of what was said about each file, one row per file (by path or "
                   "sha256); the files it names by path are added too. See docs/scaling.md.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N",
              help="Use N cores: N files at once, in worker processes that decode on one thread each "
                   "(default: one per CPU).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Fingerprint on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); the "
                   "index is written from here. Needs vidprov[dask], and the files at the same paths on every "
                   "worker.")
@sampling_option(None, "hash", "  [default: 2, more for a clip shorter than 16 s, up to 8, so that it has "
                              "32 frames]")
@crop_option
@json_option
def add_command(paths: tuple[str, ...], index_location: str | None, manifest: str | None, jobs: int | None,
                dask_address: str | None, sampling: Sampling | None, crop: bool, as_json: bool, **records: Any) -> None:
    """Add clips to the index, with where they were published and what was claimed there.

    Each PATH is a clip, or a folder whose video files are all added
    (recursively). Clips are fingerprinted with the index's algorithm and
    their embedded metadata is kept. A clip already indexed (the same bytes)
    is recognised at once, without decoding it, and only new records are
    added; so running the same command again finishes an interrupted one.
    Each clip is stored in one go, or not at all.

    With one CLIP, the options from --platform to --subdivision say where it
    was published and what was claimed; a claimed date of max-age:3d is
    anchored on --posted-at. With several PATHs or a folder, those options
    are refused: each file's records come from the .info.json yt-dlp wrote
    beside it (clip.info.json for clip.mp4) and from its rows in --manifest.
    A file that cannot be added does not stop the others: a summary follows,
    with one line per failure, and the exit code is 1 if any failed.

    \b
    Examples:
      vidprov add clip.mp4 --publisher CSCIS --platform x --url https://x.com/... \\
          --posted-at 2024-10-18 --claimed-date 2024-10-15/2024-10-18 \\
          --claimed-place "Sergeevka training ground" --claimed-coords 44.34,131.66 --radius-m 5000
      vidprov add clip.mp4 --info-json clip.info.json --claimed-date max-age:3d
      vidprov add downloads/ --jobs 4
      vidprov add archive/ --manifest archive.csv --json
    """
    if not paths and manifest is None:
        raise click.UsageError("give a PATH to add (a clip or a folder), or a --manifest that names files by path")
    if jobs is not None and dask_address is not None:
        raise click.UsageError("--jobs and --dask do not go together: with --dask the cluster's workers do the work")
    single = len(paths) == 1 and manifest is None and dask_address is None and not os.path.isdir(paths[0])
    if single:
        _add_one(paths[0], index_location, sampling, crop, as_json, **records)
        return
    given = [name for name in RECORD_OPTIONS if records[name] is not None]
    if given:
        option = "--" + given[0].replace("_", "-").replace("place-name", "claimed-place").replace(
            "coords", "claimed-coords")
        raise click.UsageError(f"{option} describes a single CLIP; with several paths or a folder, give each "
                               "file's records in a .info.json beside it or in --manifest")
    for path in paths:
        # Before the index is opened, so that a mistyped path creates no index.
        if not os.path.lexists(path):
            raise FileAccessError("no such file or folder", path)
    table = read_manifest(manifest) if manifest is not None else None
    with open_index(index_location, create=True) as index, batch_progress() as progress:
        if dask_address is not None:
            with ingest.dask_executor(dask_address) as (executor, workers):
                result = ingest.add_many(index, paths, executor=executor, workers=workers, manifest=table,
                                         sampling=sampling, crop=crop, progress=progress)
        else:
            result = ingest.add_many(index, paths, jobs=jobs, manifest=table, sampling=sampling, crop=crop,
                                     progress=progress)
    if as_json:
        _echo_json(result.to_dict())
    else:
        click.echo(f"added {len(result.added)}, skipped {len(result.skipped)} (indexed already), failed "
                   f"{len(result.failed)} of {len(result.files)} in {result.seconds:.1f} s "
                   f"({result.clips_per_second:.2f} clips/s)")
    for item in result.files:
        for note in item.warnings:
            click.echo(warning_line(printable(note)), err=True)
    for row in result.unmatched_rows:
        click.echo(warning_line(f"{printable(click.format_filename(manifest or ''))}: {row}"), err=True)
    report_failures(VidprovError(printable(item.error or "failed"), printable(click.format_filename(item.path)))
                    for item in result.failed)


@contextlib.contextmanager
def batch_progress() -> Iterator[Callable[[ingest.BatchProgress], None] | None]:
    """A progress bar on stderr for a batch: files done, clips per second and the time left.

    Only when stderr is a terminal, so that pipes and logs stay clean.
    """
    if not sys.stderr.isatty():
        yield None
        return
    bar: Any = None
    shown = 0
    rate = ""

    def update(state: ingest.BatchProgress) -> None:
        nonlocal bar, shown, rate
        if bar is None:
            bar = click.progressbar(length=max(1, state.total), label="adding", file=sys.stderr, show_eta=True,
                                    show_pos=True, width=30, item_show_func=lambda _: rate)
            bar.__enter__()
        rate = f"{state.rate:.2f} clips/s" + (f", {state.failed} failed" if state.failed else "")
        bar.update(state.done - shown, rate)
        shown = state.done

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _add_one(clip: str, index_location: str | None, sampling: Sampling | None, crop: bool, as_json: bool,
             platform: str | None, url: str | None, publisher: str | None, handle: str | None,
             posted_at: str | None, info_json: str | None, claim_text: str | None, claimant: str | None,
             claimed_date: str | None, **place: Any) -> None:
    check_file(clip)  # before the index is opened, so that a mistyped path creates no index
    appearance = ingest.build_appearance(info_json=info_json, platform=platform, url=url, publisher=publisher,
                                         handle=handle, posted_at=posted_at)
    draft = _claim_draft(claim_text, claimant, claimed_date, **place)
    with open_index(index_location, create=True) as index:
        with clip_progress(click.format_filename(clip)) as progress:
            result = ingest.add(index, clip, appearance=appearance, claims=[draft] if draft else [],
                                source_url=appearance.url if info_json and appearance else None,
                                sampling=sampling, crop=crop, progress=progress)
        algorithm = index.algorithm
    if as_json:
        _echo_json(result.to_dict())
        return
    stored = result.clip
    name = printable(click.format_filename(clip))
    if result.created:
        click.echo(f"added clip {stored.id} from {name}")
    else:
        click.echo(f"{name} is already indexed as clip {stored.id}")
    click.echo(_line("sha256", stored.sha256))
    if result.created:
        click.echo(_line("file", _file_facts(stored)))
    if result.fingerprint is not None:
        click.echo(_line("fingerprint", f"{algorithm}, {len(result.fingerprint.frames)} frames hashed"))
    if result.appearance is not None:
        state = "new" if result.appearance_created else "already recorded"
        click.echo(_line("appearance", f"{result.appearance.id}  {_appearance_brief(result.appearance)}  ({state})"))
    for claim, created in zip(result.claims, result.claims_created):
        state = "new" if created else "already recorded"
        click.echo(_line("claim", f"{claim.id}  {_claim_brief(claim)}  ({state})"))


# ------------------------------------------------------- later records


@main.command("claim")
@click.argument("clip")
@index_option
@click.option("--appearance", metavar="ID",
              help="The appearance the claim was made in (its id, or the start of it); "
                   "without it the claim is about the clip, made elsewhere.")
@claim_options
@json_option
def claim_command(clip: str, index_location: str | None, appearance: str | None, claim_text: str | None,
                  claimant: str | None, claimed_date: str | None, as_json: bool, **place: Any) -> None:
    """Record a claim about CLIP: what someone says it shows, when and where.

    CLIP is a clip id, a sha256 prefix of 6 or more hex digits, or the clip file.

    \b
    Examples:
      vidprov claim 3 --appearance 8f2c --text "Filmed this morning" --date max-age:12h
      vidprov claim clip.mp4 --claimant "Source on the phone" --place Ussuriysk --country RU
    """
    draft = _claim_draft(claim_text, claimant, claimed_date, **place)
    with open_index(index_location) as index:
        stored, claims, created = ingest.add_claims(index, clip, [draft] if draft else [], appearance=appearance)
    if as_json:
        _echo_json({"clip_id": stored.id, "sha256": stored.sha256,
                    "claims": [{"id": item.id, "created": new, "record": item.to_dict()}
                               for item, new in zip(claims, created)]})
        return
    for item, new in zip(claims, created):
        state = "recorded" if new else "already recorded"
        click.echo(f"clip {stored.id}: claim {item.id} {state}")
        click.echo(_line("", _claim_brief(item)))


@main.command("assess")
@click.argument("clips", nargs=-1, required=True)
@index_option
@click.option("--kind", required=True, metavar="KIND", help=f"What was established: {KINDS}.")
@click.option("--by", "made_by", required=True, metavar="WHO", help="Who established it (an analyst or team).")
@click.option("--result", required=True, metavar="TEXT", help="What was found, in a sentence.")
@click.option("--evidence-url", metavar="URL", help="Where the evidence is published or kept.")
@place_options(claimed=False)
@click.option("--date", metavar="DATE", help="When the footage was found to be from (2024-10-15, an interval ...).")
@json_option
def assess_command(clips: tuple[str, ...], index_location: str | None, kind: str, made_by: str, result: str,
                   evidence_url: str | None, date: str | None, as_json: bool, **place: Any) -> None:
    """Record what the desk established about exactly these CLIPS.

    An assessment covers only the clips named: a geolocation of earlier
    copies does not cover a new clip until someone assesses that one too.

    \b
    Example:
      vidprov assess 1 2 --kind geolocation --by "TV verification team" \\
          --result "Sergeevka training ground" --coords 44.34,131.66 --radius-m 500
    """
    with open_index(index_location) as index:
        covered = ingest.resolve_clips(index, clips)
        assessment = ingest.assess(index, covered, kind=kind, made_by=made_by, result=result,
                                   evidence_url=evidence_url, place=_place(**place), date=date)
    if as_json:
        _echo_json({"clip_ids": [item.id for item in covered], "assessment": assessment.to_dict()})
        return
    names = ", ".join(f"clip {item.id}" for item in covered)
    click.echo(f"assessment {assessment.id} recorded: {_kind(assessment.kind)} by "
               f"{printable(assessment.made_by, TEXT_LIMIT)}, covering {names}")


@main.command("verdict")
@click.argument("clip")
@index_option
@click.option("--status", required=True, metavar="STATUS", help=f"The desk's verdict: {STATUSES}.")
@click.option("--reviewer", required=True, metavar="WHO", help="Who decided it.")
@click.option("--note", metavar="TEXT", help="Why, in a sentence or two.")
@json_option
def verdict_command(clip: str, index_location: str | None, status: str, reviewer: str, note: str | None,
                    as_json: bool) -> None:
    """Record the desk's verdict on CLIP; the latest verdict is its status.

    \b
    Example:
      vidprov verdict 3 --status recycled --reviewer "Desk editor" --note "Posted in 2022 already"
    """
    with open_index(index_location) as index:
        stored = ingest.resolve_clip(index, clip)
        verdict = ingest.decide(index, stored, status=status, reviewer=reviewer, note=note)
    if as_json:
        _echo_json({"clip_id": stored.id, "verdict": verdict.to_dict()})
        return
    click.echo(f"clip {stored.id}: verdict {verdict.status.value} by {printable(verdict.reviewer, TEXT_LIMIT)} "
               f"recorded ({verdict.id})")


# ---------------------------------------------------------------- show


@main.command("show")
@click.argument("clip")
@index_option
@json_option
def show_command(clip: str, index_location: str | None, as_json: bool) -> None:
    """Everything known about CLIP: the file, what it says, what people claim, what the desk found.

    What the file's own metadata says is kept apart from what people claim
    about the footage, and both apart from what the desk established.
    """
    with open_index(index_location) as index:
        stored = ingest.resolve_clip(index, clip)
        bundle = index.records([stored.sha256])
        fingerprint = index.fingerprint(stored.id)
        metadata = index.metadata(stored.id)
        clip_ids = _clip_ids(index, {sha for item in bundle.assessments for sha in item.clip_sha256s})
    if as_json:
        verdict = bundle.current_verdict(stored.sha256)
        if metadata is not None:
            metadata = {key: value for key, value in metadata.items() if key != "raw"}
        _echo_json({
            **_clip_json(stored),
            "fingerprint": None if fingerprint is None else {"algorithm": fingerprint.algorithm,
                                                             "frames": len(fingerprint.frames)},
            "metadata": metadata,
            "appearances": [item.to_dict() for item in bundle.appearances],
            "claims": [item.to_dict() for item in bundle.claims],
            "assessments": [item.to_dict() for item in bundle.assessments],
            "verdict": None if verdict is None else verdict.to_dict(),
            "verdicts": [item.to_dict() for item in bundle.verdicts],
        })
        return
    click.echo(f"clip {stored.id}  {stored.sha256}")
    click.echo(_line("added", _utc(stored.added_at)))
    click.echo(_line("file", _file_facts(stored)))
    frames = "none (known from an imported record; add the file to fingerprint it)" if fingerprint is None \
        else f"{fingerprint.algorithm}, {len(fingerprint.frames)} frames"
    click.echo(_line("fingerprint", frames))
    if stored.clip.source_url:
        click.echo(_line("captured", f"from {printable(stored.clip.source_url, TEXT_LIMIT)}"))
    click.echo()
    click.echo("What the file says (its embedded metadata)")
    for line in _metadata_summary(metadata):
        click.echo(line)
    click.echo()
    click.echo("What people say")
    for line in _people_say(bundle):
        click.echo(line)
    click.echo()
    click.echo("What the desk established")
    for line in _desk_found(bundle, stored.sha256, clip_ids):
        click.echo(line)


def _clip_ids(index: Index, shas: set[str]) -> dict[str, int]:
    found = {}
    for sha in shas:
        stored = index.clip_by_sha256(sha)
        if stored is not None:
            found[sha] = stored.id
    return found


def _metadata_summary(metadata: dict[str, Any] | None) -> list[str]:
    if metadata is None:
        return ["  not read (known from an imported record)"]
    meta = MediaMetadata.from_dict(metadata)
    container = printable(meta.format.container.value)
    if meta.format.major_brand is not None:
        container += f" (brand {printable(meta.format.major_brand.value)})"
    lines = [_line("container", container)]
    for stream in meta.streams:
        if stream.kind != "video":
            continue
        parts = [printable(stream.codec.value) if stream.codec else "video"]
        if stream.width is not None and stream.height is not None:
            parts.append(f"{stream.width.value}x{stream.height.value}")
        if stream.frame_rate is not None:
            parts.append(f"{stream.frame_rate.value:g} fps")
        if stream.rotation is not None and stream.rotation.value:
            parts.append(f"rotate {stream.rotation.value}°")
        lines.append(_line("video", " ".join(parts)))
    for stamp in meta.times:
        zone = "" if stamp.zone_known else " (time zone unknown)"
        lines.append(_line("time", f"{stamp.meaning} {stamp.value.isoformat()}{zone}  [{printable(stamp.source)}]"))
    for location in meta.locations:
        lines.append(_line("location", f"{location.latitude:.6f},{location.longitude:.6f}  "
                                       f"[{printable(location.source)}]"))
    for part in ("make", "model", "software"):
        for item in getattr(meta.device, part):
            lines.append(_line(part, f"{printable(item.value, TEXT_LIMIT)}  [{printable(item.source)}]"))
    for hint in meta.hints:
        lines.append(_line("hint", f"{hint.confidence} {hint.kind}: {printable(hint.name)}"))
    lines.append(_line("c2pa", meta.credentials.status))
    if meta.problems:
        lines.append(_line("problems", f"{len(meta.problems)} (see: vidprov meta FILE)"))
    if not meta.times:
        lines.append(_line("time", "none stated in the file"))
    if not meta.locations:
        lines.append(_line("location", "none stated in the file"))
    return lines


def _people_say(bundle: RecordBundle) -> list[str]:
    lines: list[str] = []
    claims_in: dict[str | None, list[Claim]] = {}
    for claim in bundle.claims:
        claims_in.setdefault(claim.appearance_id if bundle.appearance(claim.appearance_id or "") else None,
                             []).append(claim)
    for appearance in bundle.appearances:
        lines.append(f"  appearance {appearance.id}")
        lines.append(_line("platform", appearance.platform.value, 4))
        if appearance.posted_at is not None:
            lines.append(_line("posted", str(appearance.posted_at), 4))
        who = " ".join(part for part in (printable(appearance.publisher, TEXT_LIMIT) if appearance.publisher else "",
                                         f"({printable(appearance.handle)})" if appearance.handle else "") if part)
        if who:
            lines.append(_line("publisher", who, 4))
        for label, value in (("url", appearance.url), ("post id", appearance.post_id), ("title", appearance.title),
                             ("text", appearance.description)):
            if value:
                lines.append(_line(label, printable(value, TEXT_LIMIT), 4))
        if appearance.relay_of is not None:
            source = bundle.appearance(appearance.relay_of.appearance_id)
            about = f" ({_appearance_brief(source)})" if source is not None else ""
            lines.append(_line(appearance.relay_of.kind.value + "s", appearance.relay_of.appearance_id + about, 4))
        for url in appearance.archive_urls:
            lines.append(_line("archived", printable(url, TEXT_LIMIT), 4))
        for claim in claims_in.get(appearance.id, []):
            lines += _claim_lines(claim, appearance)
    elsewhere = claims_in.get(None, [])
    if elsewhere:
        lines.append("  claims made elsewhere (not in a recorded appearance)")
        for claim in elsewhere:
            lines += _claim_lines(claim, None)
    return lines or ["  nothing recorded yet (vidprov add CLIP --publisher ... or vidprov claim CLIP ...)"]


def _claim_lines(claim: Claim, appearance: Appearance | None) -> list[str]:
    if claim.claimant:
        who = printable(claim.claimant, TEXT_LIMIT)
    elif appearance is not None:
        who = "the publisher"
    else:
        who = "unknown"
    lines = [f"    claim {claim.id}", _line("by", who, 6)]
    if claim.text:
        lines.append(_line("text", printable(claim.text, TEXT_LIMIT), 6))
    if claim.date is not None:
        lines.append(_line("date", _date_text(claim), 6))
    if claim.place is not None:
        lines.append(_line("place", printable(str(claim.place), TEXT_LIMIT), 6))
    return lines


def _date_text(claim: Claim) -> str:
    date = claim.date
    assert date is not None
    if date.derivation is not None:
        return f"{date.edtf} (from {date.derivation.text}, anchored on the post at {date.derivation.anchor})"
    return str(date)


def _desk_found(bundle: RecordBundle, sha256: str, clip_ids: dict[str, int]) -> list[str]:
    lines: list[str] = []
    for assessment in bundle.assessments_of(sha256):
        lines.append(f"  assessment {assessment.id}")
        lines.append(_line("kind", _kind(assessment.kind), 4))
        lines.append(_line("by", f"{printable(assessment.made_by, TEXT_LIMIT)}, {_utc(assessment.made_at)}", 4))
        lines.append(_line("result", printable(assessment.result, TEXT_LIMIT), 4))
        if assessment.place is not None:
            lines.append(_line("place", printable(str(assessment.place), TEXT_LIMIT), 4))
        if assessment.date is not None:
            lines.append(_line("date", str(assessment.date), 4))
        if assessment.evidence_url:
            lines.append(_line("evidence", printable(assessment.evidence_url, TEXT_LIMIT), 4))
        others = [f"clip {clip_ids[sha]}" if sha in clip_ids else sha[:12]
                  for sha in assessment.clip_sha256s if sha != sha256]
        lines.append(_line("covers", "this clip" + (f" and {', '.join(others)}" if others else ""), 4))
    if not lines:
        lines.append("  no assessment covers this clip")
    verdict = bundle.current_verdict(sha256)
    if verdict is None:
        lines.append(_line("verdict", "none yet"))
    else:
        earlier = len([item for item in bundle.verdicts if item.clip_sha256 == sha256]) - 1
        history = f" ({earlier} earlier)" if earlier else ""
        lines.append(_line("verdict", f"{verdict.status.value}, by {printable(verdict.reviewer, TEXT_LIMIT)}, "
                                      f"{_utc(verdict.decided_at)}{history}"))
        if verdict.note:
            lines.append(_line("note", printable(verdict.note, TEXT_LIMIT), 4))
    return lines


# ---------------------------------------------------------------- list


@main.command("list")
@index_option
@click.option("--publisher", metavar="NAME", help="Only clips published by NAME (exactly as recorded).")
@click.option("--platform", metavar="NAME", help=f"Only clips published on {PLATFORMS}.")
@click.option("--since", metavar="DATE", help="Only clips posted on or after DATE (2024-10-15, 2024-10, ...).")
@click.option("--until", metavar="DATE", help="Only clips posted on or before DATE.")
@json_option
def list_command(index_location: str | None, publisher: str | None, platform: str | None, since: str | None,
                 until: str | None, as_json: bool) -> None:
    """List the indexed clips, oldest first, with when and by whom they were posted.

    The filters look at every appearance of a clip: a clip is listed when one
    of its appearances passes them all.
    """
    if platform is not None and platform not in {item.value for item in Platform}:
        raise ValidationError("--platform", platform, f"one of: {', '.join(item.value for item in Platform)}")
    after = parse_timestamp(since, field="--since").earliest if since is not None else None
    before = parse_timestamp(until, field="--until").latest if until is not None else None
    with open_index(index_location) as index:
        clips = index.list_clips(ClipFilter(publisher=publisher, platform=platform, posted_after=after,
                                            posted_before=before))
        bundle = index.records([item.sha256 for item in clips]) if clips else RecordBundle()
    if as_json:
        for stored in clips:
            verdict = bundle.current_verdict(stored.sha256)
            _echo_json({**_clip_json(stored),
                        "appearances": [item.to_dict() for item in bundle.appearances_of(stored.sha256)],
                        "verdict": None if verdict is None else verdict.status.value})
        return
    if not clips:
        click.echo("no clips" + (" match" if publisher or platform or since or until else " in the index yet"))
        return
    click.echo(f"{'clip':>5}  {'sha256':<12}  {'duration':>8}  {'first posted':<12}  {'verdict':<13}  published by")
    for stored in clips:
        appearances = bundle.appearances_of(stored.sha256)
        dated = [item.posted_at for item in appearances if item.posted_at is not None]
        first = min(dated, key=_timestamp_order).edtf[:10] if dated else "-"
        verdict = bundle.current_verdict(stored.sha256)
        duration = f"{stored.clip.duration_s:.1f} s" if stored.clip.duration_s is not None else "-"
        who = "; ".join(dict.fromkeys(_appearance_brief(item, dated=False) for item in appearances)) or "-"
        click.echo(f"{stored.id:>5}  {stored.sha256[:12]}  {duration:>8}  {first:<12}  "
                   f"{verdict.status.value if verdict else '-':<13}  {printable(who, TEXT_LIMIT)}")


def _timestamp_order(stamp: Timestamp) -> datetime:
    # Zone-less times are read as UTC here: only the listing's order depends on it.
    value = stamp.value
    return value.astimezone(timezone.utc) if value.utcoffset() is not None else value.replace(tzinfo=timezone.utc)


# ------------------------------------------------------ export, import


@main.command("export")
@click.argument("clips", nargs=-1)
@index_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "jsonld"]), default="json", show_default=True,
              help="json: every record, lossless, for vidprov import; csv: a table for a spreadsheet; "
                   "jsonld: schema.org VideoObject, Claim, ClaimReview and MediaReview markup.")
@click.option("--table", type=click.Choice(["claims", "appearances"]), default="claims", show_default=True,
              help="With --format csv: one row per claim, or one row per appearance.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output (written whole or not at all).")
def export_command(clips: tuple[str, ...], index_location: str | None, fmt: str, table: str,
                   output: str | None) -> None:
    """Export the records of CLIPS (every clip when none is named).

    \b
    Examples:
      vidprov export -o desk.json
      vidprov export 3 --format jsonld -o clip3.jsonld
      vidprov export --format csv --table appearances > appearances.csv
    """
    with open_index(index_location) as index:
        shas = [item.sha256 for item in ingest.resolve_clips(index, clips)] if clips else None
        bundle = index.records(shas)
    if fmt == "json":
        text = to_json(bundle) + "\n"
    elif fmt == "jsonld":
        text = json.dumps(to_jsonld(bundle), ensure_ascii=False, indent=2) + "\n"
    else:
        text = claims_csv(bundle) if table == "claims" else appearances_csv(bundle)
    if output is None and sys.stdout.isatty():
        # Records hold text verbatim; a terminal gets it escaped, a pipe or file gets it as is.
        text = "\n".join(printable(line) for line in text.split("\n"))
    with atomic_output(output) as out:
        out.write(text)


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@index_option
@json_option
def import_command(file: str, index_location: str | None, as_json: bool) -> None:
    """Store the records of FILE, a JSON export, in the index.

    Clips come in as records only, without fingerprints: add the clip files
    to fingerprint them. Importing the same file twice changes nothing.
    """
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise FileAccessError(f"cannot read ({error.strerror or error})", file) from None
    bundle = from_json(data, path=file)
    with open_index(index_location, create=True) as index:
        result = ingest.import_bundle(index, bundle)
    if as_json:
        _echo_json({"file": file, **result.to_dict()})
        return
    counts = ", ".join(f"{name} {result.total[name]} ({result.new[name]} new)" for name in result.total)
    click.echo(f"imported {printable(click.format_filename(file))}: {counts}")


# ------------------------------------------------------------- helpers


def _clip_json(stored: StoredClip) -> dict[str, Any]:
    return {"clip_id": stored.id, "sha256": stored.sha256, "added_at": stored.added_at.isoformat(),
            "clip": stored.clip.to_dict()}


def _line(label: str, value: str, indent: int = 2) -> str:
    return f"{' ' * indent}{label:<{_LABEL}}  {value}".rstrip()


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _kind(kind: AssessmentKind) -> str:
    return kind.value.replace("_", "-")


def _file_facts(stored: StoredClip) -> str:
    clip = stored.clip
    parts = [clip.media_type, f"{clip.size:,} bytes"]
    if clip.duration_s is not None:
        parts.append(f"{clip.duration_s:.2f} s")
    return ", ".join(parts)


def _appearance_brief(appearance: Appearance, dated: bool = True) -> str:
    who = appearance.publisher or appearance.handle or "unknown publisher"
    text = f"{printable(who, 80)} on {appearance.platform.value}"
    if dated and appearance.posted_at is not None:
        text += f", posted {appearance.posted_at}"
    return text


def _claim_brief(claim: Claim) -> str:
    parts: list[str] = []
    if claim.text:
        parts.append(f"\"{printable(claim.text, 80)}\"")
    if claim.date is not None:
        parts.append(f"date {claim.date}")
    if claim.place is not None:
        parts.append(f"place {printable(str(claim.place), 120)}")
    return "; ".join(parts)


__all__: Sequence[str] = ["add_command", "assess_command", "claim_command", "export_command", "import_command",
                          "list_command", "show_command", "verdict_command"]
