"""Putting a clip, and what is said about it, into the index.

:func:`add` hashes a clip's bytes, fingerprints it with the index's
algorithm, reads what the file says about itself, and stores the clip, its
fingerprint and metadata, where it was published (an :class:`Appearance`)
and what was claimed there (:class:`Claim` records) in one transaction. A clip
already indexed is recognised by the SHA-256 of its bytes before anything is
decoded, so adding it again is instant and only adds what is new.

:func:`add_claims`, :func:`assess` and :func:`decide` record what comes later:
more claims, what the desk established, and its verdict. :func:`resolve_clip`
turns what a person types (a clip id, a sha256 prefix, a file) into a clip,
and :func:`import_bundle` stores a JSON export again.

Every function checks everything it was given before it writes, and writes in
one transaction: it happens whole or not at all.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence, TypeVar

from .errors import AmbiguousReferenceError, NotFoundError, ValidationError
from .fingerprint import Fingerprint, file_sha256
from .fingerprint import fingerprint as make_fingerprint
from .index.base import Index, StoredClip
from .media import Sampling, check_file
from .metadata import MediaMetadata, printable, read_metadata
from .records import (
    Appearance,
    Assessment,
    Claim,
    Clip,
    DateClaim,
    Platform,
    PlaceClaim,
    RecordBundle,
    Verdict,
    appearance_from_info_json,
    parse_date_claim,
    parse_point,
    parse_timestamp,
)
from .records.ytdlp import platform_from_info

#: Fewest hex digits of a sha256 that may name a clip.
MIN_PREFIX = 6

#: What a clip reference may be, for error messages.
REFERENCE_SYNTAX = f"a clip id, a sha256 prefix of {MIN_PREFIX} or more hex digits, or the path of a clip file"

#: Media types by the container name :func:`vidprov.metadata.read_metadata` reports.
MEDIA_TYPES = {
    "mp4": "video/mp4", "m4v": "video/x-m4v", "mov": "video/quicktime", "3gp": "video/3gpp",
    "3g2": "video/3gpp2", "webm": "video/webm", "matroska": "video/x-matroska", "avi": "video/x-msvideo",
    "mpegts": "video/mp2t", "flv": "video/x-flv", "ogg": "video/ogg", "asf": "video/x-ms-asf",
    "gif": "image/gif", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff",
    "heic": "image/heic", "heif": "image/heif", "avif": "image/avif",
}

_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)

R = TypeVar("R", Appearance, Claim)


# --------------------------------------------------------------- drafts


@dataclass(frozen=True, kw_only=True)
class ClaimDraft:
    """A claim before it is tied to a clip: the date is still text.

    A date such as ``max-age:3d`` can only be read once the appearance the
    claim was made in is known, since it is anchored on that appearance's
    ``posted_at``; :meth:`build` does that. Everything else is checked when the
    draft is built, so a bad claim is refused before any clip is decoded.
    """

    text: str | None = None
    claimant: str | None = None
    date: str | None = None
    place: PlaceClaim | None = None

    def __post_init__(self) -> None:
        if self.date is not None and not isinstance(self.date, str):
            raise ValidationError("claim.date", self.date, "text such as 2024-10-15/2024-10-18 or max-age:3d")
        # A stand-in claim checks text, claimant and place now, before any clip is decoded;
        # the date is read in build(), once its anchor is known.
        Claim(clip_sha256="0" * 64, claimant=self.claimant, text=self.text, place=self.place,
              date=DateClaim.unknown() if self.date is not None else None)

    def build(self, *, appearance: Appearance | None, clip_sha256: str) -> Claim:
        """The claim as made in ``appearance`` or, without one, as made about the clip."""
        date: DateClaim | None = None
        if self.date is not None:
            posted_at = appearance.posted_at if appearance is not None else None
            date = parse_date_claim(self.date, posted_at=posted_at, field="claim.date")
        return Claim(appearance_id=appearance.id if appearance is not None else None,
                     clip_sha256=None if appearance is not None else clip_sha256,
                     claimant=self.claimant, text=self.text, date=date, place=self.place)


def place_from_parts(*, name: str | None = None, coords: str | None = None, radius_m: float | None = None,
                     country: str | None = None, subdivision: str | None = None,
                     basis: str | None = None) -> PlaceClaim | None:
    """A place from what a person typed (``coords`` as ``"lat,lon"``), or None when nothing was."""
    if radius_m is not None and coords is None:
        raise ValidationError("radius_m", radius_m, "a radius together with coordinates ('lat,lon')")
    if name is None and coords is None and country is None and subdivision is None:
        return None
    point = parse_point(coords, radius_m=radius_m) if coords is not None else None
    return PlaceClaim(name=name, country=country, subdivision=subdivision, point=point, basis=basis)


def build_appearance(*, info_json: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                     platform: str | Platform | None = None, url: str | None = None,
                     publisher: str | None = None, handle: str | None = None, posted_at: str | None = None,
                     title: str | None = None, description: str | None = None) -> Appearance | None:
    """An appearance from what a person typed, or None when nothing was.

    With ``info_json`` (a yt-dlp ``.info.json``), the fields given override
    what the file says. Without a platform, the URL's site decides it
    (``x.com`` is ``x``, a site vidprov has no name for is ``web``), and
    without a URL it is ``other``.
    """
    given: dict[str, Any] = {name: value for name, value in (
        ("platform", platform), ("url", url), ("publisher", publisher), ("handle", handle),
        ("title", title), ("description", description)) if value is not None}
    if posted_at is not None:
        given["posted_at"] = parse_timestamp(posted_at, field="appearance.posted_at")
    if info_json is not None:
        return dataclasses.replace(appearance_from_info_json(info_json), **given)
    if not given:
        return None
    if "platform" not in given:
        given["platform"] = _platform_of(url)
    return Appearance(**given)


def _platform_of(url: str | None) -> Platform:
    if url is None:
        return Platform.OTHER
    platform = platform_from_info({"webpage_url": url})
    return Platform.WEB if platform is Platform.OTHER else platform


# ------------------------------------------------------------------ add


@dataclass(frozen=True)
class AddResult:
    """What :func:`add` stored, and what was there already."""

    path: str
    clip: StoredClip  # clip.created: this call added the clip
    fingerprint: Fingerprint | None  # the fingerprint this call stored (None: the index had one)
    appearance: Appearance | None  # as stored: an equal one already there is reused
    appearance_created: bool
    claims: tuple[Claim, ...]
    claims_created: tuple[bool, ...]

    @property
    def created(self) -> bool:
        return self.clip.created

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "clip_id": self.clip.id,
            "sha256": self.clip.sha256,
            "created": self.clip.created,
            "frames_hashed": len(self.fingerprint.frames) if self.fingerprint is not None else None,
            "clip": self.clip.clip.to_dict(),
            "appearance": None if self.appearance is None else {
                "id": self.appearance.id, "created": self.appearance_created, "record": self.appearance.to_dict()},
            "claims": [{"id": claim.id, "created": created, "record": claim.to_dict()}
                       for claim, created in zip(self.claims, self.claims_created)],
        }


def add(index: Index, path: str | os.PathLike[str], *, appearance: Appearance | None = None,
        claims: Sequence[Claim | ClaimDraft] = (),
        info_json: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        source_url: str | None = None, fingerprint: Fingerprint | None = None, sampling: Sampling | None = None,
        crop: bool = True, progress: Callable[[float, float | None], None] | None = None) -> AddResult:
    """Put the clip at ``path`` into ``index`` with where it appeared and what was claimed.

    ``appearance`` (or ``info_json``, a yt-dlp ``.info.json`` to read it
    from) says where the clip was published; its ``clip_sha256`` is filled in.
    ``claims`` are claims or drafts: drafts are made in that appearance (or,
    with none, about the clip), so that ``max-age:3d`` is anchored on its
    ``posted_at``. ``source_url`` is the address the file was downloaded from
    (with ``info_json``, the page yt-dlp downloaded it from); it is recorded
    on a new clip. ``fingerprint`` is one already made of this file with the
    index's algorithm; otherwise the clip is fingerprinted here (``sampling``,
    ``crop`` and ``progress`` as for :func:`vidprov.fingerprint`).

    A clip already in the index is found by the sha256 of its bytes before
    anything is decoded. An appearance or claim equal in every field but its
    id to one already stored is not stored twice, so running the same add
    again changes nothing.
    """
    name = check_file(path)
    if appearance is not None and info_json is not None:
        raise ValidationError("info_json", os.fspath(info_json) if isinstance(info_json, os.PathLike) else info_json,
                              "no info.json when an appearance is given (read it with build_appearance)")
    if info_json is not None:
        appearance = appearance_from_info_json(info_json)
        # yt-dlp wrote the info.json beside the file it downloaded from that page.
        source_url = source_url or appearance.url
    sha256, size = file_sha256(name)
    if appearance is not None:
        appearance = _appearance_of_clip(appearance, sha256)
    built = tuple(_claim_of_clip(claim, appearance, sha256) for claim in claims)
    if fingerprint is not None and fingerprint.sha256 != sha256:
        raise ValidationError("fingerprint.sha256", fingerprint.sha256, f"the sha256 of {name}, {sha256}")

    existing = index.clip_by_sha256(sha256)
    made: Fingerprint | None = None
    metadata: dict[str, Any] | None = None
    if existing is not None and index.fingerprint(existing.id) is not None:
        clip = existing.clip
    else:
        # New, or known only from an imported record: decode it now.
        made = fingerprint or make_fingerprint(name, algorithm=index.algorithm, sampling=sampling, crop=crop,
                                               progress=progress)
        meta = read_metadata(name)
        metadata = meta.to_dict()
        clip = existing.clip if existing is not None else _clip_record(name, sha256, size, made, meta, source_url)

    with index.transaction():
        stored = index.add_clip(clip, made, metadata)
        known = index.records([sha256])
        appearance_created = False
        if appearance is not None:
            equal = _find_equal(appearance, known.appearances)
            if equal is None:
                index.add_appearance(appearance)
                appearance_created = True
            else:
                built = tuple(dataclasses.replace(claim, appearance_id=equal.id)
                              if claim.appearance_id == appearance.id else claim for claim in built)
                appearance = equal
        stored_claims, created = _store_claims(index, built, known.claims)
    return AddResult(name, stored, made, appearance, appearance_created, stored_claims, created)


def _appearance_of_clip(appearance: Appearance, sha256: str) -> Appearance:
    if not isinstance(appearance, Appearance):
        raise ValidationError("appearance", appearance, "an Appearance or None")
    if appearance.clip_sha256 is None:
        return dataclasses.replace(appearance, clip_sha256=sha256)
    if appearance.clip_sha256 != sha256:
        raise ValidationError("appearance.clip_sha256", appearance.clip_sha256,
                              f"the sha256 of the clip being added, {sha256}")
    return appearance


def _claim_of_clip(claim: Claim | ClaimDraft, appearance: Appearance | None, sha256: str) -> Claim:
    if isinstance(claim, ClaimDraft):
        return claim.build(appearance=appearance, clip_sha256=sha256)
    if not isinstance(claim, Claim):
        raise ValidationError("claims", claim, "Claim or ClaimDraft objects")
    if claim.clip_sha256 is not None and claim.clip_sha256 != sha256:
        raise ValidationError("claim.clip_sha256", claim.clip_sha256, f"the sha256 of the clip being added, {sha256}")
    if claim.clip_sha256 is None and (appearance is None or claim.appearance_id != appearance.id):
        raise ValidationError("claim.appearance_id", claim.appearance_id,
                              "the id of the appearance being added, or a claim that names the clip")
    return claim


def _clip_record(path: str, sha256: str, size: int, fp: Fingerprint, meta: MediaMetadata,
                 source_url: str | None) -> Clip:
    duration = fp.duration
    if duration is None and meta.format.duration is not None:
        duration = meta.format.duration.value
    return Clip(sha256=sha256, size=size, media_type=media_type(path, meta), duration_s=duration,
                source_url=source_url)


def media_type(path: str, meta: MediaMetadata) -> str:
    """The media type of a file, from its container as read, else from its name."""
    known = MEDIA_TYPES.get(meta.format.container.value)
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(path)
    if guessed is not None and guessed.startswith(("video/", "image/")):
        return guessed
    return "video/x-unknown" if meta.kind == "video" else "application/octet-stream"


def _content(record: Appearance | Claim) -> dict[str, Any]:
    data = record.to_dict()
    del data["id"]
    return data


def _find_equal(record: R, stored: Sequence[R]) -> R | None:
    content = _content(record)
    return next((item for item in stored if _content(item) == content), None)


def _store_claims(index: Index, claims: Sequence[Claim], known: Sequence[Claim]) -> tuple[tuple[Claim, ...],
                                                                                           tuple[bool, ...]]:
    stored: list[Claim] = []
    created: list[bool] = []
    for claim in claims:
        equal = _find_equal(claim, list(known) + stored)
        if equal is None:
            index.add_claim(claim)
        stored.append(equal or claim)
        created.append(equal is None)
    return tuple(stored), tuple(created)


# -------------------------------------------------------- references


def resolve_clip(index: Index, reference: str | os.PathLike[str]) -> StoredClip:
    """The clip a person means: a clip id, a unique sha256 prefix, or a file (by its sha256).

    Raises :class:`~vidprov.errors.NotFoundError` when nothing matches and
    :class:`~vidprov.errors.AmbiguousReferenceError` when a prefix matches
    more than one clip.
    """
    text = os.fspath(reference)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("clip", text, REFERENCE_SYNTAX)
    text = text.strip()
    found: dict[int, StoredClip] = {}
    if _DIGITS.fullmatch(text):
        by_id = index.clip_by_id(int(text)) if int(text) < 1 << 63 else None  # ids are 64-bit
        if by_id is not None:
            found[by_id.id] = by_id
    if _HEX.fullmatch(text) and len(text) >= MIN_PREFIX:
        for item in index.clips_by_prefix(text.lower(), limit=6):
            found[item.id] = item
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        shown = ", ".join(f"clip {item.id} {item.sha256[:12]}" for item in sorted(found.values(),
                                                                                    key=lambda s: s.id)[:5])
        count = f"{len(found)}" if len(found) < 6 else "6 or more"
        raise AmbiguousReferenceError(f"{printable(text)}: matches {count} clips ({shown}); "
                                      "give more digits of the sha256")
    if os.path.isfile(text):
        sha256, _ = file_sha256(text)
        stored = index.clip_by_sha256(sha256)
        if stored is None:
            raise NotFoundError(f"this file is not in the index (sha256 {sha256}); add it with: vidprov add",
                                text)
        return stored
    if _DIGITS.fullmatch(text) or (_HEX.fullmatch(text) and len(text) >= MIN_PREFIX):
        raise NotFoundError(f"{printable(text)}: no clip has this id or sha256 prefix, and there is no such file")
    if _HEX.fullmatch(text):
        raise NotFoundError(f"{printable(text)}: too short for a sha256 prefix (give {MIN_PREFIX} or more hex "
                            "digits), and there is no such file")
    raise NotFoundError(f"{printable(text)}: no such file, and not a clip reference; give {REFERENCE_SYNTAX}")


def resolve_clips(index: Index, references: Sequence[str | os.PathLike[str]]) -> list[StoredClip]:
    """Each reference resolved, in order, each clip once."""
    clips: dict[int, StoredClip] = {}
    for reference in references:
        stored = resolve_clip(index, reference)
        clips.setdefault(stored.id, stored)
    return list(clips.values())


def resolve_appearance(bundle: RecordBundle, reference: str) -> Appearance:
    """An appearance of the bundle's clips by its id or a unique prefix of it."""
    exact = bundle.appearance(reference)
    if exact is not None:
        return exact
    matching = [item for item in bundle.appearances if reference and item.id.startswith(reference)]
    if len(matching) == 1:
        return matching[0]
    if matching:
        raise AmbiguousReferenceError(f"appearance {printable(reference)}: matches {len(matching)} appearances "
                                      f"({', '.join(item.id for item in matching[:5])}); give more of the id")
    known = ", ".join(item.id for item in bundle.appearances) or "none recorded"
    raise NotFoundError(f"appearance {printable(reference)}: not an appearance of this clip "
                        f"(its appearances: {known})")


