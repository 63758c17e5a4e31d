"""Matching: do two fingerprints share footage, and where?

:func:`compare` finds the frame pairs whose hashes are close, then votes on a
time alignment ``reference_time = speed * query_time + offset`` across them, so
that only pairs agreeing on one alignment count. A re-encode, a trim, a speed
change and a clip cut into a compilation all keep such an alignment; frames
that merely look alike (two dark scenes, two skies) do not line up in time.

Each alignment found becomes one or more :class:`Segment` objects, and the
:class:`Match` reports coverage both ways, the number of distinct matched
frames, whether the query is mirrored, and a 0-1 score of how strong the
evidence is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ValidationError
from .fingerprint import Fingerprint
from .hashing import ALGORITHMS, hamming_matrix

#: Share of a hash's bits that may differ for two frames to count as the same picture.
FRAME_DISTANCE_SHARE = 0.30
#: Frames with less picture than this (0-100) match anything and are left out.
MIN_QUALITY = 25
#: Fewest distinct query frames an alignment needs.
MIN_FRAMES = 3
#: Speeds (reference seconds per query second) tried when voting.
SPEEDS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25)
#: Width of an offset bin in seconds; also how far a pair may sit off the alignment.
OFFSET_TOLERANCE = 0.75
#: A gap longer than this (seconds) between matched frames splits a segment.
MAX_GAP = 3.0
#: Most alignments looked for in one pair of clips (a compilation may reuse a clip several times).
MAX_ALIGNMENTS = 8
#: Score at or above which two clips are said to share footage.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Segment:
    """A stretch of shared footage: query seconds mapped to reference seconds."""

    query_start: float
    query_end: float
    reference_start: float
    reference_end: float

    @property
    def duration(self) -> float:
        return self.query_end - self.query_start

    def to_dict(self) -> dict[str, float]:
        return {"query_start": round(self.query_start, 3), "query_end": round(self.query_end, 3),
                "reference_start": round(self.reference_start, 3), "reference_end": round(self.reference_end, 3)}


@dataclass(frozen=True)
class Match:
    """The evidence that a query shares footage with a reference."""

    score: float
    query_coverage: float
    reference_coverage: float
    matched_frames: int
    mirrored: bool
    speed: float
    segments: tuple[Segment, ...]
    mean_distance: float
    reference: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.reference,
            "score": round(self.score, 4),
            "query_coverage": round(self.query_coverage, 4),
            "reference_coverage": round(self.reference_coverage, 4),
            "matched_frames": self.matched_frames,
            "mirrored": self.mirrored,
            "speed": round(self.speed, 3),
            "mean_distance": round(self.mean_distance, 2),
            "segments": [segment.to_dict() for segment in self.segments],
        }


@dataclass
class _Alignment:
    speed: float
    offset: float
    query_frames: np.ndarray  # indices into the query's usable frames
    reference_frames: np.ndarray
    distances: np.ndarray


def _usable(fp: Fingerprint) -> np.ndarray:
    return np.array([f.quality >= MIN_QUALITY for f in fp.frames], dtype=bool)


def _step(times: np.ndarray, duration: float | None) -> float:
    """Typical spacing of sampled frames, used to give the last frame of a segment its length."""
    if len(times) >= 2:
        return float(min(1.0, np.median(np.diff(times))))
    return min(1.0, duration or 1.0)


def _pairs(query: np.ndarray, reference: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (and distances) of query and reference hashes within ``limit`` bits."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    block = max(1, 4_000_000 // max(1, reference.shape[0] * reference.shape[1]))
    for start in range(0, len(query), block):
        distances = hamming_matrix(query[start:start + block], reference)
        i, j = np.nonzero(distances <= limit)
        rows.append(i + start)
        cols.append(j)
        dists.append(distances[i, j])
    if not rows:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)


def _best_alignment(tq: np.ndarray, tr: np.ndarray, qi: np.ndarray, rj: np.ndarray,
                    dist: np.ndarray) -> _Alignment | None:
    """The speed and offset on which most distinct query frames agree."""
    best: tuple[int, float, float] | None = None
    for speed in SPEEDS:
        offsets = tr[rj] - speed * tq[qi]
        bins = np.floor(offsets / OFFSET_TOLERANCE).astype(np.int64)
        # Count distinct query frames per bin, merging each bin with its right neighbour
        # so that an offset on a bin edge is not split in two.
        for shift in (0, 1):
            keys = (bins + shift) // 2 if shift else bins // 2
            order = np.lexsort((qi, keys))
            k, q = keys[order], qi[order]
            distinct = np.ones(len(k), dtype=bool)
            distinct[1:] = (k[1:] != k[:-1]) | (q[1:] != q[:-1])
            unique_keys, counts = np.unique(k[distinct], return_counts=True)
            if not len(counts):
                continue
            top = int(np.argmax(counts))
            votes = int(counts[top])
            if best is None or votes > best[0] or (votes == best[0] and abs(speed - 1.0) < abs(best[1] - 1.0)):
                centre = float(np.median(offsets[keys == unique_keys[top]]))
                best = (votes, speed, centre)
    if best is None or best[0] < 1:
        return None
    _, speed, offset = best
    # Refine speed and offset by least squares on the pairs near the winning line.
    for _ in range(2):
        near = np.abs(tr[rj] - (speed * tq[qi] + offset)) <= OFFSET_TOLERANCE * 1.5
        if near.sum() >= 4 and np.ptp(tq[qi[near]]) > 1.0:
            fitted_speed, fitted_offset = np.polyfit(tq[qi[near]], tr[rj[near]], 1)
            if 0.7 <= fitted_speed <= 1.4:
                speed, offset = float(fitted_speed), float(fitted_offset)
    near = np.abs(tr[rj] - (speed * tq[qi] + offset)) <= OFFSET_TOLERANCE * 1.5
    # Keep the closest reference frame for each query frame.
    candidates = np.nonzero(near)[0]
    order = candidates[np.lexsort((dist[candidates], qi[candidates]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = qi[order][1:] != qi[order][:-1]
    chosen = order[first]
    return _Alignment(speed, offset, qi[chosen], rj[chosen], dist[chosen])


def _segments(alignment: _Alignment, tq: np.ndarray, q_step: float, ref_duration: float | None) -> list[Segment]:
    times = np.sort(tq[alignment.query_frames])
    segments: list[Segment] = []
    start = previous = float(times[0])
    count = 1

    def close(first: float, last: float) -> None:
        end = last + q_step
        ref_start = alignment.speed * first + alignment.offset
        ref_end = alignment.speed * end + alignment.offset
        if ref_duration:
            ref_start, ref_end = max(0.0, ref_start), min(ref_duration, ref_end)
        segments.append(Segment(first, end, max(0.0, ref_start), max(ref_start, ref_end)))

    for t in times[1:]:
        t = float(t)
        if t - previous > MAX_GAP:
            if count >= 2 or not segments:
                close(start, previous)
            start, count = t, 0
        previous = t
        count += 1
    close(start, previous)
    return segments


def _covered(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _compare_hashes(query: Fingerprint, q_hashes: np.ndarray, reference: Fingerprint,
                    limit: int) -> tuple[list[_Alignment], np.ndarray, np.ndarray]:
    q_ok, r_ok = _usable(query), _usable(reference)
    tq_all, tr_all = query.times(), reference.times()
    q_index, r_index = np.nonzero(q_ok)[0], np.nonzero(r_ok)[0]
    tq, tr = tq_all[q_index], tr_all[r_index]
    if not len(q_index) or not len(r_index):
        return [], tq, tr
    qi, rj, dist = _pairs(q_hashes[q_index], reference.hashes()[r_index], limit)
    alignments: list[_Alignment] = []
    while len(qi) >= MIN_FRAMES and len(alignments) < MAX_ALIGNMENTS:
        alignment = _best_alignment(tq, tr, qi, rj, dist)
        if alignment is None or len(alignment.query_frames) < MIN_FRAMES:
            break
        alignments.append(alignment)
        # Frames explained by this alignment cannot vote for another.
        keep = ~np.isin(qi, alignment.query_frames)
        qi, rj, dist = qi[keep], rj[keep], dist[keep]
    return alignments, tq, tr


def compare(query: Fingerprint, reference: Fingerprint, *, distance: int | None = None) -> Match | None:
    """The footage ``query`` shares with ``reference``, or None if there is none.

    ``distance`` is the largest Hamming distance for two frames to count as the
    same picture (default: 30% of the hash's bits). When the query carries
    mirror hashes, the mirrored alignment is tried too and the stronger wins.
    """
    if query.algorithm != reference.algorithm:
        raise ValidationError("reference algorithm", reference.algorithm,
                              f"{query.algorithm}, the query's (fingerprint both clips the same way)")
    bits = ALGORITHMS[query.algorithm].bits
    limit = int(distance if distance is not None else FRAME_DISTANCE_SHARE * bits)
    options = [(False, query.hashes())]
    mirrored = query.mirror_hashes()
    if mirrored is not None:
        options.append((True, mirrored))
    best: Match | None = None
    for is_mirror, hashes in options:
        alignments, tq, tr = _compare_hashes(query, hashes, reference, limit)
        match = _summarise(query, reference, alignments, tq, tr, is_mirror, bits, limit)
        if match is not None and (best is None or match.score > best.score):
            best = match
    return best


def _summarise(query: Fingerprint, reference: Fingerprint, alignments: list[_Alignment], tq: np.ndarray,
               tr: np.ndarray, mirrored: bool, bits: int, limit: int) -> Match | None:
    if not alignments:
        return None
    q_step = _step(query.times(), query.duration)
    r_step = _step(reference.times(), reference.duration)
    segments: list[Segment] = []
    for alignment in alignments:
        segments += _segments(alignment, tq, q_step, reference.duration)
    segments.sort(key=lambda s: s.query_start)
    q_duration = query.duration or (float(query.times()[-1]) + q_step)
    r_duration = reference.duration or (float(reference.times()[-1]) + r_step)
    q_cover = min(1.0, _covered([(s.query_start, s.query_end) for s in segments]) / max(q_duration, 1e-6))
    r_cover = min(1.0, _covered([(s.reference_start, s.reference_end) for s in segments]) / max(r_duration, 1e-6))
    matched = int(sum(len(a.query_frames) for a in alignments))
    distances = np.concatenate([a.distances for a in alignments])
    mean_distance = float(distances.mean())
    # Evidence grows with the number of frames that agree on an alignment, and
    # shrinks as the pictures drift towards the distance limit.
    evidence = 1.0 - math.exp(-(matched - 1) / 4.0)
    closeness = max(0.0, 1.0 - mean_distance / (1.6 * limit))
    score = evidence * (0.4 + 0.6 * closeness)
    speed = alignments[0].speed
    return Match(score=score, query_coverage=q_cover, reference_coverage=r_cover, matched_frames=matched,
                 mirrored=mirrored, speed=speed, segments=tuple(segments), mean_distance=mean_distance,
                 reference=reference.sha256)


@dataclass(frozen=True)
class Comparison:
    """Two clips compared directly: the match (if any) and what it amounts to."""

    verdict: str  # "same footage", "partial overlap" or "unrelated"
    match: Match | None

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "match": self.match.to_dict() if self.match else None}


#: Coverage both ways above which two clips are called the same footage.
SAME_FOOTAGE_COVERAGE = 0.8


def judge(match: Match | None, threshold: float = DEFAULT_THRESHOLD) -> str:
    """``same footage``, ``partial overlap`` or ``unrelated``."""
    if match is None or match.score < threshold:
        return "unrelated"
    if min(match.query_coverage, match.reference_coverage) >= SAME_FOOTAGE_COVERAGE:
        return "same footage"
    return "partial overlap"
