"""A provenance report a colleague can read: one self-contained HTML file.

:func:`build` gathers everything known about a clip: its keyframes, what the
file says about itself, what people claimed about it and what the desk
established, every indexed clip that shares its footage (with matched frames
side by side), a timeline of every known appearance of the footage against
the date claimed for it, and the places claimed. :func:`save` writes it as
one HTML file with every picture embedded, no script, and a
Content-Security-Policy that forbids loading anything, so it opens offline
and can be mailed or archived as it is.

Memory stays flat: :func:`build` keeps only small thumbnails (of the matched
frames), and the keyframes are decoded again while the file is written, each
full-size frame encoded and dropped in turn.

Matched clips' pictures: the index keeps fingerprints, not files. A matched
clip's frame is shown when its file is found by its sha256 (only files of
the right size are read) in the query clip's folder or in ``folders``;
otherwise the report shows the query's frame with the matched clip's time,
taken from its stored fingerprint, and the distance between the two frames'
hashes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Sequence

import numpy as np

from .. import keyframes as kf
from ..borders import CropBox
from ..errors import FileAccessError, IndexNotFoundError, NotFoundError, VidprovError
from ..fingerprint import Fingerprint
from ..hashing import DEFAULT_ALGORITHM
from ..index import ENVIRONMENT_VARIABLE, open_index, resolve_location
from ..index.base import Index, StoredClip
from ..ingest import resolve_clip
from ..match import (
    DEFAULT_THRESHOLD,
    MIN_QUALITY,
    Match,
    Provenance,
    fingerprint_query,
    judge,
    provenance,
    search,
)
from ..metadata import MediaMetadata, printable, read_metadata
from ..records import Claim, RecordBundle, parse_date_claim
from ._frames import Picture, find_files, thumbnails_at

#: Matched frame pairs shown per match.
PAIRS_PER_MATCH = 6
#: Matches whose frames are pictured; further matches are listed without pictures.
PICTURED_MATCHES = 10
#: Width in pixels of the pictures of matched frames.
PAIR_WIDTH = 320

Progress = Callable[[float, "float | None"], None]
#: A frame as pictured: its time, the part of it shown (None: all) and whether it is flipped.
View = tuple[float, "CropBox | None", bool]


@dataclass(frozen=True)
class FramePair:
    """A query frame and the matched clip's frame at the time the match maps it to.

    ``distance`` is the Hamming distance between the two frames' hashes (the
    query's mirrored or windowed hash when that is what matched). A picture is
    None when its clip's file was not available.
    """

    query_time: float
    reference_time: float
    distance: int
    query: Picture | None = None
    reference: Picture | None = None


@dataclass(frozen=True)
class MatchEvidence:
    """One indexed clip sharing footage with the query, and what shows it."""

    match: Match
    clip: StoredClip | None
    judgement: str  # "same footage" or "partial overlap"
    file: str | None = None  # where the matched clip's file was found, if anywhere
    pairs: tuple[FramePair, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything a report shows, gathered by :func:`build`; write it with :func:`save` or :func:`to_html`."""

    reference: str
    sha256: str
    fingerprint: Fingerprint
    provenance: Provenance
    records: RecordBundle
    generated_at: datetime
    path: str | None = None
    clip: StoredClip | None = None
    index_location: str | None = None
    metadata: MediaMetadata | None = None
    keyframes: kf.KeyframeSet | None = None
    matches: tuple[MatchEvidence, ...] = ()
    clip_ids: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """What the report calls the clip: its file name, else its clip id."""
        if self.path is not None:
            return os.path.basename(self.path)
        return f"clip {self.clip.id}" if self.clip is not None else self.sha256[:12]