# ------------------------------------------------------ later records


def add_claims(index: Index, clip: str | os.PathLike[str] | StoredClip, claims: Sequence[ClaimDraft], *,
               appearance: str | None = None) -> tuple[StoredClip, tuple[Claim, ...], tuple[bool, ...]]:
    """Record claims about an indexed clip, made in one of its appearances (by id or prefix) or about it.

    Returns the clip, the claims as stored, and whether each one is new (an
    equal claim already recorded is not recorded twice).
    """
    stored = clip if isinstance(clip, StoredClip) else resolve_clip(index, clip)
    if not claims:
        raise ValidationError("claim", None, "a claim text, date or place (at least one)")
    with index.transaction():
        known = index.records([stored.sha256])
        made_in = resolve_appearance(known, appearance) if appearance is not None else None
        built = [draft.build(appearance=made_in, clip_sha256=stored.sha256) for draft in claims]
        kept, created = _store_claims(index, built, known.claims)
    return stored, kept, created


def assess(index: Index, clips: Sequence[str | os.PathLike[str] | StoredClip], *, kind: str, made_by: str,
           result: str, evidence_url: str | None = None, place: PlaceClaim | None = None,
           date: str | None = None, made_at: datetime | None = None) -> Assessment:
    """Record what the desk established about exactly these clips (a geolocation, say)."""
    resolved = [item if isinstance(item, StoredClip) else resolve_clip(index, item) for item in clips]
    shas = list(dict.fromkeys(item.sha256 for item in resolved))
    assessment = Assessment(
        kind=kind.replace("-", "_") if isinstance(kind, str) else kind,  # type: ignore[arg-type]
        clip_sha256s=tuple(shas), made_by=made_by, made_at=made_at or _now(), result=result,
        evidence_url=evidence_url, place=place,
        date=parse_date_claim(date, field="assessment.date") if date is not None else None)
    with index.transaction():
        index.add_assessment(assessment)
    return assessment


