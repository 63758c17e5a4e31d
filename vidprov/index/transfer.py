"""Moving an index, and sharing hashes between desks without sharing videos.

* :func:`copy_index` copies everything an index holds (clips, fingerprints,
  metadata, appearances, claims, assessments, verdicts and the log of
  imported hashes) into another index, SQLite or PostgreSQL, either way.
* :func:`export_hashes` writes a *hash bundle*: JSON lines holding the
  clips' records and fingerprints, and the appearances and claims made about
  them, but no video bytes, no assessments and no verdicts (those are the
  desk's own conclusions).
* :func:`import_hashes` merges a hash bundle, or a vPDQ file written by
  another tool, into an index, logging which desk it came from and when.

A hash bundle, one JSON object per line::

    {"type": "vidprov-hashes", "format_version": 1, "algorithm": "pdq", "exported_at": "...", "counts": {...}}
    {"type": "clip", ...}                       a clip record (records.Clip)
    {"type": "fingerprint", "fingerprint": {...}}   its fingerprint (Fingerprint.to_dict)
    {"type": "appearance", ...}                 appearance records
    {"type": "claim", ...}                      claim records

A vPDQ file (``frame_number,quality,hash_hex,timestamp`` lines) says nothing
of the video it was made from, not even its sha256. Its hashes are filed
under a stand-in clip whose sha256 is that of the vPDQ file itself and whose
media type is :data:`VPDQ_MEDIA_TYPE`, so that importing the same file twice
finds the same clip, and a match against it reads as "hashes imported from
desk X".
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import IO, Any, Callable, Iterator

from .. import __version__
from ..errors import FileAccessError, FormatError, IndexStoreError, ValidationError
from ..fingerprint import Fingerprint
from ..ingest import import_bundle
from ..records import Appearance, Claim, Clip
from .base import HashImport, Index, iter_batches

#: The ``type`` of a hash bundle's first line.
BUNDLE_TYPE = "vidprov-hashes"
#: Version of the hash bundle format this vidprov writes and reads.
BUNDLE_VERSION = 1
#: Media type of the stand-in clip that holds hashes imported from a vPDQ file.
VPDQ_MEDIA_TYPE = "text/x-vpdq"
#: Clips handled per batch when copying, exporting or importing.
BATCH = 500


# ------------------------------------------------------------------ copy


@dataclass(frozen=True)
class CopyResult:
    """What a copy moved: counts per kind, and how many clips were new to the destination."""

    clips: int
    new_clips: int
    fingerprints: int
    metadata: int
    records: dict[str, int]
    imports: int

    def to_dict(self) -> dict[str, Any]:
        return {"clips": self.clips, "new_clips": self.new_clips, "fingerprints": self.fingerprints,
                "metadata": self.metadata, "records": dict(self.records), "imports": self.imports}


def copy_index(source: Index, destination: Index, *, merge: bool = False,
               progress: Callable[[int, int], None] | None = None) -> CopyResult:
    """Copy everything in ``source`` into ``destination``, losslessly.

    Clips keep their order (so an index copied into an empty one numbers
    its clips the same way) but get the destination's ``added_at``. Without
    ``merge`` the destination must hold no clips yet; with it, what the
    destination already holds stays, and records are merged by their ids.
    ``progress(done, total)`` is called after each batch of clips.
    """
    if destination.algorithm != source.algorithm:
        raise ValidationError("destination algorithm", destination.algorithm,
                              f"{source.algorithm}, the algorithm of {source.location}")
    if not merge and destination.count_clips():
        raise IndexStoreError(f"already holds {destination.count_clips()} clips; copy into an empty index, "
                              "or merge into this one on purpose (--merge)", destination.location)
    clips = source.list_clips()
    done = new = fingerprints = metadata = 0
    for batch in iter_batches(clips, BATCH):
        found = source.fingerprints([stored.id for stored in batch])
        items = [(stored.clip, found.get(stored.id), source.metadata(stored.id)) for stored in batch]
        new += sum(stored.created for stored in destination.add_clips(items))
        fingerprints += len(found)
        metadata += sum(item[2] is not None for item in items)
        done += len(batch)
        if progress is not None:
            progress(done, len(clips))
    bundle = source.records()
    # In the source's order, so that the destination lists them in the same order.
    import_bundle(destination, replace(bundle, clips=()))
    origins: dict[str, list[tuple[str, str]]] = {}
    for (kind, ref), bundle_sha256 in source.record_origins().items():
        origins.setdefault(bundle_sha256, []).append((kind, ref))
    imports = source.hash_imports()
    for entry in imports:
        destination.log_import(entry, origins.get(entry.bundle_sha256, []))
    optimize = getattr(destination, "optimize", None)
    if optimize is not None:
        optimize()
    return CopyResult(len(clips), new, fingerprints, metadata,
                      {"appearances": len(bundle.appearances), "claims": len(bundle.claims),
                       "assessments": len(bundle.assessments), "verdicts": len(bundle.verdicts)}, len(imports))


# ---------------------------------------------------------------- export


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def export_hashes(index: Index, out: IO[str], *, now: datetime | None = None) -> dict[str, int]:
    """Write the index's hash bundle to ``out``; return how many of each kind it holds."""
    clips = index.list_clips()
    bundle = index.records()
    header = {"type": BUNDLE_TYPE, "format_version": BUNDLE_VERSION, "algorithm": index.algorithm,
              "exported_at": (now or datetime.now(timezone.utc)).isoformat(), "vidprov": __version__,
              "counts": {"clips": len(clips), "appearances": len(bundle.appearances), "claims": len(bundle.claims)}}
    out.write(_line(header))
    fingerprints = 0
    for batch in iter_batches(clips, BATCH):
        found = index.fingerprints([stored.id for stored in batch])
        for stored in batch:
            out.write(_line(stored.clip.to_dict()))
            if stored.id in found:
                out.write(_line({"type": "fingerprint", "fingerprint": found[stored.id].to_dict()}))
                fingerprints += 1
    for appearance in bundle.appearances:
        out.write(_line(appearance.to_dict()))
    for claim in bundle.claims:
        out.write(_line(claim.to_dict()))
    return {**header["counts"], "fingerprints": fingerprints}  # type: ignore[dict-item]


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportOutcome:
    """The result of importing a file: its log entry, and whether this import stored it (False: seen before)."""

    entry: HashImport
    imported: bool
    new: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.entry.to_dict(), "imported": self.imported, "new": dict(self.new)}


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """sha256 and size of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    except OSError as error:
        raise FileAccessError(f"cannot read ({error.strerror or error})", path) from None
    return digest.hexdigest(), size


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except UnicodeDecodeError as error:
        raise FormatError(f"not UTF-8 text ({error.reason} at byte {error.start})", os.fspath(path)) from None
    except OSError as error:
        raise FileAccessError(f"cannot read ({error.strerror or error})", path) from None


def _is_bundle(path: str | os.PathLike[str]) -> bool:
    for _, line in _lines(path):
        return line.lstrip().startswith("{")
    raise FormatError("is empty: expected a vidprov hash bundle or vPDQ lines", os.fspath(path))


def import_hashes(index: Index, path: str | os.PathLike[str], *, desk: str,
                  now: datetime | None = None) -> ImportOutcome:
    """Merge the hash bundle or vPDQ file at ``path`` into ``index``, as sent by ``desk``.

    Everything is stored in one transaction with the log entry; a file
    whose sha256 is already in the log changes nothing.
    """
    sha256, size = file_digest(path)
    when = now or datetime.now(timezone.utc)
    if _is_bundle(path):
        return _import_bundle(index, path, sha256, desk, when)
    return _import_vpdq(index, path, sha256, size, desk, when)


def _previous(index: Index, sha256: str, desk: str, fmt: str, when: datetime) -> ImportOutcome | None:
    for entry in index.hash_imports():
        if entry.bundle_sha256 == sha256:
            return ImportOutcome(entry, False)
    HashImport(sha256, desk, fmt, when, {})  # checks the desk name before anything is read
    return None


def _import_vpdq(index: Index, path: str | os.PathLike[str], sha256: str, size: int, desk: str,
                 when: datetime) -> ImportOutcome:
    name = os.fspath(path)
    if index.algorithm != "pdq":
        raise ValidationError("hash algorithm", "pdq (vPDQ)", f"{index.algorithm}, the algorithm of {index.location}")
    previous = _previous(index, sha256, desk, "vpdq", when)
    if previous is not None:
        return previous
    try:
        with open(path, encoding="utf-8") as handle:
            frames = Fingerprint.parse_vpdq(handle.read())
    except UnicodeDecodeError as error:
        raise FormatError(f"not UTF-8 text ({error.reason} at byte {error.start})", name) from None
    except FormatError as error:
        error.path = error.path or name
        raise
    if not frames:
        raise FormatError("holds no vPDQ lines (frame_number,quality,hash_hex,timestamp)", name)
    duration = frames[-1].t if frames[-1].t > 0 else None
    try:
        fingerprint = Fingerprint(sha256=sha256, algorithm="pdq", params=(("input", "vpdq"),), duration=duration,
                                  fps=None, width=0, height=0, codec="", crop=None, frames=tuple(frames), size=size)
    except ValidationError as error:
        error.path = error.path or name
        raise
    clip = Clip(sha256=sha256, size=size, media_type=VPDQ_MEDIA_TYPE, duration_s=duration)
    entry = HashImport(sha256, desk, "vpdq", when, {"clips": 1, "fingerprints": 1, "frames": len(frames)})
    with index.transaction():
        if not index.log_import(entry, [("clip", sha256)]):
            return ImportOutcome(entry, False)
        created = index.add_clip(clip, fingerprint).created
    return ImportOutcome(entry, True, {"clips": int(created)})


def _bundle_items(path: str | os.PathLike[str], algorithm: str) -> Iterator[Any]:
    """The header's counts, then each record of a bundle in order, checked as they are read."""
    name = os.fspath(path)
    header_seen = False
    for number, line in _lines(path):
        where = f"line {number}"
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            raise FormatError(f"{where}: not valid JSON ({error})", name) from None
        kind = data.get("type") if isinstance(data, dict) else None
        if not header_seen:
            if kind != BUNDLE_TYPE:
                raise FormatError(f"{where}: expected the header of a vidprov hash bundle "
                                  f"(\"type\": \"{BUNDLE_TYPE}\")", name)
            version = data.get("format_version")
            if not isinstance(version, int) or version < 1:
                raise FormatError(f"{where}: format_version must be a whole number from 1", name)
            if version > BUNDLE_VERSION:
                raise FormatError(f"{where}: bundle format {version} was written by a newer vidprov; this one "
                                  f"reads up to {BUNDLE_VERSION}: upgrade vidprov", name)
            if data.get("algorithm") != algorithm:
                raise ValidationError("bundle algorithm", data.get("algorithm"),
                                      f"{algorithm}, the algorithm of the index", name)
            header_seen = True
            continue
        try:
            if kind == "clip":
                yield Clip.from_dict(data, where)
            elif kind == "fingerprint":
                yield Fingerprint.from_dict(data.get("fingerprint"))
            elif kind == "appearance":
                yield Appearance.from_dict(data, where)
            elif kind == "claim":
                yield Claim.from_dict(data, where)
            else:
                raise FormatError(f"{where}: unknown line type {kind!r}; expected clip, fingerprint, "
                                  "appearance or claim")
        except (FormatError, ValidationError) as error:
            if not error.message.startswith(where):
                error.message = f"{where}: {error.message}"
                error.args = (error.message,)
            error.path = error.path or name
            raise