def build(clip: str | os.PathLike[str], index: Index | None, *, folders: Sequence[str | os.PathLike[str]] = (),
          threshold: float = DEFAULT_THRESHOLD, claimed_date: str | None = None,
          progress: Progress | None = None) -> Report:
    """Gather the report on ``clip``: a clip file, or an indexed clip's id or sha256 prefix.

    A file is fingerprinted (with its mirror image and insets, as
    ``vidprov match`` does) and looked up in ``index`` by its sha256; it need
    not be indexed. For a clip reference, the file is looked for in
    ``folders``; without it the report uses the stored fingerprint and has no
    keyframes. ``index`` may be None: the report then has no matches and no
    records. ``folders`` are searched (with their subfolders) for the
    matched clips' files too. ``claimed_date`` is the date now claimed for
    the clip, when it is not recorded in the index.
    """
    text = os.fspath(clip)
    notes: list[str] = []
    stored: StoredClip | None = None
    path: str | None = None
    if os.path.isfile(text):
        path = text
    elif index is None:
        raise NotFoundError(f"{printable(text)}: no such file (and no index to look up a clip reference in)")
    else:
        stored = resolve_clip(index, text)
        path = find_files({stored.sha256: stored.clip.size}, [(f, True) for f in folders]).get(stored.sha256)
    searchable: list[tuple[str, bool]] = [(os.fspath(folder), True) for folder in folders]

    algorithm = index.algorithm if index is not None else DEFAULT_ALGORITHM
    if path is not None:
        query = fingerprint_query(path, algorithm=algorithm, progress=progress)
        if stored is None and index is not None:
            stored = index.clip_by_sha256(query.sha256)
        searchable.insert(0, (os.path.dirname(os.path.abspath(path)), False))
    else:
        assert stored is not None and index is not None
        found = index.fingerprint(stored.id)
        if found is None:
            raise NotFoundError(f"clip {stored.id} has no stored fingerprint and its file was not found; "
                                "give the clip file instead (or --clips-dir, the folder that holds it)")
        query = found
        notes.append(f"The file of clip {stored.id} was not found, so this report has no keyframes, and its "
                     "matches were searched with the stored fingerprint only (no mirrored or inset views). "
                     "Give the clip file, or the folder that holds it, to include them.")

    extra: tuple[Claim, ...] = ()
    if claimed_date:
        extra = (Claim(clip_sha256=query.sha256, text=f"claimed date {claimed_date}",
                       date=parse_date_claim(claimed_date, field="claimed date")),)
    if index is not None:
        found_matches = search(index, query, threshold=threshold, exclude=query.sha256)
        verdict = provenance(index, query.sha256, found_matches, extra)
        records = index.records([query.sha256] + [m.reference for m in found_matches])
    else:
        found_matches = []
        claimed = extra[0].date if extra else None
        verdict = Provenance(None, claimed, None, (), "No index was searched, so nothing is known of earlier "
                                                      "copies of this footage.")
        records = RecordBundle(claims=extra)
        notes.append(f"No index was found at {resolve_location(None)}: this report shows the file alone. "
                     "Give --index to compare it with what the desk knows.")

    metadata = _metadata(path, stored, index, notes)
    selection = kf.extract(path, algorithm=algorithm) if path is not None else None
    evidence = _evidence(index, query, path, found_matches, searchable) if index is not None else ()
    clip_ids: dict[str, int] = {}
    if index is not None:
        shas = {sha for item in records.assessments for sha in item.clip_sha256s}
        shas |= {item.clip_sha256 for item in records.appearances if item.clip_sha256}
        for sha in sorted(shas):
            known = index.clip_by_sha256(sha)
            if known is not None:
                clip_ids[sha] = known.id
    return Report(reference=text, sha256=query.sha256, fingerprint=query, provenance=verdict, records=records,
                  generated_at=datetime.now(timezone.utc), path=path, clip=stored,
                  index_location=index.location if index is not None else None, metadata=metadata,
                  keyframes=selection, matches=evidence, clip_ids=clip_ids, notes=tuple(notes))


def _metadata(path: str | None, stored: StoredClip | None, index: Index | None,
              notes: list[str]) -> MediaMetadata | None:
    try:
        if path is not None:
            return read_metadata(path)
        if stored is not None and index is not None:
            data = index.metadata(stored.id)
            return MediaMetadata.from_dict(data) if data is not None else None
    except VidprovError as error:
        notes.append(f"The embedded metadata could not be read: {error}")
    return None