def decide(index: Index, clip: str | os.PathLike[str] | StoredClip, *, status: str, reviewer: str,
           note: str | None = None, decided_at: datetime | None = None) -> Verdict:
    """Record the desk's verdict on a clip; the latest one is its status."""
    stored = clip if isinstance(clip, StoredClip) else resolve_clip(index, clip)
    verdict = Verdict(clip_sha256=stored.sha256, status=status, reviewer=reviewer,  # type: ignore[arg-type]
                      decided_at=decided_at or _now(), note=note)
    with index.transaction():
        index.add_verdict(verdict)
    return verdict


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    """How many records of each kind a bundle held, and how many of them were new to the index."""

    total: dict[str, int]
    new: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"total": dict(self.total), "new": dict(self.new)}


def import_bundle(index: Index, bundle: RecordBundle) -> ImportResult:
    """Store every record of ``bundle`` (a JSON export read with :func:`~vidprov.records.from_json`).

    Clips arrive as records only, without a fingerprint: adding the file
    later fingerprints it. Records are stored by their ids, so importing the
    same export twice changes nothing.
    """
    with index.transaction():
        before = index.records()
        known = {
            "clips": {item.sha256 for item in before.clips},
            "appearances": {item.id for item in before.appearances},
            "claims": {item.id for item in before.claims},
            "assessments": {item.id for item in before.assessments},
            "verdicts": {item.id for item in before.verdicts},
        }
        for clip in bundle.clips:
            index.add_clip(clip)
        for item in bundle.appearances:
            index.add_appearance(item)
        for claim in bundle.claims:
            index.add_claim(claim)
        for assessment in bundle.assessments:
            index.add_assessment(assessment)
        for verdict in bundle.verdicts:
            index.add_verdict(verdict)
    records = {"clips": (bundle.clips, "sha256"), "appearances": (bundle.appearances, "id"),
               "claims": (bundle.claims, "id"), "assessments": (bundle.assessments, "id"),
               "verdicts": (bundle.verdicts, "id")}
    total = {name: len(items) for name, (items, _) in records.items()}
    new = {name: sum(1 for item in items if getattr(item, key) not in known[name])
           for name, (items, key) in records.items()}
    return ImportResult(total, new)


__all__ = ["AddResult", "ClaimDraft", "ImportResult", "MEDIA_TYPES", "MIN_PREFIX", "REFERENCE_SYNTAX", "add",
           "add_claims", "assess", "build_appearance", "decide", "import_bundle", "media_type",
           "place_from_parts", "resolve_appearance", "resolve_clip", "resolve_clips"]
