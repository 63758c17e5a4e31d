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
import os
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from .errors import ValidationError
from .borders import CropBox
from .fingerprint import DENSEST_INTERVAL, Fingerprint, FrameArrays, index_sampling
from .fingerprint import fingerprint as make_fingerprint
from .media import Sampling
from .hashing import ALGORITHMS, DEFAULT_ALGORITHM, hamming_matrix
from .index import keys
from .index.base import Index
from .records import Appearance, Claim, DateClaim, PlaceClaim, Point

#: Share of a hash's bits that may differ for two frames to count as the same picture.
FRAME_DISTANCE_SHARE = 0.36
#: Segments start and end on frames at most this share of bits apart.
EDGE_DISTANCE_SHARE = 0.30
#: Frames with less picture than this (0-100) match anything and are left out.
MIN_QUALITY = 25
#: Fewest distinct query frames an alignment needs.
MIN_FRAMES = 3
#: Fewest frames within :data:`EDGE_DISTANCE_SHARE` (plainly the same picture) a match needs: frames
#: near the distance limit fall on one alignment by chance in a large index, a static shot giving several.
MIN_CLOSE_FRAMES = 2
#: Speeds (reference seconds per query second) tried when voting.
SPEEDS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25)
#: Width of an offset bin in seconds; also how far a pair may sit off the alignment.
OFFSET_TOLERANCE = 0.75
#: A gap longer than this (seconds) between matched frames splits a segment.
MAX_GAP = 3.0
#: A segment grows along its alignment past its ends until frames stop being the same picture for this long.
GROW_GAP = 0.5
#: Most alignments looked for in one pair of clips (a compilation may reuse a clip several times).
MAX_ALIGNMENTS = 8
#: Of a query's inner views (the places a cropped copy may show its source's inner picture), how many
#: are aligned with a reference: those with the most frames plainly the same picture as its inner ones.
INNER_VIEWS_ALIGNED = 2
#: Query frames (evenly spread) whose inner views are looked up for candidates: sixteen views a frame are
#: many keys, and a cropped copy is cropped the same way throughout, so a few frames find it.
INNER_CANDIDATE_FRAMES = 8
#: Of a portrait query's strip views (where a 9:16 window cut from 16:9 footage may show one of the
#: source's strips), how many (view, strip) pairs are aligned with a reference: those with the most frames
#: plainly the same picture.
STRIP_VIEWS_ALIGNED = 2
#: Frames of a strip and a strip view are the same picture within this share of the hash's bits (64
#: of 256 for PDQ), less than whole frames: a strip is a narrow picture, forty-eight (view, strip)
#: pairs give chance many tries, and two white walls a tenth of a frame wide look alike. The strip
#: views that hold a strip are a median 20-40 bits from it on the reupload benchmark's sources.
STRIP_DISTANCE_SHARE = 0.25
#: How a query clip is sampled: eight frames a second against the index's two, so that some query
#: frame falls within 1/16 s of every indexed one, however the copy was trimmed. In fast motion, frames
#: a quarter of a second apart are different pictures.
QUERY_SAMPLING = Sampling.every(DENSEST_INTERVAL)
#: The query frames whose keys are looked up in the index (see :func:`candidate_votes`).
CANDIDATE_SAMPLING = Sampling.every(0.25)
#: Score at or above which two clips are said to share footage.
DEFAULT_THRESHOLD = 0.3


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
    clip_id: int | None = None
    window: CropBox | None = None  # where in the query's frame the footage was found, if not the whole
    cropped: bool = False  # the query shows a cropped part of the reference's picture

    def to_dict(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "sha256": self.reference,
            "score": round(self.score, 4),
            "query_coverage": round(self.query_coverage, 4),
            "reference_coverage": round(self.reference_coverage, 4),
            "matched_frames": self.matched_frames,
            "mirrored": self.mirrored,
            "speed": round(self.speed, 3),
            "mean_distance": round(self.mean_distance, 2),
            "window": self.window.to_dict() if self.window else None,
            "cropped": self.cropped,
            "segments": [segment.to_dict() for segment in self.segments],
        }

    def swapped(self, sha256: str) -> Match:
        """This match seen from the reference's side: segments and coverage the other way round, at the
        inverse speed, with ``sha256`` (the query's) as the reference. ``window``, a box in the query's
        frame, is left out."""
        return replace(self, query_coverage=self.reference_coverage, reference_coverage=self.query_coverage,
                       speed=1.0 / self.speed, reference=sha256, window=None,
                       segments=tuple(Segment(s.reference_start, s.reference_end, s.query_start, s.query_end)
                                      for s in self.segments))


@dataclass
class _Alignment:
    speed: float
    offset: float
    query_frames: np.ndarray  # indices into the query's usable frames
    reference_frames: np.ndarray
    distances: np.ndarray

    def support(self, within: float | None = None) -> int:
        """Frames in agreement, counted on the sparser side: a clip sampled densely against one sampled
        sparsely pairs several of its frames with each of the other's, and that is one picture's evidence."""
        chosen = slice(None) if within is None else self.distances <= within
        return min(len(_distinct(self.query_frames[chosen])), len(_distinct(self.reference_frames[chosen])))

    def best_distances(self) -> np.ndarray:
        """For each frame of the sparser side, the distance to its nearest picture on the other side."""
        side = _sparser(self.query_frames, self.reference_frames)
        return self.distances[_best_of_each(side, self.distances)]


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a comparison: for the small integer arrays here,
    several times faster than ``np.unique``)."""
    ordered = np.sort(values, axis=None)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array begins."""
    return np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1)) if len(ordered) else np.zeros(0, np.int64)


