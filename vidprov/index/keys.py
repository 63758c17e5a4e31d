"""Search keys for the index: multi-index hashing over 16-bit chunks.

Each frame hash gives a 64-bit *key*: all of a 64-bit hash, or the 64 bits of a
256-bit hash that stand for its lowest spatial frequencies (the bits that
re-encoding, resizing and overlays disturb least). The key is cut into four
16-bit chunks. Two frames whose keys differ in few bits very likely agree
exactly on at least one chunk, so the index keeps, for every (chunk number,
chunk value), the list of frames that have it: a *posting list*. A query looks
up its own chunks, then checks the whole key of every frame found. The cost
grows with the length of the lists looked up, not with the size of the index.
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..hashing import ALGORITHMS

if TYPE_CHECKING:
    from ..fingerprint import Fingerprint

CHUNKS = 4
CHUNK_BITS = 16
#: Keys of frames' inner pictures (see :func:`vidprov.fingerprint.inner_box`) go in lists of their own,
#: chunk numbers ``INNER_CHUNKS + c``: a query's whole frames never read them, and its inner views
#: read nothing else.
INNER_CHUNKS = CHUNKS
#: Keys of frames' strips (see :func:`vidprov.fingerprint.strip_boxes`) likewise, in chunks ``STRIP_CHUNKS + c``:
#: only a portrait query's strip views read them.
STRIP_CHUNKS = 2 * CHUNKS

#: One posting: clip id, frame number within the clip's fingerprint, the frame's 64-bit key.
POSTING = np.dtype([("clip", "<u4"), ("frame", "<u2"), ("key", "<u8")])
#: A posting with the list it belongs in, for writing.
CHUNKED = np.dtype([("chunk", "<i2"), ("value", "<i4"), ("clip", "<u4"), ("frame", "<u2"), ("key", "<u8")])
#: Frame numbers in postings are 16-bit: frames past this are not searchable (9 hours at 2 a second).
MAX_FRAMES = 65535

_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


def _key_positions(algorithm: str) -> np.ndarray:
    """Which bit positions of the hash make up the 64-bit key, most significant first."""
    bits = ALGORITHMS[algorithm].bits
    if bits == 64:
        return np.arange(64)
    rows = np.arange(8)[:, None]
    cols = np.arange(8)[None, :]
    grid = (rows * 16 + cols).ravel()  # coefficient (i, j) of the 16x16 DCT, i, j < 8
    if algorithm == "pdq":
        # pdqhash lists coefficient 255 first, so coefficient k is bit 255 - k.
        return np.sort(255 - grid)
    return grid


@functools.lru_cache(maxsize=None)
def _key_bytes(algorithm: str) -> np.ndarray | None:
    """The hash bytes that make up the key, in order, when its bits are whole bytes of the hash in their
    own order (for every algorithm here: the 8 low frequencies of a DCT row are one byte), else None."""
    words = _key_positions(algorithm).reshape(8, 8)
    if (words[:, 0] % 8 == 0).all() and (np.diff(words, axis=1) == 1).all():
        return words[:, 0] // 8
    return None


def frame_keys(hashes: np.ndarray, algorithm: str) -> np.ndarray:
    """The 64-bit keys (``uint64``) of packed hashes of shape ``(frames, bytes)``."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.asarray(hashes, dtype=np.uint8)
    chosen = _key_bytes(algorithm)
    if chosen is not None:
        packed = hashes[:, chosen]  # 8 bytes, big-endian
    else:
        packed = np.packbits(np.unpackbits(hashes, axis=1)[:, _key_positions(algorithm)], axis=1)
    return np.ascontiguousarray(packed).view(">u8").ravel().astype(np.uint64)


def chunk_values(keys: np.ndarray) -> np.ndarray:
    """The four 16-bit chunks of each key, shape ``(frames, 4)``; chunk 0 is the most significant."""
    keys = np.asarray(keys, dtype=np.uint64)
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    return ((keys[:, None] >> shifts[None, :]) & np.uint64(0xFFFF)).astype(np.int64)


