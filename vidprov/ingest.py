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

import collections
import concurrent.futures
import contextlib
import dataclasses
import mimetypes
import multiprocessing
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from .errors import (AmbiguousReferenceError, FileAccessError, NotFoundError, ValidationError, VidprovError,
                     VidprovWarning)
from .fingerprint import INDEX_MIN_FRAMES, Fingerprint, file_sha256
from .fingerprint import fingerprint as make_fingerprint
from .index.base import Index, StoredClip
from .manifest import Manifest, read_manifest
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
from .records._fields import new_record_id
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
    return appearance_with(None, given)


def appearance_with(base: Appearance | None, given: Mapping[str, Any],
                    clip_sha256: str | None = None) -> Appearance | None:
    """``base`` (read from an info.json, say) with the fields ``given`` overriding it, as a new appearance.

    Without a base, the fields given make the appearance (None when there are
    none), on the platform of the URL's site unless one is given.
    """
    fields = dict(given)
    if clip_sha256 is not None:
        fields["clip_sha256"] = clip_sha256
    if base is not None:
        return dataclasses.replace(base, id=new_record_id(), **fields)
    if not given:
        return None
    if "platform" not in fields:
        fields["platform"] = _platform_of(fields.get("url"))
    return Appearance(**fields)


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
        made = fingerprint or index_fingerprint(name, index.algorithm, sampling, crop, progress=progress)
        meta = read_metadata(name)
        metadata = meta.to_dict()
        clip = existing.clip if existing is not None else _clip_record(name, sha256, size, made, meta, source_url)

    stored, ((appearance, appearance_created, stored_claims, created),) = _store(
        index, clip, made, metadata, [(appearance, built)])
    return AddResult(name, stored, made, appearance, appearance_created, stored_claims, created)


#: What one appearance (or None) and its claims became: as stored, and whether each was new.
_Stored = tuple[Appearance | None, bool, tuple[Claim, ...], tuple[bool, ...]]


def _store(index: Index, clip: Clip, made: Fingerprint | None, metadata: dict[str, Any] | None,
           groups: Sequence[tuple[Appearance | None, Sequence[Claim]]]) -> tuple[StoredClip, list[_Stored]]:
    """Store the clip (with what it lacked) and each appearance with its claims, in one transaction.

    An appearance or claim equal in content to one stored already, or to one
    stored earlier in the same call, is not stored again.
    """
    results: list[_Stored] = []
    with index.transaction():
        stored = index.add_clip(clip, made, metadata)
        known = index.records([clip.sha256])
        appearances, claims = list(known.appearances), list(known.claims)
        for appearance, built in groups:
            appearance_created = False
            if appearance is not None:
                equal = _find_equal(appearance, appearances)
                if equal is None:
                    index.add_appearance(appearance)
                    appearances.append(appearance)
                    appearance_created = True
                else:
                    built = [dataclasses.replace(claim, appearance_id=equal.id)
                             if claim.appearance_id == appearance.id else claim for claim in built]
                    appearance = equal
            stored_claims, created = _store_claims(index, built, claims)
            claims += [claim for claim, new in zip(stored_claims, created) if new]
            results.append((appearance, appearance_created, stored_claims, created))
    return stored, results


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


# ----------------------------------------------------------------- bulk

#: File name endings taken as video when a folder is walked. A file named on
#: its own is taken whatever its name; sidecars (``.info.json``, subtitles,
#: thumbnails, ``.part`` downloads) are left alone.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".webm", ".mkv", ".avi", ".ts", ".mts", ".m2ts", ".flv", ".ogv",
    ".wmv", ".asf", ".mpg", ".mpeg", ".vob", ".mxf", ".dv"})

#: Ways a batch ends for one file.
ADDED, SKIPPED, FAILED = "added", "skipped", "failed"