def _run_lengths(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of a sorted array and how many times each comes."""
    starts = _run_starts(ordered)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def _sparser(query_frames: np.ndarray, reference_frames: np.ndarray) -> np.ndarray:
    """Of two sides of a set of pairs, the one with fewer distinct frames."""
    return reference_frames if len(_distinct(reference_frames)) < len(_distinct(query_frames)) else query_frames


def _best_of_each(groups: np.ndarray, *ranks: np.ndarray) -> np.ndarray:
    """Indices of one element per value of ``groups``: the least by ``ranks`` (the first rank first)."""
    order = np.lexsort((*reversed(ranks), groups))
    first = np.ones(len(order), dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    return order[first]


def _median(values: np.ndarray) -> float:
    """The median of a non-empty 1-D array, as ``np.median`` gives it (the mean of the middle two of an even
    count), without its overhead, which on the few dozen values here is most of the cost."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the least-squares line through the points (``np.polyfit(x, y, 1)``, worked
    out directly: on a few dozen points its general solver is most of the cost). ``x`` must not be constant."""
    x_mean, y_mean = x.mean(), y.mean()
    dx = x - x_mean
    slope = float(np.dot(dx, y - y_mean) / np.dot(dx, dx))
    return slope, float(y_mean - slope * x_mean)


def _usable(fp: Fingerprint | FrameArrays) -> np.ndarray:
    return fp.qualities() >= MIN_QUALITY


def _step(times: np.ndarray, duration: float | None) -> float:
    """Typical spacing of sampled frames, used to give the last frame of a segment its length."""
    if len(times) >= 2:
        return min(1.0, _median(np.diff(times)))
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


#: Most cells (rows x offset bins x query frames) of the grid :func:`_fullest_bins` marks; past it, it sorts.
GRID_CELLS = 1 << 22


def _fullest_bins(keys: np.ndarray, qi: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """For each row of offset bins ``keys`` (one per pair, pairs of query frames ``qi``), its fullest bin:
    rows, how many distinct query frames the bin holds and the bin (the lowest such bin on a tie)."""
    low = int(keys.min())
    width = int(keys.max()) - low + 1
    frames = int(qi.max()) + 1
    if len(keys) * width * frames <= GRID_CELLS:
        # A grid of (row, bin, query frame) cells: mark each pair's, count each (row, bin)'s. Cell
        # ((row * width + key - low) * frames + frame), worked out in place.
        cells = keys * frames
        cells += qi[None, :]
        cells += ((np.arange(len(keys), dtype=np.int64) * width - low) * frames)[:, None]
        marked = np.zeros(len(keys) * width * frames, dtype=bool)
        marked[cells.ravel()] = True
        counts = np.count_nonzero(marked.reshape(len(keys), width, frames), axis=2)
        fullest = counts.argmax(axis=1)
        return (list(range(len(keys))), counts[np.arange(len(keys)), fullest].tolist(),
                (fullest + low).tolist())
    # One number per (row, bin, query frame); its distinct values, sorted, count the distinct query
    # frames of each (row, bin) as runs.
    row_bins = np.arange(len(keys), dtype=np.int64)[:, None] * width + (keys - low)  # (row, bin) numbers
    frame_bits = max(1, (frames - 1).bit_length())
    found, counts = _run_lengths(_distinct((row_bins << frame_bits) | qi[None, :]) >> frame_bits)
    g, k = found // width, found % width + low
    top = _best_of_each(g, -counts, k)
    return g[top].tolist(), counts[top].tolist(), k[top].tolist()


def _best_alignment(tq: np.ndarray, tr: np.ndarray, qi: np.ndarray, rj: np.ndarray,
                    dist: np.ndarray) -> _Alignment | None:
    """The speed and offset on which most distinct query frames agree."""
    if not len(qi):
        return None
    # Offset bins for every speed at once; each bin also merged with its right neighbour (a second
    # binning, half a bin on) so that an offset on a bin edge is not split in two.
    offsets = tr[rj][None, :] - np.array(SPEEDS)[:, None] * tq[qi][None, :]
    bins = np.floor(offsets / OFFSET_TOLERANCE).astype(np.int64)
    # (speed, shift) rows: bins // 2 and (bins + 1) // 2, as arithmetic shifts (numpy's integer floor
    # division is several times slower).
    keys = np.empty((len(SPEEDS), 2, len(qi)), dtype=np.int64)
    np.right_shift(bins, 1, out=keys[:, 0])
    bins += 1
    np.right_shift(bins, 1, out=keys[:, 1])
    keys = keys.reshape(2 * len(SPEEDS), -1)
    best: tuple[int, float, int, int] | None = None
    for row, votes, key in zip(*_fullest_bins(keys, qi)):
        speed = SPEEDS[row // 2]
        if best is None or votes > best[0] or (votes == best[0] and abs(speed - 1.0) < abs(best[1] - 1.0)):
            best = (votes, speed, row, key)
    if best is None or best[0] < 1:
        return None
    _, speed, row, key = best
    offset = _median(offsets[row // 2][keys[row] == key])

    def closest(speed: float, offset: float) -> np.ndarray:
        """For each query frame near the line, its best reference frame (nearest picture, then nearest time)."""
        residual = np.abs(tr[rj] - (speed * tq[qi] + offset))
        candidates = np.nonzero(residual <= OFFSET_TOLERANCE * 1.5)[0]
        return candidates[_best_of_each(qi[candidates], dist[candidates], residual[candidates])]

    def sparse(chosen: np.ndarray) -> np.ndarray:
        """Of the chosen pairs, one per frame of the more sparsely sampled side (its nearest picture)."""
        side = _sparser(qi[chosen], rj[chosen])
        return chosen[_best_of_each(side, dist[chosen])]

    # Refine speed and offset by least squares on the best pair of each frame of the sparser side.
    for _ in range(2):
        chosen = sparse(closest(speed, offset))
        if len(chosen) >= 4 and np.ptp(tq[qi[chosen]]) > 1.0:
            fitted_speed, fitted_offset = _line_fit(tq[qi[chosen]], tr[rj[chosen]])
            if SPEEDS[0] - 0.05 <= fitted_speed <= SPEEDS[-1] + 0.05:
                speed, offset = float(fitted_speed), float(fitted_offset)
    chosen = closest(speed, offset)
    return _Alignment(speed, offset, qi[chosen], rj[chosen], dist[chosen])


def _segments(alignment: _Alignment, tq: np.ndarray, q_step: float, q_duration: float | None,
              ref_duration: float | None, edge_limit: float, max_gap: float = MAX_GAP) -> list[Segment]:
    """Runs of matched query frames (split at gaps over ``max_gap`` seconds) as segments.

    A run's ends are trimmed to its first and last frames within ``edge_limit``
    bits: near a cut into other footage, a loosely similar frame can still fall
    on the alignment, and would otherwise stretch the segment past the cut.
    """
    order = np.argsort(tq[alignment.query_frames])
    times = tq[alignment.query_frames][order]
    distances = alignment.distances[order]
    runs: list[tuple[int, int]] = []
    first = 0
    for number in range(1, len(times) + 1):
        if number == len(times) or times[number] - times[number - 1] > max_gap:
            runs.append((first, number))
            first = number
    segments: list[Segment] = []
    for begin, end in runs:
        if end - begin < 2 and (segments or len(runs) > 1):
            continue  # a lone frame away from the rest is chance
        good = np.nonzero(distances[begin:end] <= edge_limit)[0]
        if len(good):
            begin, end = begin + int(good[0]), begin + int(good[-1]) + 1
        start, last = float(times[begin]), float(times[end - 1])
        stop = min(last + q_step, q_duration) if q_duration else last + q_step
        ref_start = alignment.speed * start + alignment.offset
        ref_end = alignment.speed * stop + alignment.offset
        if ref_duration:
            ref_start, ref_end = max(0.0, ref_start), min(ref_duration, ref_end)
        segments.append(Segment(start, stop, max(0.0, ref_start), max(ref_start, ref_end)))
    return segments


def _already_matched(segment: Segment, segments: list[Segment]) -> float:
    """The share of ``segment``'s query span that ``segments`` cover already."""
    overlaps = [(max(s.query_start, segment.query_start), min(s.query_end, segment.query_end)) for s in segments]
    return _covered([(a, b) for a, b in overlaps if b > a]) / max(segment.duration, 1e-9)