def _evidence(index: Index, query: Fingerprint, path: str | None, matches: list[Match],
              folders: list[tuple[str, bool]]) -> tuple[MatchEvidence, ...]:
    clips = {m.clip_id: index.clip_by_id(m.clip_id) for m in matches if m.clip_id is not None}
    pictured = matches[:PICTURED_MATCHES]
    references = index.fingerprints([m.clip_id for m in pictured if m.clip_id is not None])
    wanted = {stored.sha256: stored.clip.size for m in pictured
              if m.clip_id is not None and (stored := clips.get(m.clip_id)) is not None}
    files = find_files(wanted, folders) if wanted else {}

    chosen: dict[int, list[tuple[float, float, int]]] = {}
    query_views: set[View] = set()
    for number, item in enumerate(pictured):
        reference = references.get(item.clip_id) if item.clip_id is not None else None
        if reference is None:
            continue
        chosen[number] = pair_times(item, query, reference)
        box = item.window if item.window is not None else query.crop
        query_views |= {(tq, box, item.mirrored) for tq, _, _ in chosen[number]}
    query_pictures = _pictures(path, query_views)

    evidence = []
    for number, item in enumerate(matches):
        stored = clips.get(item.clip_id) if item.clip_id is not None else None
        reference = references.get(item.clip_id) if item.clip_id is not None else None
        file = files.get(stored.sha256) if stored is not None else None
        pairs: list[FramePair] = []
        if number in chosen and reference is not None:
            box = item.window if item.window is not None else query.crop
            reference_pictures = _pictures(file, {(tr, reference.crop, False) for _, tr, _ in chosen[number]})
            for tq, tr, distance in chosen[number]:
                pairs.append(FramePair(tq, tr, distance, query_pictures.get((tq, box, item.mirrored)),
                                       reference_pictures.get((tr, reference.crop, False))))
        evidence.append(MatchEvidence(item, stored, judge(item), file, tuple(pairs)))
    return tuple(evidence)


def _pictures(path: str | None, views: set[View]) -> dict[View, Picture]:
    """Thumbnails of the frames at the times in ``views``, each cut and flipped as it says; one pass per view."""
    if path is None or not views:
        return {}
    pictures: dict[View, Picture] = {}
    for box, flip in {(box, flip) for _, box, flip in views}:
        times = {time: (box, flip) for time, b, f in views if (b, f) == (box, flip)}
        for time, picture in thumbnails_at(path, times, PAIR_WIDTH).items():
            pictures[(time, box, flip)] = picture
    return pictures