def collect_files(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The files named, and the video files in the folders named (recursively, in name order), each once.

    Hidden files and folders (``.name``) inside a folder are left out, and
    symbolic links to folders are not followed. Raises
    :class:`~vidprov.errors.FileAccessError` for a path that does not exist.
    """
    found: dict[str, None] = {}
    for path in paths:
        name = os.fspath(path)
        if os.path.isdir(name):
            for folder, subfolders, files in os.walk(name):
                subfolders[:] = sorted(item for item in subfolders if not item.startswith("."))
                for file in sorted(files):
                    if not file.startswith(".") and os.path.splitext(file)[1].lower() in VIDEO_EXTENSIONS:
                        found.setdefault(os.path.join(folder, file))
        elif os.path.lexists(name):
            found.setdefault(name)
        else:
            raise FileAccessError("no such file or folder", name)
    return list(found)


def sidecar_of(path: str) -> str | None:
    """The yt-dlp ``.info.json`` written beside the file (``clip.info.json`` or ``clip.mp4.info.json``)."""
    for candidate in (os.path.splitext(path)[0] + ".info.json", path + ".info.json"):
        if os.path.isfile(candidate):
            return candidate
    return None


@dataclass(frozen=True)
class FileOutcome:
    """How one file of a batch ended: ``added``, ``skipped`` (indexed already) or ``failed``.

    ``error`` is the one-line reason a file failed; ``records_added`` counts
    the appearances and claims this batch stored for it.
    """

    path: str
    status: str
    sha256: str | None = None
    clip_id: int | None = None
    frames: int | None = None
    records_added: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "sha256": self.sha256, "clip_id": self.clip_id,
                "frames_hashed": self.frames, "records_added": self.records_added, "error": self.error,
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class BatchResult:
    """What :func:`add_many` did with each file, and manifest rows that named no file of the batch."""

    files: tuple[FileOutcome, ...]
    seconds: float
    unmatched_rows: tuple[str, ...] = ()

    def _with(self, status: str) -> list[FileOutcome]:
        return [item for item in self.files if item.status == status]

    @property
    def added(self) -> list[FileOutcome]:
        return self._with(ADDED)

    @property
    def skipped(self) -> list[FileOutcome]:
        return self._with(SKIPPED)

    @property
    def failed(self) -> list[FileOutcome]:
        return self._with(FAILED)

    @property
    def clips_per_second(self) -> float:
        return len(self.files) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"added": len(self.added), "skipped": len(self.skipped), "failed": len(self.failed),
                "seconds": round(self.seconds, 3), "clips_per_second": round(self.clips_per_second, 3),
                "unmatched_manifest_rows": list(self.unmatched_rows),
                "files": [item.to_dict() for item in self.files]}


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch is: files done of ``total``, and since when."""

    done: int
    total: int
    added: int
    skipped: int
    failed: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Files done per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far, or None before the first file is done."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None


class ClusterError(VidprovError):
    """The Dask cluster named cannot be used: its package is missing, or the scheduler cannot be reached."""


class _InlineExecutor(concurrent.futures.Executor):
    """Runs each task when it is submitted, in this process: ``--jobs 1`` without a worker to feed."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller as the future's outcome
            future.set_exception(error)
        return future


# The two tasks a worker runs. They are top-level functions of plain
# arguments (picklable, importable by a spawned process or a Dask worker), and
# return errors as text: an exception's own arguments do not always survive
# the trip back.

_Reply = tuple[bool, Any, tuple[str, ...]]  # (ok, value or one-line reason, warnings)


def _run_task(function: Callable[..., Any], path: str, *args: Any) -> _Reply:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VidprovWarning)
        try:
            value = function(path, *args)
            ok = True
        except VidprovError as error:
            value, ok = error.message if error.path == path else str(error), False
        except Exception as error:  # noqa: BLE001 - one bad file must not end the batch
            value, ok = f"unexpected {type(error).__name__} ({error}); this is a bug in vidprov", False
    notes = tuple(_one_line(str(item.message)) for item in caught if issubclass(item.category, VidprovWarning))
    return ok, _one_line(value) if not ok else value, notes


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def _hash_task(path: str) -> _Reply:
    return _run_task(_hash_file, path)


def _hash_file(path: str) -> tuple[str, int]:
    return file_sha256(check_file(path))


def index_fingerprint(path: str | os.PathLike[str], algorithm: str, sampling: Sampling | None = None,
                      crop: bool = True, *, progress: Callable[[float, float | None], None] | None = None,
                      threads: int | None = None) -> Fingerprint:
    """Fingerprint a clip as the index stores it: with inner pictures and strips, and ``sampling``, or when
    that is ``None`` two frames a second, more for a clip too short to give
    :data:`~vidprov.fingerprint.INDEX_MIN_FRAMES`.
    """
    return make_fingerprint(path, algorithm=algorithm, sampling=sampling, crop=crop, inner=True, strips=True,
                            min_frames=INDEX_MIN_FRAMES if sampling is None else None, progress=progress,
                            threads=threads)


def _fingerprint_task(path: str, sha256: str, algorithm: str, sampling: Sampling | None, crop: bool,
                      threads: int | None = None) -> _Reply:
    return _run_task(_fingerprint_file, path, sha256, algorithm, sampling, crop, threads)


def _fingerprint_file(path: str, sha256: str, algorithm: str, sampling: Sampling | None, crop: bool,
                      threads: int | None = None) -> tuple[Fingerprint, dict[str, Any], str, float | None]:
    made = index_fingerprint(path, algorithm, sampling, crop, threads=threads)
    if made.sha256 != sha256:
        raise FileAccessError("changed between being hashed and being fingerprinted: wait until nothing is "
                              "writing to it, and add it again", path)
    meta = read_metadata(path)
    duration = made.duration
    if duration is None and meta.format.duration is not None:
        duration = meta.format.duration.value
    return made, meta.to_dict(), media_type(path, meta), duration


@dataclass
class _Job:
    """One file on its way through a batch."""

    path: str
    sha256: str = ""
    size: int = 0
    groups: list[tuple[Appearance | None, tuple[Claim, ...]]] = dataclasses.field(default_factory=list)
    source_url: str | None = None
    notes: tuple[str, ...] = ()
    crashes: int = 0


#: Times a file is given to a fresh worker after the one working on it died.
MAX_WORKER_DEATHS = 2


def add_many(index: Index, paths: Sequence[str | os.PathLike[str]], *, jobs: int | None = None,
             executor: concurrent.futures.Executor | None = None, workers: int | None = None,
             manifest: Manifest | str | os.PathLike[str] | None = None, sampling: Sampling | None = None,
             crop: bool = True, progress: Callable[[BatchProgress], None] | None = None) -> BatchResult:
    """Add every file of ``paths`` (files, and video files in folders, recursively) to ``index``.

    Files are fingerprinted ``jobs`` at a time in worker processes (default:
    one per CPU; 1 works in this process), or on ``executor`` (a Dask
    cluster's, say, with ``workers`` tasks at a time) when one is given. This
    process alone writes to the index, one transaction per clip, so that
    stopping the batch at any moment leaves every clip whole or absent.

    Each file's sha256 is computed first: a clip indexed already is skipped
    without being decoded, so running the same batch again resumes it. A
    file's appearance and claims come from its yt-dlp ``.info.json`` sidecar
    (:func:`sidecar_of`) and from the ``manifest`` rows about it
    (:mod:`vidprov.manifest`); a row's columns override the sidecar's. A
    clip indexed already still gets the records that are new.

    A file that cannot be read, or a bad sidecar or manifest row, fails that
    file only; the result says how every file ended. ``progress`` is called
    after each file.
    """
    if isinstance(manifest, (str, os.PathLike)):
        manifest = read_manifest(manifest)
    files = collect_files(paths)
    if manifest is not None:
        # Files the manifest names by path are added too; one that is missing fails on its own.
        seen = {os.path.realpath(name) for name in files}
        files += [name for name in manifest.paths() if os.path.realpath(name) not in seen]
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValidationError("jobs", jobs, "a whole number of at least 1")
    if executor is None:
        cores = jobs or os.cpu_count() or 1
        count = workers = max(1, min(cores, len(files)))
        # Each worker decodes on cores // workers threads: one clip per core is
        # less work than threads sharing one clip, and --jobs N uses N cores.
        threads: int | None = max(1, cores // count)
        renew: Callable[[], concurrent.futures.Executor] | None = (
            (lambda: _process_pool(count)) if count > 1 else None)
        pool: Callable[[], concurrent.futures.Executor] = renew or _InlineExecutor
    elif workers is None or isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError("workers", workers, "the number of tasks the executor runs at once (1 or more)")
    else:
        given, renew = executor, None
        pool = lambda: given  # noqa: E731
        threads = None  # the executor's own configuration decides
    batch = _Batch(index, files, manifest, sampling, crop, progress)
    batch.threads = threads
    # Hashing needs no decoder and hashlib lets other threads run: threads of
    # this process do it, so that a batch of clips indexed already starts no
    # worker at all.
    hasher = _InlineExecutor() if workers == 1 else concurrent.futures.ThreadPoolExecutor(workers)
    try:
        batch.run(hasher, pool, workers, renew)
    finally:
        hasher.shutdown(wait=True, cancel_futures=True)
        if batch.pool is not None and executor is None:
            batch.pool.shutdown(wait=True, cancel_futures=True)
    return batch.result()


def _process_pool(workers: int) -> concurrent.futures.Executor:
    # Spawned, not forked: a forked child would share this process's open
    # index connection and the decoder's threads.
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_watch_parent, initargs=(os.getpid(),))


def _watch_parent(parent: int) -> None:
    """In a worker: end this process soon after ``parent`` is gone (killed, say), rather than linger."""
    import cv2

    cv2.setNumThreads(1)  # one worker per core: OpenCV's threads would only contend with the others

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="vidprov-parent-watch", daemon=True).start()


class _Batch:
    """The state of one :func:`add_many` run: files waiting, tasks running, and how each file ended."""

    def __init__(self, index: Index, files: list[str], manifest: Manifest | None, sampling: Sampling | None,
                 crop: bool, progress: Callable[[BatchProgress], None] | None) -> None:
        self.index = index
        self.files = files
        self.manifest = manifest
        self.sampling = sampling
        self.crop = crop
        self.progress = progress
        self.outcomes: dict[str, FileOutcome] = {}
        self.started = time.monotonic()
        self.running: dict[concurrent.futures.Future[_Reply], tuple[str, _Job, concurrent.futures.Executor]] = {}
        self.counts: collections.Counter[str] = collections.Counter()
        # For each sha256 being fingerprinted: the file it is fingerprinted from, and other files of those bytes.
        self.waiting: dict[str, tuple[_Job, list[_Job]]] = {}
        self.used_rows: set[str] = set()
        self.hasher: concurrent.futures.Executor = _InlineExecutor()
        self.pool: concurrent.futures.Executor | None = None  # made when the first file needs decoding
        self.make_pool: Callable[[], concurrent.futures.Executor] = _InlineExecutor
        self.threads: int | None = None  # decoding threads per clip

    def run(self, hasher: concurrent.futures.Executor, make_pool: Callable[[], concurrent.futures.Executor],
            workers: int, renew: Callable[[], concurrent.futures.Executor] | None) -> None:
        self.hasher, self.make_pool = hasher, make_pool
        queue: collections.deque[_Job] = collections.deque(_Job(path) for path in self.files)
        # Twice as many tasks as workers, so that none waits while this process writes.
        limit = 2 * workers
        if self.progress is not None:
            self.progress(BatchProgress(0, len(self.files), 0, 0, 0, 0.0))
        while queue or self.running:
            while queue and len(self.running) < limit:
                self._submit("hash", queue.popleft())
            done, _ = concurrent.futures.wait(self.running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                stage, job, pool = self.running.pop(future)
                try:
                    ok, value, notes = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    # A worker died (FFmpeg crashed, or it ran out of memory): every task it
                    # shared the pool with is lost too. Each goes to a fresh pool again, and
                    # a file that was there at every death gives up.
                    job.crashes += 1
                    if renew is None or job.crashes > MAX_WORKER_DEATHS:
                        self._finish(job, FAILED, error=f"the worker process decoding it died ({job.crashes} "
                                                        "times); it may be a file that crashes FFmpeg")
                        continue
                    if pool is self.pool:
                        pool.shutdown(wait=False, cancel_futures=True)
                        self.pool = renew()
                    if stage == "hash":
                        queue.appendleft(job)
                    else:
                        self._submit(stage, job)
                    continue
                except Exception as error:  # noqa: BLE001 - a remote worker lost, say
                    self._finish(job, FAILED, error=_one_line(f"the worker failed ({type(error).__name__}: "
                                                              f"{error})"))
                    continue
                job.notes += notes
                if not ok:
                    self._finish(job, FAILED, error=value)
                elif stage == "hash":
                    job.sha256, job.size = value
                    self._hashed(job)
                else:
                    self._fingerprinted(job, *value)

    def _submit(self, stage: str, job: _Job) -> None:
        if stage == "hash":
            self.running[self.hasher.submit(_hash_task, job.path)] = (stage, job, self.hasher)
            return
        if self.pool is None:
            self.pool = self.make_pool()
        try:
            future = self.pool.submit(_fingerprint_task, job.path, job.sha256, self.index.algorithm, self.sampling,
                                      self.crop, self.threads)
        except concurrent.futures.process.BrokenProcessPool as error:
            # Broken before this task ran: the loop handles it as it would a death during it.
            future = concurrent.futures.Future()
            future.set_exception(error)
        self.running[future] = (stage, job, self.pool)

    def _hashed(self, job: _Job) -> None:
        try:
            self._records(job)
        except VidprovError as error:
            self._finish(job, FAILED, error=_one_line(error.message if error.path == job.path else str(error)))
            return
        if job.sha256 in self.waiting:
            self.waiting[job.sha256][1].append(job)
            return
        existing = self.index.clip_by_sha256(job.sha256)
        if existing is not None and self.index.fingerprint(existing.id) is not None:
            self._store(job, existing.clip, None, None)
            return
        self.waiting[job.sha256] = (job, [])
        self._submit("fingerprint", job)

    def _records(self, job: _Job) -> None:
        """The appearances and claims of the file, from its sidecar and manifest rows."""
        sidecar = sidecar_of(job.path)
        base = appearance_from_info_json(sidecar) if sidecar is not None else None
        if base is not None:
            job.source_url = base.url
        rows = self.manifest.rows_for(job.path, job.sha256) if self.manifest is not None else []
        if not rows and base is not None:
            job.groups.append((_appearance_of_clip(dataclasses.replace(base, id=new_record_id()), job.sha256), ()))
        for row in rows:
            self.used_rows.add(row.label)
            job.groups.append(row.records(job.sha256, base=base, source=self.manifest.path if self.manifest
                                          else None))

    def _fingerprinted(self, job: _Job, made: Fingerprint, metadata: dict[str, Any], kind: str,
                       duration: float | None) -> None:
        clip = Clip(sha256=job.sha256, size=job.size, media_type=kind, duration_s=duration,
                    source_url=job.source_url)
        existing = self.index.clip_by_sha256(job.sha256)
        self._store(job, existing.clip if existing is not None else clip, made, metadata)
        _, others = self.waiting.pop(job.sha256, (job, []))
        for other in others:
            self._store(other, clip, None, None)

    def _store(self, job: _Job, clip: Clip, made: Fingerprint | None, metadata: dict[str, Any] | None) -> None:
        try:
            if made is None and not any(appearance is not None or claims for appearance, claims in job.groups):
                stored = self.index.clip_by_sha256(job.sha256)
                assert stored is not None
                records = 0
            else:
                stored, results = _store(self.index, clip, made, metadata, job.groups)
                records = sum(created + sum(flags) for _, created, _, flags in results)
        except VidprovError as error:
            self._finish(job, FAILED, error=_one_line(str(error)))
            return
        self._finish(job, ADDED if stored.created else SKIPPED, clip_id=stored.id, records_added=records,
                     frames=len(made.frames) if made is not None and stored.created else None)

    def _finish(self, job: _Job, status: str, **facts: Any) -> None:
        if status == FAILED and self.waiting.get(job.sha256, (None,))[0] is job:
            # Files of the same bytes fail the same way.
            for other in self.waiting.pop(job.sha256)[1]:
                self._finish(other, FAILED, error=facts.get("error"))
        self.outcomes[job.path] = FileOutcome(job.path, status, sha256=job.sha256 or None, warnings=job.notes,
                                              **facts)
        self.counts[status] += 1
        if self.progress is not None:
            self.progress(BatchProgress(len(self.outcomes), len(self.files), self.counts[ADDED],
                                        self.counts[SKIPPED], self.counts[FAILED], time.monotonic() - self.started))

    def result(self) -> BatchResult:
        files = [self.outcomes[path] for path in self.files if path in self.outcomes]
        unmatched: list[str] = []
        if self.manifest is not None:
            for row in self.manifest.rows:
                if row.problem is not None:
                    files.append(FileOutcome(self.manifest.path, FAILED,
                                             error=_one_line(row.problem.message)))
                elif row.label not in self.used_rows and row.path is None:
                    unmatched.append(f"{row.label}: sha256 {row.sha256} is not the sha256 of any file of the batch")
        return BatchResult(tuple(files), time.monotonic() - self.started, tuple(unmatched))


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[tuple[concurrent.futures.Executor, int]]:
    """An executor on the Dask cluster whose scheduler is at ``address``, and how many tasks it runs at once.

    Needs the ``dask`` extra (``pip install 'vidprov[dask]'``). Every worker
    must see the files at the paths this process sees them (a shared mount).
    """
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise ClusterError(f"--dask needs the dask extra: pip install 'vidprov[dask]' ({error})") from None
    try:
        client = Client(address, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: {error})") \
            from None
    try:
        threads = sum(client.nthreads().values())
        if threads < 1:
            raise ClusterError(f"the Dask cluster at {address} has no workers")
        yield client.get_executor(pure=False), threads
    finally:
        client.close()


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


__all__ = ["ADDED", "AddResult", "BatchProgress", "BatchResult", "ClaimDraft", "ClusterError", "FAILED",
           "FileOutcome", "ImportResult", "MEDIA_TYPES", "MIN_PREFIX", "REFERENCE_SYNTAX", "SKIPPED",
           "VIDEO_EXTENSIONS", "add", "add_claims", "add_many", "appearance_with", "assess", "build_appearance",
           "collect_files", "dask_executor", "decide", "import_bundle", "media_type", "place_from_parts",
           "resolve_appearance", "resolve_clip", "resolve_clips", "sidecar_of"]