def _covered(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _compare_hashes(query: Fingerprint, q_hashes: np.ndarray, reference: Fingerprint | FrameArrays,
                    limit: int) -> tuple[list[_Alignment], np.ndarray, np.ndarray]:
    edge_limit = EDGE_DISTANCE_SHARE * ALGORITHMS[query.algorithm].bits
    q_ok, r_ok = _usable(query), _usable(reference)
    tq_all, tr_all = query.times(), reference.times()
    q_index, r_index = np.nonzero(q_ok)[0], np.nonzero(r_ok)[0]
    tq, tr = tq_all[q_index], tr_all[r_index]
    if not len(q_index) or not len(r_index):
        return [], tq, tr
    qi, rj, dist = _pairs(q_hashes[q_index], reference.hashes()[r_index], limit)
    alignments: list[_Alignment] = []
    if len(_distinct(qi)) < MIN_FRAMES:
        return alignments, tq, tr
    while len(qi) >= MIN_FRAMES and len(alignments) < MAX_ALIGNMENTS:
        alignment = _best_alignment(tq, tr, qi, rj, dist)
        if alignment is None or alignment.support() < MIN_FRAMES:
            break
        # Once the main alignment is found, a further one (another part of a
        # compilation) must rest on frames that are plainly the same picture:
        # loosely similar frames fall on some alignment by chance.
        close = alignment.support(edge_limit)
        if close < (MIN_FRAMES if alignments else MIN_CLOSE_FRAMES):
            break
        alignments.append(alignment)
        # Frames explained by this alignment cannot vote for another.
        explained = np.zeros(len(tq), dtype=bool)
        explained[alignment.query_frames] = True
        keep = ~explained[qi]
        qi, rj, dist = qi[keep], rj[keep], dist[keep]
    return alignments, tq, tr


def fingerprint_query(path: str | os.PathLike[str], *, algorithm: str = DEFAULT_ALGORITHM,
                      progress: Callable[[float, float | None], None] | None = None) -> Fingerprint:
    """Fingerprint a clip to look for: densely (:data:`QUERY_SAMPLING`), with mirror and window hashes.

    ``fingerprint.resampled(index_sampling(fingerprint.duration))`` turns the
    result into the fingerprint the index would store for the clip
    (:func:`vidprov.fingerprint.index_sampling`).
    """
    return make_fingerprint(path, algorithm=algorithm, sampling=QUERY_SAMPLING, mirror=True, windows=True,
                            inner=True, inner_views=True, strips=True, strip_views=True, progress=progress)


def compare(query: Fingerprint, reference: Fingerprint | FrameArrays, *,
            distance: int | None = None) -> Match | None:
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
    best: Match | None = None
    for is_mirror, window, hashes in _query_views(query):
        alignments, tq, tr = _compare_hashes(query, hashes, reference, limit)
        match = _summarise(query, reference, alignments, tq, tr, is_mirror, bits, limit, hashes)
        if match is not None and (best is None or match.score > best.score):
            best = replace(match, window=window)
    inner = _inner_arrays(reference)
    cropped = [(hashes, inner, limit) for hashes in _likeliest_inner_views(query, inner)] if inner is not None else []
    strip_limit = _strip_limit(bits, limit)
    cropped += [(hashes, arrays, strip_limit)
                for hashes, arrays in _likeliest_strip_views(query, _strip_arrays(reference), strip_limit)]
    for hashes, arrays, within in cropped:
        alignments, tq, tr = _compare_hashes(query, hashes, arrays, within)
        match = _summarise(query, arrays, alignments, tq, tr, False, bits, within, hashes)
        if match is not None and (best is None or match.score > best.score):
            best = replace(match, cropped=True)
    return best


def _query_views(query: Fingerprint) -> list[tuple[bool, CropBox | None, np.ndarray]]:
    """The ways a query may show the footage: as it is, mirrored, or inside one of its windows."""
    views: list[tuple[bool, CropBox | None, np.ndarray]] = [(False, None, query.hashes())]
    mirrored = query.mirror_hashes()
    if mirrored is not None:
        views.append((True, None, mirrored))
    views += [(False, box, hashes) for box, hashes in zip(query.windows, query.window_hashes())]
    return views


def _inner_arrays(reference: Fingerprint | FrameArrays) -> FrameArrays | None:
    """The reference's frames with their inner pictures' hashes as the hashes, if it has them."""
    if isinstance(reference, Fingerprint):
        return FrameArrays.of(reference).inner_arrays() if reference.inner is not None else None
    return reference.inner_arrays()


def _strip_limit(bits: int, limit: int) -> int:
    """Bits within which a strip view's frame and a strip's are the same picture (:data:`STRIP_DISTANCE_SHARE`)."""
    return min(limit, int(STRIP_DISTANCE_SHARE * bits))


def _strip_arrays(reference: Fingerprint | FrameArrays) -> list[FrameArrays]:
    """For each of the reference's strips, its frames that have them, with that strip's hashes as the hashes."""
    if isinstance(reference, Fingerprint):
        return FrameArrays.of(reference).strip_arrays() if reference.strips else []
    return reference.strip_arrays()


def _likeliest_strip_views(query: Fingerprint, strips: list[FrameArrays],
                           within: float) -> list[tuple[np.ndarray, FrameArrays]]:
    """The (strip view, reference strip) pairs worth aligning: the :data:`STRIP_VIEWS_ALIGNED` with the most
    query frames within ``within`` bits of one of the strip's frames, and at least :data:`MIN_CLOSE_FRAMES`.
    A 9:16 window is cut the same way throughout, so one view holds one strip."""
    if not query.strip_views or not strips:
        return []
    views = query.strip_view_hashes()
    counts = np.stack([_close_frame_counts(query, views, arrays, within) for arrays in strips])  # (strips, views)
    order = np.argsort(-counts.ravel(), kind="stable")[:STRIP_VIEWS_ALIGNED]
    pairs = [divmod(int(k), len(views)) for k in order if counts.ravel()[k] >= MIN_CLOSE_FRAMES]
    return [(views[view], strips[strip]) for strip, view in pairs]


def _close_frame_counts(query: Fingerprint, views: list[np.ndarray], reference: FrameArrays,
                        within: float) -> np.ndarray:
    """For each view, how many usable query frames are within ``within`` bits of a usable reference frame."""
    q_ok, r_ok = _usable(query), _usable(reference)
    if not views or not q_ok.any() or not r_ok.any():
        return np.zeros(len(views), dtype=np.int64)
    near = hamming_matrix(np.concatenate([hashes[q_ok] for hashes in views]), reference.hashes()[r_ok]) <= within
    return near.any(axis=1).reshape(len(views), -1).sum(axis=1)


def _likeliest_inner_views(query: Fingerprint, inner: FrameArrays) -> list[np.ndarray]:
    """The query's inner views (:func:`vidprov.fingerprint.inner_view_boxes`) worth aligning with
    ``inner``, a reference's inner pictures: the :data:`INNER_VIEWS_ALIGNED` with the most frames plainly
    the same picture as one of them, and at least :data:`MIN_CLOSE_FRAMES`.

    A cropped copy is cropped the same way throughout, so the view that
    holds the source's inner picture shows it in every frame; aligning the
    other fifteen would only give chance more tries.
    """
    views = query.inner_view_hashes()
    counts = _close_frame_counts(query, views, inner, EDGE_DISTANCE_SHARE * ALGORITHMS[query.algorithm].bits)
    order = np.argsort(-counts, kind="stable")[:INNER_VIEWS_ALIGNED]
    return [views[k] for k in order.tolist() if counts[k] >= MIN_CLOSE_FRAMES]


def _paired_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance between each row of ``a`` and the same row of ``b`` (packed hashes)."""
    return np.unpackbits(np.bitwise_xor(a, b), axis=1).sum(axis=1)


def _extended(segment: Segment, speed: float, query_times: np.ndarray, query_hashes: np.ndarray,
              query_flat: np.ndarray, reference: Fingerprint | FrameArrays, q_step: float, r_step: float,
              edge_limit: float) -> Segment:
    """``segment`` grown at both ends along its alignment while each query frame, flat ones included,
    is plainly the same picture (within ``edge_limit`` bits) as the reference frame it maps to.

    Frames with too little picture are left out of finding an alignment (a dark
    frame resembles every other), but once the alignment is known, a dark
    stretch that is the same dark stretch on both sides is part of the footage:
    without this, a copy's segment stops where its footage turns dark. So a
    query frame counts as the same picture as the reference frame it maps to
    when their hashes are within ``edge_limit`` bits, or when both have too
    little picture to hash (``query_flat``, and the reference's quality under
    :data:`MIN_QUALITY`): the hashes of two black frames are noise.
    """
    offset = segment.reference_start - speed * segment.query_start
    r_times, r_hashes, r_flat = reference.times(), reference.hashes(), ~_usable(reference)
    if not len(r_times):
        return segment

    def same_picture(frames: np.ndarray) -> np.ndarray:
        mapped = speed * query_times[frames] + offset
        nearest = np.clip(np.searchsorted(r_times, mapped), 1, len(r_times) - 1)
        nearest = np.where(np.abs(r_times[nearest - 1] - mapped) <= np.abs(r_times[nearest] - mapped),
                           nearest - 1, nearest)
        aligned = np.abs(r_times[nearest] - mapped) <= 0.5 * r_step + 1e-6
        alike = _paired_distances(query_hashes[frames], r_hashes[nearest]) <= edge_limit
        return aligned & (alike | (query_flat[frames] & r_flat[nearest]))

    def reach(frames: np.ndarray, edge: float) -> int | None:
        """The farthest of ``frames`` (walked outwards from ``edge``) reached without a gap of over
        :data:`GROW_GAP` seconds between frames that are the same picture."""
        if not len(frames):
            return None
        same = frames[same_picture(frames)]
        gaps = np.abs(np.diff(np.concatenate(([edge], query_times[same]))))
        broken = np.flatnonzero(gaps > GROW_GAP)
        same = same[:broken[0]] if len(broken) else same
        return int(same[-1]) if len(same) else None

    start, stop = segment.query_start, segment.query_end
    last = reach(np.flatnonzero(query_times >= stop - 1e-6), stop)
    if last is not None:
        stop = max(stop, float(query_times[last]) + q_step)
    first = reach(np.flatnonzero(query_times < start - 1e-6)[::-1], start)
    if first is not None:
        start = min(start, float(query_times[first]))
    if (start, stop) == (segment.query_start, segment.query_end):
        return segment
    r_duration = reference.duration or (float(r_times[-1]) + r_step)
    return Segment(start, stop, max(0.0, speed * start + offset), min(r_duration, speed * stop + offset))


def _joined(segments: list[Segment]) -> list[Segment]:
    """Segments of one alignment, with those that overlap (once grown) made one."""
    joined: list[Segment] = []
    for segment in sorted(segments, key=lambda s: s.query_start):
        if joined and segment.query_start <= joined[-1].query_end:
            last = joined[-1]
            joined[-1] = Segment(last.query_start, max(last.query_end, segment.query_end), last.reference_start,
                                 max(last.reference_end, segment.reference_end))
        else:
            joined.append(segment)
    return joined


def _summarise(query: Fingerprint, reference: Fingerprint | FrameArrays, alignments: list[_Alignment], tq: np.ndarray,
               tr: np.ndarray, mirrored: bool, bits: int, limit: int, hashes: np.ndarray | None = None) -> Match | None:
    if not alignments:
        return None
    q_step = _step(query.times(), query.duration)
    r_step = _step(reference.times(), reference.duration)
    segments: list[Segment] = []
    kept: list[_Alignment] = []
    q_flat = ~_usable(query)
    for alignment in alignments:
        # Sparse reference frames (strips, on one indexed frame in four or two) leave wider gaps between matches.
        found = _segments(alignment, tq, q_step, query.duration, reference.duration, EDGE_DISTANCE_SHARE * bits,
                          max(MAX_GAP, 1.5 * r_step))
        if hashes is not None:
            found = _joined([_extended(s, alignment.speed, query.times(), hashes, q_flat, reference,
                                       q_step, r_step, EDGE_DISTANCE_SHARE * bits) for s in found])
        if kept:
            # A later alignment that puts moments of the query already matched elsewhere in the reference
            # (a static shot, alike at other times) contradicts the stronger ones: only new stretches count.
            found = [s for s in found if _already_matched(s, segments) < 0.5]
            if not found:
                continue
        kept.append(alignment)
        segments += found
    alignments = kept
    segments.sort(key=lambda s: s.query_start)
    q_duration = query.duration or (float(query.times()[-1]) + q_step)
    r_duration = reference.duration or (float(reference.times()[-1]) + r_step)
    q_cover = min(1.0, _covered([(s.query_start, s.query_end) for s in segments]) / max(q_duration, 1e-6))
    r_cover = min(1.0, _covered([(s.reference_start, s.reference_end) for s in segments]) / max(r_duration, 1e-6))
    matched = int(sum(a.support() for a in alignments))
    distances = np.concatenate([a.best_distances() for a in alignments])
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
    #: Found the other way round: the second clip shows the first's footage cropped, or in part of its
    #: frame. The match is still told from the first clip's side (its query_* fields are the first's).
    reversed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "match": self.match.to_dict() if self.match else None,
                "reversed": self.reversed}


def compare_clips(first: Fingerprint, second: Fingerprint, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """Two clips compared directly, both ways: the first looked for in the second and the second in the
    first; the stronger match wins (the first's on a tie).

    Both should be query fingerprints (:func:`fingerprint_query`): each is then
    a query, with its mirror, window, inner and strip views, and, resampled
    as the index would keep it, a reference with its inner pictures and
    strips. So a cropped copy, a 9:16 window or a screen recording matches
    its source whichever of the two is named first.
    """
    forward = compare(first, _as_reference(second))
    backward = compare(second, _as_reference(first))
    if backward is not None and (forward is None or backward.score > forward.score):
        found = backward.swapped(second.sha256)
        return Comparison(judge(found, threshold), found, reversed=True)
    return Comparison(judge(forward, threshold), forward)


def _as_reference(fingerprint: Fingerprint) -> Fingerprint:
    """A query fingerprint as the index would keep it (:func:`vidprov.fingerprint.index_sampling`)."""
    sampling = index_sampling(fingerprint.duration)
    return (fingerprint.resampled(sampling) if _denser(fingerprint, sampling) else fingerprint).for_index()


#: Coverage both ways above which two clips are called the same footage.
SAME_FOOTAGE_COVERAGE = 0.8


def judge(match: Match | None, threshold: float = DEFAULT_THRESHOLD) -> str:
    """``same footage``, ``partial overlap`` or ``unrelated``."""
    if match is None or match.score < threshold:
        return "unrelated"
    if min(match.query_coverage, match.reference_coverage) >= SAME_FOOTAGE_COVERAGE:
        return "same footage"
    return "partial overlap"


# --------------------------------------------------------------------------- the index

#: Most candidate clips verified by time alignment per query ...
CANDIDATES = 24
#: ... and, beside them, found through one of a portrait query's strip views.
STRIP_CANDIDATES = 8
#: Largest distance between two 64-bit search keys for a frame to vote for a clip (below 64: see _votes).
KEY_DISTANCE = 16
#: A clip with votes from enough query frames is a candidate if one of them is this near: some frame
#: of a copy keeps its key almost whole (on the reupload benchmark's copies of two seeds, the nearest
#: was at most 11 bits off, 0 for most; benchmarks/index_recall.py), while a clip that shares only
#: loosely similar keys with the query, as thousands do in a large index, seldom has one.
NEAR_KEY_DISTANCE = 12
#: Clips with votes from two query frames or more but no key near enough (see :data:`NEAR_KEY_DISTANCE`
#: and :data:`EXACT_KEY_DISTANCE`) verified all the same, the most votes first: in an index of a desk's
#: size they are few, and a copy there is never left out for want of one near key; in a large one,
#: chance fills these places.
WEAK_CANDIDATES = 4
#: A clip with votes from two query frames only (a short or mostly dark stretch of it in a compilation)
#: is verified when one of them is this near: by chance, one posting in a billion.
EXACT_KEY_DISTANCE = 4


def candidate_votes(index: Index, query: Fingerprint) -> dict[int, int]:
    """For each clip in the index, how many distinct query frames have a near frame in it (in the query's
    strip views, in the best one of them alone)."""
    voted, counts, _, strips = _votes(index, query)
    pooled = dict(zip(voted.tolist(), counts.tolist()))
    return {clip_id: max(pooled.get(clip_id, 0), strips.get(clip_id, (0, 0))[0])
            for clip_id in {*pooled, *strips}}


_NO_VOTES: tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, tuple[int, int]]] = (
    np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), {})


def _votes(index: Index, query: Fingerprint) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                       dict[int, tuple[int, int]]]:
    """The clips of the index with near keys (ascending), for each how many distinct query frames have
    a near frame in it and how far the nearest key is, and, per clip, through the best one of the query's
    strip views alone, how many query frames and how near: the sum over those frames of
    ``KEY_DISTANCE + 1`` less the nearest key's distance, or the same sum over the clip's frames that
    the keys found, whichever is less.

    Looks up the query's key chunks (and its mirror's) in the posting lists
    and checks each posting's whole 64-bit key, so the work grows with the
    posting lists read, not with the size of the index. A query sampled
    more densely than :data:`CANDIDATE_SAMPLING` looks up only the frames
    that sampling keeps: the candidates need a few near frames, and the
    verification sees every frame.
    """
    if _denser(query, CANDIDATE_SAMPLING):
        query = query.resampled(CANDIDATE_SAMPLING)
    usable = _usable(query)
    frame_numbers = np.nonzero(usable)[0]
    if not frame_numbers.size:
        return _NO_VOTES
    # (first chunk of the lists to read, query frame numbers, their keys) per view.
    views = [(0, frame_numbers, keys.frame_keys(hashes[usable], query.algorithm))
             for _, _, hashes in _query_views(query)]
    if query.inner_views:
        chosen, inner_views = _inner_lookup(query)
        views += [(keys.INNER_CHUNKS, chosen, keys.frame_keys(hashes, query.algorithm)) for hashes in inner_views]
    # Strip views vote each on their own (a 9:16 window is cut the same way throughout), and by how near:
    # a strip is on one indexed frame in four (two), so a clip found through one has few frames to show, fewer
    # than chance gives other clips of a large index through 24 views a frame.
    pooled = len(views)
    views += [(keys.STRIP_CHUNKS, frame_numbers, keys.frame_keys(hashes[usable], query.algorithm))
              for hashes in query.strip_view_hashes()]
    # One ask per view, frame and chunk: the list it names and the rest of the frame's key.
    view_keys = np.concatenate([found for _, _, found in views])
    asked_keys = np.repeat(view_keys, keys.CHUNKS)
    asked_frames = np.repeat(np.concatenate([numbers for _, numbers, _ in views]), keys.CHUNKS)
    # 0 for the pooled views, 1, 2... for each strip view.
    asked_groups = np.repeat(np.maximum(np.arange(len(views)) - pooled + 1, 0), [len(found) for _, _, found in views])
    asked_groups = np.repeat(asked_groups, keys.CHUNKS)
    first_chunks = np.repeat(np.array([first for first, _, found in views]), [len(found) for _, _, found in views])
    asked_chunks = (first_chunks[:, None] + np.arange(keys.CHUNKS)[None, :]).ravel()
    asked_lists = keys.list_ids(asked_chunks, keys.chunk_values(view_keys).ravel())
    found = index.posting_lists(_distinct(asked_lists).tolist())
    if not len(found):
        return _NO_VOTES
    asked_rests = keys.key_rests(asked_keys, asked_lists)
    # Frame numbers of the postings found are wanted only for the strip views' near keys.
    near = [_near_postings(piece, asked_lists, asked_rests, frames=pooled < len(views)) for piece in found.pieces()]
    ask = np.concatenate([asks for asks, _, _, _ in near])  # which ask each near posting answered
    clip_ids = np.concatenate([clips for _, clips, _, _ in near])
    distances = np.concatenate([found_distances for _, _, found_distances, _ in near])
    groups, frames = asked_groups[ask], asked_frames[ask]
    pool = groups == 0
    pooled_clips, pooled_distances = clip_ids[pool], distances[pool]
    pairs = _distinct(pooled_clips * (1 << 20) + frames[pool])  # distinct (clip, query frame)
    voted, counts = _run_lengths(pairs >> 20)
    # Each clip's nearest key, the clips in the same order: sorted by clip, then distance (at most
    # KEY_DISTANCE, 6 bits), one number each.
    by_clip = np.sort((pooled_clips << 6) | pooled_distances)
    nearest_keys = by_clip[_run_starts(by_clip >> 6)] & 63
    strips: dict[int, tuple[int, int]] = {}
    if not pool.all():
        # Per (clip, strip view): how many query frames have a near key, and how near, counted over the
        # query's frames and over the clip's (each frame once, at its nearest key), the lesser of the two.
        # A chance clip's strip is near many frames of a still query at one frame of its own.
        by_view = (clip_ids[~pool] << 26) | (groups[~pool] << 20)
        nearest = distances[~pool]
        per_view, view_frames, query_weights = _frame_nearness(by_view | frames[~pool], nearest)
        clip_frames = np.concatenate([numbers for *_, numbers in near])[~pool]
        _, _, clip_weights = _frame_nearness(by_view | clip_frames, nearest)
        weights = np.minimum(query_weights, clip_weights)
        for key, count, weight in zip(per_view.tolist(), view_frames.tolist(), weights.tolist()):
            clip_id = key >> 6
            if weight > strips.get(clip_id, (0, 0))[1]:
                strips[clip_id] = (count, weight)
    return voted, counts, nearest_keys, strips


def _frame_nearness(triples: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of near postings given as ``(clip << 26) | (view << 20) | frame`` and their key distances: each
    (clip, view) (ascending, as ``(clip << 6) | view``), how many distinct frames and the sum over those
    frames of ``KEY_DISTANCE + 1`` less the nearest key's distance."""
    order = np.lexsort((distances, triples))
    triples, distances = triples[order], distances[order]
    first = _run_starts(triples)
    per_view = triples[first] >> 20
    starts = _run_starts(per_view)
    return (per_view[starts], np.diff(np.append(starts, len(per_view))),
            np.add.reduceat(KEY_DISTANCE + 1 - distances[first], starts))


def _near_postings(lists: keys.PostingLists, asked_lists: np.ndarray, asked_rests: np.ndarray,
                   frames: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of the postings of ``lists`` in the lists asked for, those whose keys are within
    :data:`KEY_DISTANCE` bits of the asking frame's: which ask each answered, its clip id, the distance
    and, with ``frames``, its frame number in the clip's fingerprint (else an empty array).

    Every posting is checked once per ask of its list, in one flat pass. The
    lists read are the lists asked for, so the first ask of each covers the
    postings where they lie, in order; only a list asked again (by another
    frame or view with the same chunk) has its postings gathered.
    """
    at = np.minimum(np.searchsorted(lists.lists, asked_lists), len(lists) - 1)
    present = np.flatnonzero(lists.lists[at] == asked_lists)
    order = present[np.argsort(at[present], kind="stable")]
    listed = at[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = listed[1:] != listed[:-1]
    sizes = np.diff(lists.bounds)
    asks, positions, distances = [], [], []
    again = order
    if first.sum() == len(lists):
        primary = order[first]
        near, which, found = _near_in_runs(lists.rests, asked_rests[primary], sizes, lists.bounds[1:])
        asks.append(primary[which])
        positions.append(near)
        distances.append(found)
        again = order[~first]
    if len(again):
        starts, counts = lists.bounds[at[again]], sizes[at[again]]
        ends = np.cumsum(counts)
        postings = np.repeat(starts - (ends - counts), counts)
        postings += np.arange(int(ends[-1]))
        near, which, found = _near_in_runs(lists.rests[postings], asked_rests[again], counts, ends)
        asks.append(again[which])
        positions.append(postings[near])
        distances.append(found)
    if not asks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    at = np.concatenate(positions)
    clips, numbers = lists.postings_at(at) if frames else (lists.clips_at(at), np.zeros(0, dtype=np.int64))
    return np.concatenate(asks), clips.astype(np.int64), np.concatenate(distances), numbers


def _near_in_runs(rests: np.ndarray, asking: np.ndarray, counts: np.ndarray,
                  ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of ``rests``, in runs of ``counts`` (ending at ``ends``) each checked against one of ``asking``, those
    within :data:`KEY_DISTANCE` bits: their positions, their runs and their distances (``int64``)."""
    # The asking rests spelled out beside the postings, XORed with them in place.
    xor = np.repeat(asking, counts)
    found = keys.bit_counts(np.bitwise_xor(xor, rests, out=xor))
    near = np.flatnonzero(found <= KEY_DISTANCE)
    return near, np.searchsorted(ends, near, side="right"), found[near].astype(np.int64)


def _most_votes(clips: np.ndarray, votes: np.ndarray, count: int) -> list[int]:
    """The ``count`` clips with the most votes (the lowest id first on a tie)."""
    return clips[np.lexsort((clips, -votes))][:count].tolist()


def _worth_verifying(votes: np.ndarray, nearest: np.ndarray, needed: int) -> np.ndarray:
    """Which clips, with near keys on ``votes`` query frames, the nearest ``nearest`` bits off, are
    candidates for a query whose candidates need ``needed`` frames."""
    return ((votes >= needed) & (nearest <= NEAR_KEY_DISTANCE)) | \
        ((votes >= min(2, needed)) & (nearest <= EXACT_KEY_DISTANCE))


def _inner_lookup(query: Fingerprint) -> tuple[np.ndarray, list[np.ndarray]]:
    """Of a query sampled for candidates, the usable frames whose inner views are looked up
    (:data:`INNER_CANDIDATE_FRAMES` of them, evenly spread, as frame numbers), and each inner view's
    hashes on those frames."""
    usable = np.nonzero(_usable(query))[0]
    spread = np.linspace(0, len(usable) - 1, min(len(usable), INNER_CANDIDATE_FRAMES)).round().astype(np.int64)
    chosen = usable[np.unique(spread)]
    return chosen, replace(query, frames=tuple(query.frames[i] for i in chosen.tolist())).inner_view_hashes()


def _denser(query: Fingerprint, sampling: Sampling) -> bool:
    """Whether ``query`` was sampled more densely than ``sampling``."""
    given = query.sampling
    return given is not None and given.mode == "every" and sampling.mode == "every" \
        and given.interval < sampling.interval - 1e-9


def _frames_needed(query: Fingerprint) -> int:
    """Query frames a candidate needs near frames for: :data:`MIN_FRAMES`, or all of a shorter query's."""
    return min(MIN_FRAMES, max(1, int(_usable(query).sum())))


def _with_near_frames(query: Fingerprint, references: dict[int, FrameArrays]) -> list[int]:
    """The candidates (sorted) with near frames for at least :data:`MIN_FRAMES` query frames in some view.

    One distance matrix for all candidates at once: most candidates of a large
    index share a chance key or two with the query and no more, and are
    dropped here without aligning anything.
    """
    limit = int(FRAME_DISTANCE_SHARE * ALGORITHMS[query.algorithm].bits)
    needed = _frames_needed(query)
    counts = _near_frame_counts(references, [hashes for _, _, hashes in _query_views(query)], _usable(query), limit)
    passed = {clip_id for clip_id, count in counts.items() if count >= needed}
    sampled = query.resampled(CANDIDATE_SAMPLING) if _denser(query, CANDIDATE_SAMPLING) else query
    # Cropped copies: the query's inner views against the inner pictures of the rest, on the frames
    # whose inner views were looked up (sixteen views a frame).
    inner = {c: arrays for c, arrays in ((c, references[c].inner_arrays()) for c in references if c not in passed)
             if arrays is not None}
    if query.inner_views and inner:
        chosen, inner_views = _inner_lookup(sampled)
        counts = _near_frame_counts(inner, inner_views, np.ones(len(chosen), dtype=bool), limit)
        passed |= {clip_id for clip_id, count in counts.items() if count >= min(MIN_FRAMES, max(1, len(chosen)))}
    # 9:16 windows: a portrait query's strip views against the strips of the rest, all strips at once.
    strips = {c: arrays for c, arrays in ((c, _all_strips(references[c])) for c in references if c not in passed)
              if arrays is not None}
    if query.strip_views and strips:
        within = _strip_limit(ALGORITHMS[query.algorithm].bits, limit)
        counts = _near_frame_counts(strips, sampled.strip_view_hashes(), _usable(sampled), within)
        passed |= {clip_id for clip_id, count in counts.items() if count >= needed}
    return sorted(passed)


def _all_strips(reference: FrameArrays) -> FrameArrays | None:
    """A reference's strips, all of them as one set of frames (for near-frame counts), or None without any."""
    strips = reference.strip_arrays()
    if not strips:
        return None
    return replace(strips[0], frame_times=np.concatenate([s.frame_times for s in strips]),
                   frame_hashes=np.concatenate([s.frame_hashes for s in strips]),
                   frame_qualities=np.concatenate([s.frame_qualities for s in strips]))


def _near_frame_counts(references: dict[int, FrameArrays], views: list[np.ndarray], usable: np.ndarray,
                       limit: int) -> dict[int, int]:
    """For each reference, the most usable query frames of one view that have a frame within ``limit``
    bits in it. One distance matrix per view for all references at once."""
    kept = {c: references[c].hashes()[_usable(references[c])] for c in sorted(references)}
    ids = [c for c, hashes in kept.items() if len(hashes)]
    if not ids or not usable.any():
        return {}
    sizes = np.array([len(kept[c]) for c in ids], dtype=np.int64)
    stacked = np.concatenate([kept[c] for c in ids])
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    best = np.zeros(len(ids), dtype=np.int64)
    for hashes in views:
        near = hamming_matrix(hashes[usable], stacked) <= limit
        # For each candidate: how many query frames have a near frame in it.
        best = np.maximum(best, (np.add.reduceat(near, starts, axis=1) > 0).sum(axis=0))
    return dict(zip(ids, best.tolist()))


def shortlist(index: Index, query: Fingerprint, *, candidates: int = CANDIDATES) -> list[int]:
    """The clips of ``index`` worth verifying against ``query`` (ids), found through the posting lists alone:
    at most ``candidates`` with near keys on enough query frames, the most votes first; then a few with
    votes on two frames but no key that near (:data:`WEAK_CANDIDATES`); then a few found through one of a
    portrait query's strip views (:data:`STRIP_CANDIDATES`). :func:`search` verifies them.
    """
    voted, counts, nearest, strips = _votes(index, query)
    needed = _frames_needed(query)
    worth = _worth_verifying(counts, nearest, needed)
    # The most votes first; then, of the clips with votes on two frames or more but no key that near, a few.
    weak = ~worth & (counts >= min(2, needed))
    chosen = _most_votes(voted[worth], counts[worth], candidates)
    chosen += _most_votes(voted[weak], counts[weak], WEAK_CANDIDATES)
    # Clips found through a strip view have places of their own, the nearest first (see _votes), and need
    # near keys on two frames of it, not three: a copy has few strip frames, and each finds its strip's
    # key through a shared chunk only some of the time. Verification compares whole strip hashes.
    taken = set(chosen)
    chosen += sorted((c for c, (count, _) in strips.items() if count >= min(2, needed) and c not in taken),
                     key=lambda c: (-strips[c][1], c))[:STRIP_CANDIDATES]
    return chosen


def search(index: Index, query: Fingerprint, *, threshold: float = DEFAULT_THRESHOLD,
           candidates: int = CANDIDATES, exclude: str | None = None) -> list[Match]:
    """Clips in ``index`` that share footage with ``query``, best first.

    The candidates (:func:`shortlist`) are verified by time alignment
    (:func:`compare`). ``exclude`` leaves out the clip with that sha256 (the
    query itself, when it is already indexed).
    """
    references = index.frame_arrays(shortlist(index, query, candidates=candidates))
    found: list[Match] = []
    for clip_id in _with_near_frames(query, references):
        reference = references[clip_id]
        if reference.sha256 == exclude:
            continue
        match = compare(query, reference)
        if match is not None and match.score >= threshold:
            found.append(replace(match, clip_id=clip_id))
    found.sort(key=lambda m: (-m.score, m.clip_id or 0))
    return found


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class DateConflict:
    """The footage was published before the earliest date now claimed for it."""

    claimed_earliest: datetime
    first_posted: datetime
    days: float

    def to_dict(self) -> dict[str, Any]:
        return {"claimed_earliest": self.claimed_earliest.isoformat(), "first_posted": self.first_posted.isoformat(),
                "days_before_claim": round(self.days, 2)}


@dataclass(frozen=True)
class PlaceConflict:
    """Two places claimed or established for copies of the same footage that cannot both hold."""

    first: dict[str, Any]
    second: dict[str, Any]
    distance_km: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second,
                "distance_km": None if self.distance_km is None else round(self.distance_km, 1), "reason": self.reason}


@dataclass(frozen=True)
class Provenance:
    """What the index says about where this footage comes from."""

    earliest_appearance: Appearance | None
    claimed_date: DateClaim | None
    date_conflict: DateConflict | None
    place_conflicts: tuple[PlaceConflict, ...]
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "earliest_appearance": self.earliest_appearance.to_dict() if self.earliest_appearance else None,
            "claimed_date": self.claimed_date.to_dict() if self.claimed_date else None,
            "date_conflict": self.date_conflict.to_dict() if self.date_conflict else None,
            "place_conflict": [c.to_dict() for c in self.place_conflicts] or None,
            "summary": self.summary,
        }


