"""Compact forms of what an index stores most of: fingerprint frames and posting lists.

Both backends store them the same way:

* **frames** (:func:`pack_frames`): one zlib stream of the times, each 64-bit
  float XORed with the one before, the qualities, the frame numbers as
  differences, and the hashes each XORed with the one before, then the
  inner pictures' hashes likewise when the fingerprint has them (its header
  names its ``inner`` box), then, when its header names ``strips``, the
  strips' hashes of the frames that have them (XORed likewise), those
  frames' numbers as differences and how many there are. Every step is exact. A steady frame rate becomes runs of zeros, and so do the bits two
  frames of one shot share, which is most of them.
* **posting lists** (:func:`encode_lists`): for each list (``chunk * 65536 +
  value``, see :mod:`vidprov.index.keys`), *groups* of 7 bytes (clip id,
  first frame, count of consecutive frames) and, for each posting, the 6
  bytes of its key that are not the list's own chunk. Footage changes
  slowly, so consecutive frames of a clip mostly fall in the same list: a
  posting costs about 8.5 bytes where a plain (clip, frame, key) record takes
  14. Two encoded pieces of one list join by concatenating their groups and
  their keys.
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from ..errors import CorruptIndexError
from ..fingerprint import Fingerprint, FrameArrays, FrameRecord
from ..hashing import ALGORITHMS, FrameHash
from . import keys as K

#: A group: postings of one clip at consecutive frames (at most 255), first frame given.
GROUP = np.dtype([("clip", "<u4"), ("first", "<u2"), ("count", "u1")])
#: Each posting's key: the 48 bits other than the list's own chunk.
KEY48 = np.dtype([("low", "<u4"), ("high", "<u2")])
#: Most postings in one group.
MAX_GROUP = 255


def _xored(hashes: np.ndarray) -> bytes:
    """Each hash XORed with the one before: the bits two frames of a shot share become zeros."""
    return (hashes ^ np.concatenate((np.zeros((1, hashes.shape[1]), dtype=np.uint8), hashes[:-1]))).tobytes()


def pack_frames(fingerprint: Fingerprint) -> bytes:
    """The frames of ``fingerprint`` (time, hash, quality, frame number, inner hash, strip hashes) as one
    zlib stream."""
    times = fingerprint.times().astype("<f8").view("<u8")
    numbers = np.array([f.index for f in fingerprint.frames], dtype="<i8")
    inner = fingerprint.inner_hashes()
    strips = fingerprint.strip_hashes()
    strip_part = b""
    if strips is not None:
        at = fingerprint.strip_frames()
        strip_part = b"".join((_xored(strips.reshape(len(strips), -1)) if len(strips) else b"",
                               np.diff(at, prepend=np.int64(0)).astype("<u4").tobytes(),
                               np.array([len(at)], dtype="<u4").tobytes()))
    return zlib.compress(b"".join((
        (times ^ np.concatenate((np.zeros(1, dtype="<u8"), times[:-1]))).tobytes(),
        np.array([f.quality for f in fingerprint.frames], dtype=np.uint8).tobytes(),
        np.diff(numbers, prepend=np.int64(0)).astype("<i8").tobytes(),
        _xored(fingerprint.hashes()),
        _xored(inner) if inner is not None and len(inner) else b"",
        strip_part)))


#: What :func:`unpack_arrays` gives.
Unpacked = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None, np.ndarray | None,
                 np.ndarray | None]


def unpack_arrays(packed: bytes, bits: int, inner: bool = False, strips: int = 0, location: str = "",
                  numbers: bool = True) -> Unpacked:
    """The frames :func:`pack_frames` packed, as arrays: times, qualities, frame numbers (None unless
    ``numbers``: a search does not need them), hashes,
    (``inner``: the header has an inner box) the inner pictures' hashes, else None, and (``strips``:
    how many strips the header names) the strips' hashes, shape ``(frames with strips, strips,
    bytes)``, and those frames' numbers (positions), else None and None.

    Raises :class:`CorruptIndexError` naming ``location`` (the index) when they are damaged.
    """
    try:
        found = _unpack(packed, bits, inner, strips, numbers)
    except (zlib.error, ValueError, TypeError, IndexError) as error:
        raise CorruptIndexError(f"a fingerprint's packed frames are damaged ({error}); rebuild the index from "
                                "its clips", location) from None
    if len({len(found[0]), len(found[1]), len(found[3])}) != 1 or \
            (found[6] is not None and len(found[6]) and (found[6].min() < 0 or found[6].max() >= len(found[0]))):
        raise CorruptIndexError("a fingerprint's packed frames are damaged (their parts disagree); rebuild the "
                                "index from its clips", location)
    return found


def _unxored(data: bytes, rows: int, width: int, offset: int = 0) -> np.ndarray:
    """``rows`` packed rows of ``width`` bytes from ``data`` at ``offset``, each XORed back with the ones
    before (see :func:`_xored`), as ``uint8`` of shape ``(rows, width)``; XORed eight bytes at a time where
    the width allows, since XOR works bytewise."""
    if width % 8:
        return np.bitwise_xor.accumulate(np.frombuffer(data, dtype=np.uint8, count=rows * width, offset=offset)
                                         .reshape(rows, width))
    words = np.frombuffer(data, dtype=np.uint64, count=rows * width // 8, offset=offset).reshape(rows, width // 8)
    return np.bitwise_xor.accumulate(words).view(np.uint8)


def _unpack(packed: bytes, bits: int, inner: bool, strips: int, numbers: bool = True) -> Unpacked:
    width = bits // 8
    data = zlib.decompress(packed)
    strip_hashes = strip_frames = None
    if strips:
        (with_strips,) = np.frombuffer(data, dtype="<u4", count=1, offset=len(data) - 4).tolist()
        tail = with_strips * (4 + strips * width) + 4
        part = data[len(data) - tail:]
        strip_hashes = _unxored(part, with_strips, strips * width).reshape(with_strips, strips, width)
        strip_frames = np.cumsum(np.frombuffer(part, dtype="<u4", count=with_strips,
                                               offset=with_strips * strips * width).astype(np.int64))
        data = data[:len(data) - tail]
    count = len(data) // (17 + width * (2 if inner else 1))
    times = np.bitwise_xor.accumulate(np.frombuffer(data, dtype="<u8", count=count)).view("<f8")
    qualities = np.frombuffer(data, dtype=np.uint8, count=count, offset=8 * count)
    frame_numbers = np.cumsum(np.frombuffer(data, dtype="<i8", count=count, offset=9 * count)) if numbers else None
    hashes = _unxored(data, count, width, 17 * count)
    inner_hashes = _unxored(data, count, width, (17 + width) * count) if inner else None
    return times, qualities, frame_numbers, hashes, inner_hashes, strip_hashes, strip_frames


def _has_inner(header: dict[str, object]) -> bool:
    return bool(header.get("inner"))


def _strip_count(header: dict[str, object]) -> int:
    strips = header.get("strips")
    return len(strips) if isinstance(strips, list) else 0


def unpack_frames(packed: bytes, bits: int, header: dict[str, object] | None = None,
                  location: str = "") -> tuple[FrameRecord, ...]:
    """The frames :func:`pack_frames` packed, for hashes of ``bits`` bits, of a fingerprint with this
    ``header`` (its JSON form without frames), in the index at ``location``."""
    times, qualities, numbers, hashes, inner, strips, strip_frames = unpack_arrays(
        packed, bits, _has_inner(header or {}), _strip_count(header or {}), location)
    assert numbers is not None  # asked for: numbers=True
    width, raw = bits // 8, hashes.tobytes()
    inner_raw = inner.tobytes() if inner is not None else b""
    strips_of: dict[int, tuple[FrameHash, ...]] = {}
    if strips is not None and strip_frames is not None:
        strips_of = {n: tuple(FrameHash(h.tobytes(), bits) for h in hashes_of_frame)
                     for n, hashes_of_frame in zip(strip_frames.tolist(), strips)}

    def hash_at(data: bytes, i: int) -> FrameHash:
        return FrameHash(data[i * width:(i + 1) * width], bits)

    return tuple(FrameRecord(t, hash_at(raw, i), q, n, inner=hash_at(inner_raw, i) if inner_raw else None,
                             strips=strips_of.get(i, ()))
                 for i, (t, q, n) in enumerate(zip(times.tolist(), qualities.tolist(), numbers.tolist())))


def frame_arrays(sha256: str, header: dict[str, object], packed: bytes, location: str = "") -> FrameArrays:
    """A stored fingerprint's :class:`~vidprov.fingerprint.FrameArrays`, from its header and packed frames
    (in the index at ``location``)."""
    algorithm = str(header["algorithm"])
    times, qualities, _, hashes, inner, strips, strip_frames = unpack_arrays(
        packed, ALGORITHMS[algorithm].bits, _has_inner(header), _strip_count(header), location, numbers=False)
    duration = header.get("duration")
    return FrameArrays(sha256, algorithm, float(duration) if isinstance(duration, (int, float)) else None,
                       times, hashes, qualities, inner, strips, strip_frames)


def encode_lists(entries: np.ndarray) -> tuple[list[int], list[bytes], list[bytes]]:
    """``keys.CHUNKED`` postings as rows of one run: list ids, and each list's groups and keys."""
    lists = (entries["chunk"].astype(np.int64) << K.CHUNK_BITS) | entries["value"].astype(np.int64)
    order = np.lexsort((entries["frame"], entries["clip"], lists))
    entries, lists = entries[order], lists[order]
    frames = entries["frame"].astype(np.int64)
    clips = entries["clip"].astype(np.int64)
    # A group starts at a new list, a new clip, a gap in the frames, or every MAX_GROUP postings.
    run_start = np.ones(len(entries), dtype=bool)
    run_start[1:] = (lists[1:] != lists[:-1]) | (clips[1:] != clips[:-1]) | (frames[1:] != frames[:-1] + 1)
    run_first = np.maximum.accumulate(np.where(run_start, np.arange(len(entries)), 0))
    starts = np.nonzero(run_start | ((np.arange(len(entries)) - run_first) % MAX_GROUP == 0))[0]
    groups = np.empty(len(starts), dtype=GROUP)
    groups["clip"], groups["first"] = clips[starts], frames[starts]
    groups["count"] = np.diff(np.append(starts, len(entries)))
    rest = K.key_rests(entries["key"], lists)
    keys = np.empty(len(entries), dtype=KEY48)
    keys["low"] = (rest & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    keys["high"] = (rest >> np.uint64(32)).astype(np.uint16)
    list_starts = np.nonzero(np.diff(lists, prepend=-1))[0]
    group_bounds = np.searchsorted(starts, list_starts).tolist() + [len(starts)]
    entry_bounds = list_starts.tolist() + [len(entries)]
    group_bytes, key_bytes = groups.tobytes(), keys.tobytes()
    g, k = GROUP.itemsize, KEY48.itemsize
    return (lists[list_starts].tolist(), [group_bytes[a * g:b * g] for a, b in zip(group_bounds, group_bounds[1:])],
            [key_bytes[a * k:b * k] for a, b in zip(entry_bounds, entry_bounds[1:])])


def decode_lists(rows: Sequence[tuple[int, bytes, bytes]]) -> K.PostingLists:
    """Turn (list, groups, keys) rows into :class:`~vidprov.index.keys.PostingLists`.

    A list may come in several rows (runs); their postings are joined in the
    order of the rows. Raises ``ValueError`` when groups and keys disagree.
    """
    stored_rows = sorted(rows, key=lambda row: row[0])
    groups = np.frombuffer(b"".join(row[1] for row in stored_rows), dtype=GROUP)
    raw = b"".join([*(row[2] for row in stored_rows), bytes(2)])  # 2 bytes more: see below
    if (len(raw) - 2) % KEY48.itemsize:
        raise ValueError("posting lists are damaged: a key is cut short")
    count = (len(raw) - 2) // KEY48.itemsize
    counts = groups["count"].astype(np.int64)
    ends = np.cumsum(counts)
    if (ends[-1] if len(ends) else 0) != count:
        raise ValueError("posting lists are damaged: their groups and keys disagree")
    # Each 6-byte key read as 8 bytes (little-endian) where it starts, the 2 bytes of the next one masked off.
    rests = np.ndarray((count,), dtype="<u8", buffer=raw, strides=(KEY48.itemsize,)) \
        & np.uint64((1 << 48) - 1)
    row_lists = np.array([row[0] for row in stored_rows], dtype=np.int64)
    sizes = np.array([len(row[2]) // KEY48.itemsize for row in stored_rows], dtype=np.int64)
    # Rows are sorted by list, so each list's postings are one slice.
    firsts = np.flatnonzero(np.diff(row_lists, prepend=-1))
    bounds = np.append(np.cumsum(sizes) - sizes, count)[np.append(firsts, len(row_lists))]
    return K.PostingLists(row_lists[firsts], bounds.astype(np.int64), rests, groups["clip"],
                          groups["first"].astype(np.int64), counts, ends)


def pending_lists(rows: Sequence[tuple[int, int, int, int]]) -> K.PostingLists:
    """Pending postings, as (list id, clip id, frame, signed 64-bit key) rows, gathered into lists."""
    if not rows:
        return K.PostingLists.empty()
    data = np.array(rows, dtype=np.int64)
    return K.PostingLists.of_postings(data[:, 0], data[:, 1], data[:, 2],
                                      K.key_rests(data[:, 3].view(np.uint64), data[:, 0]))


def read_lists(stored: Sequence[tuple[int, bytes, bytes]], pending: Sequence[tuple[int, int, int, int]],
               location: str) -> K.PostingLists:
    """Posting lists from stored (list, groups, keys) rows and pending (list, clip, frame, key) rows.

    Stored postings come first in each list. Raises :class:`CorruptIndexError`
    naming ``location`` when the stored rows are damaged.
    """
    return read_stored(stored, location).join(pending_lists(pending))


def read_stored(stored: Sequence[tuple[int, bytes, bytes]], location: str) -> K.PostingLists:
    """Posting lists from stored (list, groups, keys) rows (:func:`decode_lists`), or
    :class:`CorruptIndexError` naming ``location`` when they are damaged."""
    try:
        return decode_lists(stored)
    except ValueError:
        raise CorruptIndexError("posting lists are damaged; rebuild the index (vidprov index copy)", location) from None
