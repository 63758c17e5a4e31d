"""The reference layout: posting lists as one BLOB per chunk key, candidates checked per key in numpy.

Multi-index hashing over the four 16-bit chunks of each frame's 64-bit key,
as :mod:`vidprov.index.keys` cuts it, stored the plain way: one row per
(chunk number, chunk value), ``list = chunk * 65536 + value``, whose BLOB is
every posting with that chunk value, a posting being the clip id (``uint32``)
and the whole 64-bit key, 12 bytes, sorted by clip. A query reads the lists of
its 60 keys' chunks, keeps the postings whose key is at most
:data:`MAX_DISTANCE` bits from the asking frame's key, and gives every clip
one vote per query frame that found it; clips with :data:`MIN_VOTES` votes or
more are its answer, most votes first. Nothing else is checked: no frame
numbers, no order in time, no whole fingerprints.

:mod:`index_scale` measures it beside vidprov's own index (``--backends
sqlite,reference``), on the same synthetic clips and the same queries.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import sys
import time
from types import TracebackType

import numpy as np
from index_scale import BATCH, FRAMES, noisy, preload, summary, synthetic_clips, synthetic_hashes

from vidprov.index import keys

#: One posting: clip id and the frame's whole 64-bit key, 12 bytes.
POSTING = np.dtype([("clip", "<u4"), ("key", "<u8")])
#: Largest key distance of a posting that counts as a match of a query frame.
MAX_DISTANCE = 16
#: Fewest query frames that must find a clip for it to be an answer.
MIN_VOTES = 3
PAGE_SIZE = 4096  # SQLite's default: a list of 11 KB spans three pages with little left over
#: Placeholders in one ``IN (...)`` of a query.
IN_BATCH = 500

SCHEMA = "CREATE TABLE postings (list INTEGER PRIMARY KEY, entries BLOB NOT NULL)"


def build_reference(location: str, size: int, seed: int) -> float:
    """Fill a new reference-layout file with the clips :func:`index_scale.build` makes for the same
    ``size`` and ``seed`` (whole frames only), clip id = clip number; return seconds taken."""
    clips = synthetic_clips(size, seed)
    start = time.perf_counter()
    frame_keys = np.empty(size * FRAMES, dtype=np.uint64)  # clip after clip, frame after frame
    for first in range(0, size, BATCH):
        last = min(size, first + BATCH)
        hashes = np.concatenate([hashes for _, hashes, _ in itertools.islice(clips, BATCH)])
        frame_keys[first * FRAMES:last * FRAMES] = keys.frame_keys(hashes, "pdq")
        print(f"  {last:>9,} clips hashed, {time.perf_counter() - start:7.1f} s", file=sys.stderr, flush=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(location + suffix):
            os.remove(location + suffix)
    db = sqlite3.connect(location, isolation_level=None)
    try:
        db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        db.execute("BEGIN")
        db.execute(SCHEMA)
        for chunk in range(keys.CHUNKS):
            shift = np.uint64(keys.CHUNK_BITS * (keys.CHUNKS - 1 - chunk))  # chunk 0 is the most significant
            values = ((frame_keys >> shift) & np.uint64(0xFFFF)).astype(np.uint16)
            order = np.argsort(values, kind="stable")  # stable: clip order within each list
            counts = np.bincount(values, minlength=1 << keys.CHUNK_BITS)
            del values
            postings = np.empty(len(order), dtype=POSTING)
            postings["clip"] = order // FRAMES
            postings["key"] = frame_keys[order]
            del order
            bounds = np.concatenate(([0], np.cumsum(counts)))
            db.executemany("INSERT INTO postings (list, entries) VALUES (?, ?)",
                           ((chunk * (1 << keys.CHUNK_BITS) + value,
                             postings[bounds[value]:bounds[value + 1]].tobytes())
                            for value in np.flatnonzero(counts).tolist()))
            del postings
            print(f"  chunk {chunk} written, {time.perf_counter() - start:7.1f} s", file=sys.stderr, flush=True)
        db.execute("COMMIT")
    finally:
        db.close()
    return time.perf_counter() - start


class ReferenceIndex:
    """A reference-layout file (see :func:`build_reference`), opened read-only for queries."""

    def __init__(self, location: str) -> None:
        if not os.path.exists(location):
            raise FileNotFoundError(location)
        self._db = sqlite3.connect(f"file:{location}?mode=ro", uri=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReferenceIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _read_lists(self, lists: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The lists stored among ``lists`` (ascending, no repeats), their bounds in one run of postings,
        and the postings' clip ids and keys (views of the bytes read, nothing copied)."""
        rows: list[tuple[int, bytes]] = []
        asked = lists.tolist()
        for first in range(0, len(asked), IN_BATCH):
            part = asked[first:first + IN_BATCH]
            rows += self._db.execute(f"SELECT list, entries FROM postings WHERE list IN "
                                     f"({','.join('?' * len(part))})", part).fetchall()
        rows.sort(key=lambda row: row[0])
        found = np.array([row[0] for row in rows], dtype=np.int64)
        bounds = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(row[1]) // POSTING.itemsize for row in rows], out=bounds[1:])
        postings = np.frombuffer(b"".join(row[1] for row in rows), dtype=POSTING)
        return found, bounds, postings["clip"], postings["key"]

    def search(self, hashes: np.ndarray) -> list[int]:
        """Clip ids that at least :data:`MIN_VOTES` frames of the query (packed 256-bit hashes, one row a
        frame) find, most votes first."""
        query_keys = keys.frame_keys(hashes, "pdq")
        frames = len(query_keys)
        # One ask per (query frame, chunk number), frame after frame.
        asks = keys.list_ids(np.tile(np.arange(keys.CHUNKS), frames), keys.chunk_values(query_keys).ravel())
        found, bounds, clips, stored_keys = self._read_lists(np.unique(asks))
        if not len(found):
            return []
        at = np.minimum(np.searchsorted(found, asks), len(found) - 1)
        present = np.flatnonzero(found[at] == asks)
        # Asks in list order: the first ask of each list checks its postings where they lie, in one pass
        # over all of them; a list asked again (two frames with the same chunk) is gathered again.
        order = present[np.argsort(at[present], kind="stable")]
        first = np.ones(len(order), dtype=bool)
        first[1:] = at[order][1:] != at[order][:-1]
        sizes = np.diff(bounds)
        primary, again = order[first], order[~first]
        near = keys.key_distance(stored_keys, np.repeat(query_keys[primary // keys.CHUNKS], sizes[at[primary]])) \
            <= MAX_DISTANCE
        positions = np.flatnonzero(near)
        asking = [primary[np.searchsorted(bounds[1:], positions, side="right")] // keys.CHUNKS]
        matched = [clips[positions]]
        if len(again):
            starts, counts = bounds[at[again]], sizes[at[again]]
            ends = np.cumsum(counts)
            postings = np.arange(int(ends[-1])) + np.repeat(starts - (ends - counts), counts)
            near = keys.key_distance(stored_keys[postings], np.repeat(query_keys[again // keys.CHUNKS], counts)) \
                <= MAX_DISTANCE
            hits = np.flatnonzero(near)
            asking.append(again[np.searchsorted(ends, hits, side="right")] // keys.CHUNKS)
            matched.append(clips[postings[hits]])
        # A vote is a distinct (clip, query frame) pair with a near posting.
        pairs = np.unique(np.concatenate(matched).astype(np.int64) * frames + np.concatenate(asking))
        voted, votes = np.unique(pairs // frames, return_counts=True)
        chosen = votes >= MIN_VOTES
        voted, votes = voted[chosen], votes[chosen]
        ranked = np.argsort(-votes, kind="stable")  # ties: lower clip id first
        return [int(clip) for clip in voted[ranked]]


def measure_reference(location: str, size: int, kept: dict[int, np.ndarray], seed: int,
                      warm: bool = False) -> dict[str, object]:
    """Query latency, recall and false matches of a reference-layout file, with the queries
    :func:`index_scale.measure` makes for whole frames (no ``inner``, no ``strips``) from the same ``kept``
    and ``seed``. Single-clip add and a cold process's first query are not measured (``None``)."""
    rng = np.random.default_rng(seed + 1)
    copies = [(number, noisy(hashes[:FRAMES], rng)) for number, hashes in kept.items()]
    absent = [synthetic_hashes(rng) for _ in range(len(copies))]
    latencies: list[float] = []
    found = false = 0
    if warm:
        preload(location)
    with ReferenceIndex(location) as index:
        index.search(copies[0][1])  # warm the page cache
        for number, query in copies:
            start = time.perf_counter()
            results = index.search(query)
            latencies.append(time.perf_counter() - start)
            found += number in results
            false += sum(clip != number for clip in results)
        for query in absent:
            start = time.perf_counter()
            results = index.search(query)
            latencies.append(time.perf_counter() - start)
            false += len(results)
    return {**summary(latencies, found, len(copies), false), "add_ms_p50": None, "cold_first_query_s": None}