#: A time without a zone could be in any zone from UTC-12 to UTC+14.
_ZONE_SPREAD = timedelta(hours=14)


def _aware(moment: datetime, side: str) -> datetime:
    """Compare zone-less times by their widest reading: earliest in any zone, or latest."""
    if moment.tzinfo is not None:
        return moment
    moment = moment.replace(tzinfo=timezone.utc)
    return moment - _ZONE_SPREAD if side == "earliest" else moment + _ZONE_SPREAD


def _posted(appearance: Appearance) -> datetime:
    assert appearance.posted_at is not None
    return _aware(appearance.posted_at.earliest, "earliest")


def _haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0088 * 2 * math.asin(min(1.0, math.sqrt(h)))


def _place_conflicts(places: list[tuple[PlaceClaim, dict[str, Any]]]) -> list[PlaceConflict]:
    conflicts = []
    for number, (a, about_a) in enumerate(places):
        for b, about_b in places[number + 1:]:
            if a.point is not None and b.point is not None:
                distance = _haversine_km(a.point, b.point)
                slack = ((a.point.radius_m or 0) + (b.point.radius_m or 0)) / 1000 + 1.0
                if distance > slack:
                    conflicts.append(PlaceConflict(about_a, about_b, distance,
                                                   f"{distance:.0f} km apart, more than their radii allow"))
                continue
            ca, cb = a.country_code, b.country_code
            if ca and cb and ca != cb:
                conflicts.append(PlaceConflict(about_a, about_b, None, f"different countries ({ca}, {cb})"))
    return conflicts