def key_distance(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Hamming distance between 64-bit keys (elementwise, broadcasting)."""
    return bit_counts(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def bit_counts(x: np.ndarray) -> np.ndarray:
    """How many bits of each ``uint64`` are set (``uint8``)."""
    if hasattr(np, "bitwise_count"):  # numpy 2: a hardware popcount
        return np.bitwise_count(x)
    total = np.zeros(x.shape, dtype=np.uint8)
    for shift in (0, 16, 32, 48):
        total += _POPCOUNT16[((x >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.int64)]
    return total


def list_ids(chunks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The id of the list for each (chunk number, chunk value): ``chunk * 65536 + value``."""
    return (np.asarray(chunks, dtype=np.int64) << CHUNK_BITS) | np.asarray(values, dtype=np.int64)


def _shifts(lists: np.ndarray) -> np.ndarray:
    """Bit position of each list's chunk within the 64-bit key."""
    return (48 - CHUNK_BITS * ((np.asarray(lists, dtype=np.int64) >> CHUNK_BITS) % CHUNKS)).astype(np.uint64)


def key_rests(keys: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """The 48 bits of each key other than the chunk its list is for, in their order (``uint64``).

    Every key in a list has the list's chunk value, so two keys found through
    one list are as far apart as their rests.
    """
    shift = _shifts(lists)
    keys = np.asarray(keys, dtype=np.uint64)
    return (((keys >> shift) >> np.uint64(CHUNK_BITS)) << shift) | (keys & ((np.uint64(1) << shift) - np.uint64(1)))


def whole_keys(rests: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """The 64-bit keys whose rests (:func:`key_rests`) and lists these are."""
    shift = _shifts(lists)
    rests = np.asarray(rests, dtype=np.uint64)
    values = (np.asarray(lists, dtype=np.int64) & ((1 << CHUNK_BITS) - 1)).astype(np.uint64)
    return ((((rests >> shift) << np.uint64(CHUNK_BITS)) | values) << shift) \
        | (rests & ((np.uint64(1) << shift) - np.uint64(1)))


class PostingLists:
    """Posting lists as flat arrays: list ``lists[i]`` holds postings ``bounds[i]:bounds[i + 1]``.

    For each posting: the rest of its key (:func:`key_rests`), which is all a
    search compares; its clip id and its frame number in the clip's
    fingerprint come from *runs*, postings of one clip at consecutive frames:
    run ``r`` covers ``run_sizes[r]`` postings of clip ``run_clips[r]``, from
    frame ``run_firsts[r]`` on. A search checks the keys of every posting and
    asks for the clip (:meth:`clips_at`) of the few that are near.
    """

    def __init__(self, lists: np.ndarray, bounds: np.ndarray, rests: np.ndarray, run_clips: np.ndarray,
                 run_firsts: np.ndarray, run_sizes: np.ndarray, run_ends: np.ndarray | None = None) -> None:
        self.lists = lists            # int64, ascending, no repeats
        self.bounds = bounds          # int64, len(lists) + 1
        self.rests = rests            # uint64, one per posting
        self.run_clips = run_clips    # uint32
        self.run_firsts = run_firsts  # int64
        self.run_sizes = run_sizes    # int64, summing to the number of postings
        if run_ends is not None:      # the running total of run_sizes, when the caller has it already
            self.__dict__["_run_ends"] = run_ends

    @classmethod
    def of_postings(cls, lists: np.ndarray, clips: np.ndarray, frames: np.ndarray,
                    rests: np.ndarray) -> PostingLists:
        """Gather postings given one by one with their list ids (in any order) into lists.

        Postings of one list keep the order they came in.
        """
        lists = np.asarray(lists, dtype=np.int64)
        order = np.argsort(lists, kind="stable")
        lists = lists[order]
        starts = np.flatnonzero(np.diff(lists, prepend=-1))
        return cls(lists[starts], np.append(starts, len(lists)).astype(np.int64),
                   np.asarray(rests, dtype=np.uint64)[order], np.asarray(clips, dtype=np.uint32)[order],
                   np.asarray(frames, dtype=np.int64)[order], np.ones(len(lists), dtype=np.int64))

    @classmethod
    def empty(cls) -> PostingLists:
        return cls.of_postings(np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.int64),
                               np.zeros(0, np.uint64))

    def __len__(self) -> int:
        return len(self.lists)

    def pieces(self) -> tuple[PostingLists, ...]:
        """The lists as read, before any :meth:`join`: a search can check each piece where it lies."""
        return (self,)

    @cached_property
    def _run_ends(self) -> np.ndarray:
        return np.cumsum(self.run_sizes)

    @cached_property
    def clips(self) -> np.ndarray:
        """The clip id of each posting (``uint32``)."""
        return np.repeat(self.run_clips, self.run_sizes)

    @cached_property
    def frames(self) -> np.ndarray:
        """The frame number of each posting (``int64``)."""
        sizes = self.run_sizes
        return np.repeat(self.run_firsts - (self._run_ends - sizes), sizes) + np.arange(len(self.rests))

    def clips_at(self, positions: np.ndarray) -> np.ndarray:
        """The clip ids of the postings at these positions, without working out every posting's."""
        return self.run_clips[np.searchsorted(self._run_ends, positions, side="right")]

    def postings_at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The clip ids and frame numbers (``int64``) of the postings at these positions, likewise."""
        runs = np.searchsorted(self._run_ends, positions, side="right")
        return self.run_clips[runs], self.run_firsts[runs] + (positions - (self._run_ends[runs] - self.run_sizes[runs]))

    def posting_lists(self) -> np.ndarray:
        """The list id of each posting."""
        return np.repeat(self.lists, np.diff(self.bounds))

    def join(self, other: PostingLists) -> PostingLists:
        """Both sets of lists in one; a list in both has this one's postings first.

        Nothing is copied until the joined arrays are asked for: a search
        checks the pieces (:meth:`pieces`) one by one.
        """
        if not len(other):
            return self
        if not len(self):
            return other
        return JoinedLists((*self.pieces(), *other.pieces()))

    def as_dict(self) -> dict[tuple[int, int], np.ndarray]:
        """One :data:`POSTING` array (whole keys) per (chunk number, chunk value)."""
        entries = np.empty(len(self.rests), dtype=POSTING)
        entries["clip"], entries["frame"] = self.clips, self.frames
        entries["key"] = whole_keys(self.rests, self.posting_lists())
        bounds = self.bounds.tolist()
        return {(list_id >> CHUNK_BITS, list_id & ((1 << CHUNK_BITS) - 1)): entries[bounds[i]:bounds[i + 1]]
                for i, list_id in enumerate(self.lists.tolist())}


class JoinedLists(PostingLists):
    """Posting lists read in pieces (stored ones, pending ones), seen as one; the flat arrays are worked
    out only when asked for."""

    def __init__(self, pieces: tuple[PostingLists, ...]) -> None:  # pylint: disable=super-init-not-called
        self._pieces = pieces

    def pieces(self) -> tuple[PostingLists, ...]:
        return self._pieces

    @cached_property
    def lists(self) -> np.ndarray:  # type: ignore[override]
        return functools.reduce(np.union1d, [piece.lists for piece in self._pieces])

    @cached_property
    def _layout(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The bounds of the joined lists, and where each piece's postings go in them."""
        lists = self.lists
        places = [np.searchsorted(lists, piece.lists) for piece in self._pieces]
        sizes = np.zeros(len(lists), dtype=np.int64)
        before = []
        for piece, at in zip(self._pieces, places):
            before.append(sizes[at].copy())  # postings of earlier pieces in each of this one's lists
            sizes[at] += np.diff(piece.bounds)
        bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        positions = [np.repeat(bounds[at] + ahead - piece.bounds[:-1], np.diff(piece.bounds))
                     + np.arange(len(piece.rests)) for piece, at, ahead in zip(self._pieces, places, before)]
        return bounds, positions

    def _gathered(self, name: str, dtype: type) -> np.ndarray:
        bounds, positions = self._layout
        values: np.ndarray = np.empty(int(bounds[-1]), dtype=dtype)
        for piece, at in zip(self._pieces, positions):
            values[at] = getattr(piece, name)
        return values

    @property
    def bounds(self) -> np.ndarray:  # type: ignore[override]
        return self._layout[0]

    @cached_property
    def rests(self) -> np.ndarray:  # type: ignore[override]
        return self._gathered("rests", np.uint64)

    @cached_property
    def clips(self) -> np.ndarray:
        return self._gathered("clips", np.uint32)

    @cached_property
    def frames(self) -> np.ndarray:
        return self._gathered("frames", np.int64)

    def clips_at(self, positions: np.ndarray) -> np.ndarray:
        return self.clips[positions]

    def postings_at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.clips[positions], self.frames[positions]


def decode_postings(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=POSTING)


def fingerprint_postings(clip_id: int, fingerprint: Fingerprint) -> np.ndarray:
    """Every posting of one stored fingerprint: its frames', then their inner pictures' (same frame numbers,
    lists of their own: :data:`INNER_CHUNKS`), then the strips' of the frames that have them
    (:data:`STRIP_CHUNKS`)."""
    parts = [clip_postings(clip_id, fingerprint.hashes(), fingerprint.algorithm)]
    inner = fingerprint.inner_hashes()
    if inner is not None and len(inner):
        parts.append(clip_postings(clip_id, inner, fingerprint.algorithm, INNER_CHUNKS))
    strips = fingerprint.strip_hashes()
    if strips is not None and len(strips):
        at = fingerprint.strip_frames()
        width = strips.shape[2]
        parts.append(clip_postings(clip_id, strips.reshape(-1, width), fingerprint.algorithm, STRIP_CHUNKS,
                                   np.repeat(at, strips.shape[1])))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def clip_postings(clip_id: int, hashes: np.ndarray, algorithm: str, first_chunk: int = 0,
                  frames: np.ndarray | None = None) -> np.ndarray:
    """Every posting of one clip: for each frame and chunk, the list it goes in (``CHUNKED``); chunks are
    numbered from ``first_chunk``, and the hashes are of frames 0, 1, 2... unless ``frames`` says which."""
    numbers = np.arange(len(hashes)) if frames is None else np.asarray(frames, dtype=np.int64)
    kept = numbers < MAX_FRAMES
    hashes, numbers = hashes[kept], numbers[kept]
    keys = frame_keys(hashes, algorithm)
    chunks = chunk_values(keys)
    count = len(keys)
    entries = np.empty(count * CHUNKS, dtype=CHUNKED)
    entries["chunk"] = np.tile(np.arange(CHUNKS) + first_chunk, count)
    entries["value"] = chunks.ravel()
    entries["clip"] = clip_id
    entries["frame"] = np.repeat(numbers, CHUNKS)
    entries["key"] = np.repeat(keys, CHUNKS)
    return entries