def pair_times(item: Match, query: Fingerprint, reference: Fingerprint,
               limit: int = PAIRS_PER_MATCH) -> list[tuple[float, float, int]]:
    """Frames to show side by side for a match: (query time, reference time, hash distance) triples.

    Up to three frames per segment (near its start, middle and end), at most
    ``limit`` in all, spread over the segments. Each point is mapped to the
    reference time the match's alignment gives and snapped to the nearest
    frame of the reference's stored fingerprint, then to the query frame the
    alignment puts nearest that frame.
    """
    q_times, r_times = query.times(), reference.times()
    q_good = np.array([f.quality >= MIN_QUALITY for f in query.frames], dtype=bool)
    r_good = np.array([f.quality >= MIN_QUALITY for f in reference.frames], dtype=bool)
    if not q_good.any() or not r_good.any() or not item.segments:
        return []
    segments = sorted(item.segments, key=lambda s: -s.duration)[:limit]
    per_segment = max(1, min(3, limit // len(segments)))
    shares = {1: (0.5,), 2: (0.2, 0.8), 3: (0.1, 0.5, 0.9)}[per_segment]
    window_number = query.windows.index(item.window) if item.window in query.windows else None
    # A 9:16 window of 16:9 footage matched its strips, which one reference frame in four has.
    through_strips = item.cropped and bool(query.strip_views) and bool(reference.strips)
    if through_strips:
        r_good &= np.array([bool(f.strips) for f in reference.frames], dtype=bool)
        if not r_good.any():
            return []
    picks: dict[float, tuple[float, float, int]] = {}
    for segment in sorted(segments, key=lambda s: s.query_start):
        inside = np.nonzero(q_good & (q_times >= segment.query_start - 1e-6) & (q_times <= segment.query_end))[0]
        if not len(inside):
            continue
        for share in shares:
            target = segment.query_start + share * segment.duration
            mapped = segment.reference_start + (target - segment.query_start) * item.speed
            candidates = np.nonzero(r_good)[0]
            r = int(candidates[np.argmin(np.abs(r_times[candidates] - mapped))])
            # Then the query frame the alignment puts nearest that reference frame: with a query
            # sampled more densely than the index, the nearest in time is the same picture.
            back = segment.query_start + (float(r_times[r]) - segment.reference_start) / item.speed
            q = int(inside[np.argmin(np.abs(q_times[inside] - back))])
            frame, stored = query.frames[q], reference.frames[r]
            if through_strips and frame.strip_views and stored.strips:
                distance = min(view - strip for view in frame.strip_views for strip in stored.strips)
            elif item.cropped and frame.inner_views and stored.inner is not None:
                # A cropped copy matched the reference's inner picture in one of its inner views.
                distance = min(view - stored.inner for view in frame.inner_views)
            elif item.mirrored and frame.mirror is not None:
                distance = frame.mirror - stored.hash
            elif window_number is not None and window_number < len(frame.windows):
                distance = frame.windows[window_number] - stored.hash
            else:
                distance = frame.hash - stored.hash
            picks.setdefault(frame.t, (frame.t, stored.t, distance))
    return sorted(picks.values())[:limit]


# ------------------------------------------------------------------ writing


def write_html(report: Report, out: IO[str]) -> None:
    """Write the report as HTML to a text stream, decoding the keyframes as it goes."""
    from ._html import write

    write(report, out)


def to_html(report: Report) -> str:
    """The report as one HTML string (for files of any length, :func:`save` keeps memory flat)."""
    import io

    buffer = io.StringIO()
    write_html(report, buffer)
    return buffer.getvalue()


def save(report: Report, output: str | os.PathLike[str]) -> Path:
    """Write the report to ``output``, whole or not at all (an earlier file stays until the new one is done)."""
    target = Path(output)
    with _atomic(target) as handle:
        write_html(report, handle)
    return target


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[IO[str]]:
    try:
        handle = tempfile.NamedTemporaryFile("w", dir=target.parent if str(target.parent) else ".",
                                             prefix=".vidprov-", suffix=".tmp", delete=False, encoding="utf-8")
    except OSError as error:
        raise FileAccessError(f"cannot write ({error.strerror or error})", str(target)) from None
    try:
        with handle:
            yield handle
        # A report is made to be shared: the usual permissions, not the temporary file's private ones.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise FileAccessError(f"cannot write ({error.strerror or error})", str(target)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def open_for_report(location: str | os.PathLike[str] | None) -> Index | None:
    """The index to report against; None when none was asked for and there is none at ``./vidprov.db``.

    An index named by ``location`` or ``$VIDPROV_INDEX`` must exist: a typo
    there should be an error, not a report that silently found nothing.
    """
    try:
        return open_index(location)
    except IndexNotFoundError:
        if location or os.environ.get(ENVIRONMENT_VARIABLE):
            raise
        return None


def create(clip: str | os.PathLike[str], output: str | os.PathLike[str], *,
           index_location: str | os.PathLike[str] | None = None, folders: Iterable[str | os.PathLike[str]] = (),
           threshold: float = DEFAULT_THRESHOLD, claimed_date: str | None = None,
           progress: Progress | None = None) -> Report:
    """Build the report on ``clip`` against the index at ``index_location`` and save it to ``output``."""
    index = open_for_report(index_location)
    try:
        report = build(clip, index, folders=list(folders), threshold=threshold, claimed_date=claimed_date,
                       progress=progress)
    finally:
        if index is not None:
            index.close()
    save(report, output)
    return report


__all__ = ["FramePair", "MatchEvidence", "Picture", "Report", "build", "create", "open_for_report", "pair_times",
           "save", "to_html", "write_html"]