def provenance(index: Index, query_sha256: str | None, matches: list[Match],
               claims: tuple[Claim, ...] = ()) -> Provenance:
    """Turn matches into a verdict: earliest known appearance, date and place conflicts.

    The claimed date is the query clip's own (stored claims about it, plus
    ``claims`` given for this query); places come from claims and assessments
    about the query and every matched copy.
    """
    shas = [m.reference for m in matches]
    if query_sha256:
        shas.append(query_sha256)
    bundle = index.records(shas) if shas else None
    appearances = list(bundle.appearances) if bundle else []
    dated = [a for a in appearances if a.posted_at is not None]
    earliest = min(dated, key=lambda a: (_posted(a), a.id)) if dated else None

    own_claims = list(claims)
    if bundle and query_sha256:
        own_claims += [c for c in bundle.claims if bundle.claim_clip(c) == query_sha256]
    date_claims = [c.date for c in own_claims if c.date is not None and c.date.earliest is not None]
    claimed = max(date_claims, key=lambda d: _aware(d.earliest, "earliest")) if date_claims else None  # type: ignore[arg-type]

    conflict = None
    if earliest is not None and claimed is not None and earliest.posted_at is not None:
        # Only a conflict whatever the time zones: the latest the footage can have
        # been posted is still before the earliest it can have been filmed.
        first_posted = _aware(earliest.posted_at.latest, "latest")
        claimed_earliest = _aware(claimed.earliest, "earliest")  # type: ignore[arg-type]
        if first_posted < claimed_earliest:
            days = (claimed_earliest - first_posted).total_seconds() / 86400
            conflict = DateConflict(claimed.earliest, earliest.posted_at.earliest, days)  # type: ignore[arg-type]

    places: list[tuple[PlaceClaim, dict[str, Any]]] = []
    if bundle:
        for claim in list(bundle.claims) + list(claims):
            if claim.place is not None:
                places.append((claim.place, {"kind": "claim", "id": claim.id, "clip": bundle.claim_clip(claim)
                                             or claim.clip_sha256, "place": str(claim.place)}))
        for assessment in bundle.assessments:
            if assessment.place is not None:
                places.append((assessment.place, {"kind": "assessment", "id": assessment.id,
                                                  "by": assessment.made_by, "clips": list(assessment.clip_sha256s),
                                                  "place": str(assessment.place)}))
    place_conflicts = tuple(_place_conflicts(places))
    return Provenance(earliest, claimed, conflict, place_conflicts,
                      _summary(matches, earliest, conflict, place_conflicts))


def _summary(matches: list[Match], earliest: Appearance | None, conflict: DateConflict | None,
             places: tuple[PlaceConflict, ...]) -> str:
    if not matches and earliest is None:
        return "No earlier copy of this footage is in the index."
    parts = []
    if matches:
        parts.append(f"{len(matches)} indexed clip{'s' if len(matches) != 1 else ''} share{'s' if len(matches) == 1 else ''} "
                     "footage with this one.")
    if earliest is not None:
        who = earliest.publisher or earliest.handle or "an unknown publisher"
        when = str(earliest.posted_at) if earliest.posted_at else "an unknown date"
        where = f" ({earliest.url})" if earliest.url else ""
        sentence = f"This footage was first published by {who} on {when}{where}"
        if conflict is not None:
            sentence += f", {conflict.days:.0f} days before the date now claimed for it"
        parts.append(sentence + ".")
    if places:
        parts.append(f"The places claimed for copies of this footage disagree ({places[0].reason}).")
    return " ".join(parts)