def _import_bundle(index: Index, path: str | os.PathLike[str], sha256: str, desk: str,
                   when: datetime) -> ImportOutcome:
    previous = _previous(index, sha256, desk, "bundle", when)
    if previous is not None:
        return previous
    clips: dict[str, Clip] = {}
    fingerprints: dict[str, Fingerprint] = {}
    appearances: list[Appearance] = []
    claims: list[Claim] = []
    for item in _bundle_items(path, index.algorithm):
        if isinstance(item, Clip):
            clips.setdefault(item.sha256, item)
        elif isinstance(item, Fingerprint):
            fingerprints.setdefault(item.sha256, item)
        elif isinstance(item, Appearance):
            appearances.append(item)
        else:
            claims.append(item)
    stray = [sha for sha in fingerprints if sha not in clips]
    if stray:
        raise FormatError(f"holds a fingerprint of clip {stray[0]} but not that clip's record", os.fspath(path))
    counts = {"clips": len(clips), "fingerprints": len(fingerprints), "appearances": len(appearances),
              "claims": len(claims)}
    entry = HashImport(sha256, desk, "bundle", when, counts)
    try:
        origins = _store_bundle(index, entry, clips, fingerprints, appearances, claims)
    except _AlreadyImported:
        # Another client imported the same file meanwhile: what this one stored was rolled back.
        return _previous(index, sha256, desk, "bundle", when) or ImportOutcome(entry, False)
    new = {kind: sum(origin == kind for origin, _ in origins) for kind in ("clip", "appearance", "claim")}
    return ImportOutcome(entry, True, {"clips": new["clip"], "appearances": new["appearance"],
                                       "claims": new["claim"]})


class _AlreadyImported(Exception):
    """Raised inside the import's transaction to roll it back."""


def _store_bundle(index: Index, entry: HashImport, clips: dict[str, Clip], fingerprints: dict[str, Fingerprint],
                  appearances: list[Appearance], claims: list[Claim]) -> list[tuple[str, str]]:
    """Store a bundle's records and its log entry in one transaction; return the (kind, id) of those new here."""
    with index.transaction():
        before = index.records()
        known_appearances = {item.id for item in before.appearances}
        known_claims = {item.id for item in before.claims}
        origins: list[tuple[str, str]] = []
        for batch in iter_batches(list(clips.values()), BATCH):
            for stored in index.add_clips([(clip, fingerprints.get(clip.sha256), None) for clip in batch]):
                if stored.created:
                    origins.append(("clip", stored.sha256))
        for appearance in appearances:
            if appearance.id not in known_appearances:
                origins.append(("appearance", appearance.id))
            index.add_appearance(appearance)
        for claim in claims:
            if claim.id not in known_claims:
                origins.append(("claim", claim.id))
            index.add_claim(claim)
        if not index.log_import(entry, origins):
            raise _AlreadyImported
    return origins
