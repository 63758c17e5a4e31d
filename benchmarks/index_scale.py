"""How the index scales: add throughput, size, query latency and recall at 10k to 1M clips.

    python benchmarks/index_scale.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql,reference]
        [--workdir DIR] [--postgres URL] [--reuse] [--preload] [--allocator keep|default]
        [--inner | --strips [--landscape]]

Each clip is a synthetic fingerprint of realistic structure: 60 frames two a
second, in one to four shots; within a shot each frame's hash drifts a few
bits from the one before, as consecutive frames of footage do. Queries are

* noisy copies of indexed clips: every frame hash 24 bits off (of 256), the
  recall target being 0.99 of them found;
* absent clips, never indexed: any match is a false one.

With ``--inner``, the 60 hashes of a clip are 30 frames and their inner
pictures, as ``vidprov add`` stores a clip (the inner pictures' hashes drift
like the frames'), and each query frame also carries the sixteen inner views
``vidprov match`` hashes for cropped copies (unrelated pictures here, as for
a copy that is not cropped), so the look-ups cost what a real query's do.
An index filled with ``--inner`` is measured with ``--inner``.

With ``--strips`` (which implies ``--inner``), a clip also keeps two strips'
hashes on one frame in four (16 more hashes, their own drifting series), as
``vidprov add`` stores 16:9 footage of 16 s or more (a shorter clip keeps
them on one frame in two), and the queries are portrait: 9:16
windows cut from the indexed clips, whose whole frames and inner views show
other pictures and one of whose 24 strip views holds the clip's first strip
(24 bits off) on the frames that have strips; absent queries show nothing
indexed in any view. With ``--landscape`` as well, the index is the same but
the queries are ``--inner``'s: landscape copies of its clips, the common case
for an index of 16:9 footage as ``vidprov add`` stores it.

Reported per size: add throughput (bulk load), size on disk, query latency p50
and p95 per query clip in a warm process, the p50 of the candidate search
within those queries (``vidprov.match.shortlist``: the posting lists read
and the clips worth verifying chosen, before any is verified; the reference
layout's whole query is such a search, so its row repeats its query p50
there), the first query of a cold process
(start-up, imports and opening the index included), single-clip add latency
on the full index, recall and false matches. The measuring process keeps
freed memory for reuse, as the ``vidprov`` command does (``--allocator
default`` leaves glibc as it comes); ``--preload`` reads the whole index into
the page cache first, as on a machine that answers queries all day.

The ``reference`` backend is the reference layout of
``benchmarks/reference_layout.py``, for comparison: multi-index hashing over
the four 16-bit chunks of each frame's key, every posting list one BLOB of
12-byte postings (clip id and whole key) in an SQLite file of its own, and a
query that checks every posting of its lists against the asking frame's key
in numpy (16 bits or fewer is a match) and answers the clips that three
query frames or more find, without checking their fingerprints. It is filled
with the same clips and asked the same queries as ``sqlite``; it keeps whole
frames only (no ``--inner`` or ``--strips``), and has no single-clip add or
cold first query measured.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

from vidprov import match
from vidprov.allocator import keep_freed_memory
from vidprov.borders import CropBox
from vidprov.fingerprint import STRIP_EVERY, Fingerprint, FrameRecord, inner_view_boxes, strip_boxes, strip_view_boxes
from vidprov.hashing import FrameHash
from vidprov.index import open_index
from vidprov.records import Clip

FRAMES = 60
BITS = 256
COPY_FLIPS = 24
QUERIES = 200
BATCH = 10_000


def synthetic_hashes(rng: np.random.Generator) -> np.ndarray:
    """60 packed 256-bit hashes: shots of drifting hashes."""
    # Each frame flips a few random bits of the one before; a cut starts afresh.
    flips = np.zeros((FRAMES, BITS), dtype=bool)
    rows = np.repeat(np.arange(FRAMES), 6)
    flips[rows, rng.integers(0, BITS, size=len(rows))] = True
    bits = np.logical_xor.accumulate(flips, axis=0) ^ (rng.random(BITS) < 0.5)
    for cut in rng.choice(np.arange(5, FRAMES - 5), size=int(rng.integers(0, 4)), replace=False):
        bits[cut:] ^= rng.random(BITS) < 0.5
    return np.packbits(bits, axis=1)


def noisy(hashes: np.ndarray, rng: np.random.Generator, flips: int = COPY_FLIPS) -> np.ndarray:
    bits = np.unpackbits(hashes, axis=1).astype(bool)
    positions = np.argsort(rng.random(bits.shape), axis=1)[:, :flips]  # distinct bits per frame
    np.put_along_axis(bits, positions, ~np.take_along_axis(bits, positions, axis=1), axis=1)
    return np.packbits(bits, axis=1)


VIEW_BOXES = inner_view_boxes(CropBox.full(1280, 720))


INNER_BOX = CropBox(128, 72, 1024, 576)
STRIP_BOXES = strip_boxes(CropBox.full(1280, 720))
STRIP_VIEW_BOXES = strip_view_boxes(CropBox.full(406, 720))
#: The strip view a portrait copy shows its clip's first strip in.
COPY_VIEW = 7


def with_strips(fp: Fingerprint, strips: np.ndarray) -> Fingerprint:
    """An indexed clip's fingerprint with two strips on one frame in :data:`STRIP_EVERY` (``strips``: 60
    drifting hashes, the first strip's then the second's, frame by frame)."""
    frames = tuple(replace(f, strips=(FrameHash(strips[2 * (i // STRIP_EVERY)].tobytes(), BITS),
                                      FrameHash(strips[2 * (i // STRIP_EVERY) + 1].tobytes(), BITS)))
                   if i % STRIP_EVERY == 0 else f for i, f in enumerate(fp.frames))
    return replace(fp, frames=frames, strips=STRIP_BOXES)


def portrait_query(number: int, rng: np.random.Generator, strips: np.ndarray | None) -> Fingerprint:
    """A portrait query: other pictures in its frames and inner views; with ``strips`` (an indexed clip's),
    its strip view :data:`COPY_VIEW` holds the first strip, 24 bits off, on the frames that have it."""
    frames_hashes, inner = synthetic_hashes(rng), [synthetic_hashes(rng) for _ in VIEW_BOXES]
    views = [synthetic_hashes(rng) for _ in STRIP_VIEW_BOXES]
    if strips is not None:
        shown = noisy(strips, rng)
        for i in range(0, FRAMES // 2, STRIP_EVERY):
            views[COPY_VIEW][i] = shown[2 * (i // STRIP_EVERY)]
    fp = make_fingerprint(number, frames_hashes, inner, True)
    frames = tuple(replace(f, strip_views=tuple(FrameHash(view[i].tobytes(), BITS) for view in views))
                   for i, f in enumerate(fp.frames))
    return replace(fp, frames=frames, width=406, height=720, strip_views=STRIP_VIEW_BOXES)


def make_fingerprint(number: int, hashes: np.ndarray, views: list[np.ndarray] | None = None,
                     inner: bool = False) -> Fingerprint:
    """A clip's fingerprint from 60 hashes: 60 frames, or (``inner``) 30 frames and their inner pictures.
    ``views`` (one array of frame hashes per inner view) make it a query's."""
    count = FRAMES // 2 if inner else FRAMES

    def frame(i: int) -> FrameRecord:
        inner_views = tuple(FrameHash(view[i].tobytes(), BITS) for view in views) if views else ()
        inner_hash = FrameHash(hashes[count + i].tobytes(), BITS) if inner and not views else None
        return FrameRecord(i * 0.5, FrameHash(hashes[i].tobytes(), BITS), 100, i * 15, inner=inner_hash,
                           inner_views=inner_views)

    return Fingerprint(sha256=f"{number:064x}", algorithm="pdq", params=(("input", "gray64"),),
                       duration=count * 0.5, fps=30.0, width=1280, height=720, codec="h264", crop=None,
                       frames=tuple(frame(i) for i in range(count)), size=1000 + number,
                       inner=INNER_BOX if inner and not views else None,
                       inner_views=VIEW_BOXES if views else ())


def clip_for(fp: Fingerprint) -> Clip:
    return Clip(sha256=fp.sha256, size=fp.size, media_type="video/mp4", duration_s=fp.duration)


def disk_size(location: str) -> int:
    return sum(os.path.getsize(p) for p in (location, location + "-wal", location + "-shm") if os.path.exists(p))


def synthetic_clips(size: int, seed: int, strips: bool = False) -> Iterator[tuple[int, np.ndarray, bool]]:
    """The clips an index of ``size`` clips is filled with, in order: clip number, hashes (with ``strips``,
    the strips' hashes as the rows after the first 60), and whether it is one of the clips queries copy."""
    rng = np.random.default_rng(seed)
    sampled = set(rng.choice(size, size=min(QUERIES, size), replace=False).tolist())
    for number in range(size):
        hashes = synthetic_hashes(rng)
        if strips:
            hashes = np.concatenate((hashes, synthetic_hashes(rng)))
        yield number, hashes, number in sampled


def replay(size: int, seed: int, strips: bool = False) -> dict[int, np.ndarray]:
    """The hashes of the sampled clips of an index :func:`build` filled with the same size and seed."""
    kept: dict[int, np.ndarray] = {}
    for number, hashes, chosen in synthetic_clips(size, seed, strips):
        if chosen:
            kept[number] = hashes
            if len(kept) == min(QUERIES, size):
                break
    return kept


def build(location: str, size: int, seed: int, inner: bool = False,
          strips: bool = False) -> tuple[float, dict[int, np.ndarray]]:
    """Fill a new index with ``size`` clips; return seconds taken and the hashes of sampled clips."""
    clips = synthetic_clips(size, seed, strips)
    kept: dict[int, np.ndarray] = {}
    start = time.perf_counter()
    with open_index(location, create=True) as index:
        for first in range(0, size, BATCH):
            items: list[tuple[Clip, Fingerprint | None, dict[str, object] | None]] = []
            for number, hashes, chosen in itertools.islice(clips, BATCH):
                if chosen:
                    kept[number] = hashes
                fp = make_fingerprint(number, hashes[:FRAMES], inner=inner or strips)
                if strips:
                    fp = with_strips(fp, hashes[FRAMES:])
                items.append((clip_for(fp), fp, None))
            index.add_clips(items)
            print(f"  {min(size, first + BATCH):>9,} clips, {time.perf_counter() - start:7.1f} s",
                  file=sys.stderr, flush=True)
        optimize = getattr(index, "optimize", None)
        if optimize is not None:
            optimize()
    return time.perf_counter() - start, kept


COLD_QUERY = """
import json, sys, time
start = time.perf_counter()
from vidprov import match
from vidprov.allocator import keep_freed_memory
if sys.argv[3] == "keep":
    keep_freed_memory()  # as the vidprov command does
from vidprov.fingerprint import Fingerprint
from vidprov.index import open_index
query = Fingerprint.from_json(open(sys.argv[2]).read())
with open_index(sys.argv[1]) as index:
    found = match.search(index, query)
print(json.dumps({"seconds": time.perf_counter() - start, "found": [m.reference for m in found]}))
"""


#: Index files this process keeps in memory (see :func:`preload`), held until it ends.
_PINNED: list[np.ndarray] = []


def preload(location: str) -> None:
    """Read the index once, so that it sits in the page cache as on a machine that answers queries all day.

    A file is also locked in memory (``mlock``) where the process may do so: a kernel that pages out
    memory left idle for a while (DAMON reclaim, as on the machine these figures come from) would
    otherwise drop the parts of a large index that the queries have not touched lately.
    """
    if location.startswith("postgresql:"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            for table in ("postings", "fingerprints", "clips"):
                connection.execute("SELECT pg_prewarm(%s, 'read')", (table,))
        return
    with open(location, "rb") as handle:
        if _pin(handle.fileno(), location):
            return  # locking reads every page in
        while handle.read(1 << 24):
            pass


def _pin(descriptor: int, location: str) -> bool:
    """Lock the open file in memory; whether it could be."""
    import ctypes
    import mmap

    try:
        mapped = np.frombuffer(mmap.mmap(descriptor, 0, prot=mmap.PROT_READ), dtype=np.uint8)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mlock(ctypes.c_void_p(mapped.ctypes.data), ctypes.c_size_t(len(mapped))) == 0:
            _PINNED.append(mapped)
            return True
        reason = os.strerror(ctypes.get_errno())
    except (OSError, AttributeError, ValueError) as error:
        reason = str(error)
    print(f"note: {location} not locked in memory ({reason}); read into the page cache only", file=sys.stderr)
    return False


def measure(location: str, size: int, kept: dict[int, np.ndarray], seed: int,
            allocator: str = "keep", warm: bool = False, inner: bool = False,
            strips: bool = False, portrait: bool = True) -> dict[str, object]:
    """Query an index filled by :func:`build` (``kept``: its sampled clips' hashes) and add clips to it.
    The queries are portrait ones for an index with ``strips``, unless ``portrait`` is false."""
    rng = np.random.default_rng(seed + 1)
    inner = inner or strips  # an index with strips keeps inner pictures too

    def views() -> list[np.ndarray] | None:
        return [synthetic_hashes(rng) for _ in VIEW_BOXES] if inner else None

    if strips and portrait:
        copies = [(number, portrait_query(10**12 + number, rng, hashes[FRAMES:])) for number, hashes in kept.items()]
        absent = [portrait_query(10**13 + n, rng, None) for n in range(len(copies))]
    else:
        copies = [(number, make_fingerprint(10**12 + number, noisy(hashes, rng), views(), inner))
                  for number, hashes in kept.items()]
        absent = [make_fingerprint(10**13 + n, synthetic_hashes(rng), views(), inner) for n in range(len(copies))]
    latencies: list[float] = []
    found = false = 0
    if warm:
        preload(location)
    with open_index(location) as index, timed_shortlists() as shortlists:
        match.search(index, copies[0][1])  # warm the page cache and imports
        shortlists.clear()
        for number, query in copies:
            start = time.perf_counter()
            results = match.search(index, query)
            latencies.append(time.perf_counter() - start)
            found += any(m.reference == f"{number:064x}" for m in results)
            false += sum(m.reference != f"{number:064x}" for m in results)
        for query in absent:
            start = time.perf_counter()
            results = match.search(index, query)
            latencies.append(time.perf_counter() - start)
            false += len(results)
        adds = []
        first = 10**14 + index.count_clips()  # new clips, also when an index is measured again (--reuse)
        for n in range(20):
            fp = make_fingerprint(first + n, synthetic_hashes(rng), inner=inner)
            if strips:
                fp = with_strips(fp, synthetic_hashes(rng))
            start = time.perf_counter()
            index.add_clip(clip_for(fp), fp)
            adds.append(time.perf_counter() - start)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(copies[1][1].to_json())
    cold = subprocess.run([sys.executable, "-c", COLD_QUERY, location, handle.name, allocator], capture_output=True,
                          text=True, check=True)
    os.unlink(handle.name)
    cold_seconds = json.loads(cold.stdout)["seconds"]
    return {**summary(latencies, found, len(copies), false), "add_ms_p50": statistics.median(adds) * 1000,
            "cold_first_query_s": cold_seconds, "candidates_p50_ms": statistics.median(shortlists) * 1000}


@contextlib.contextmanager
def timed_shortlists() -> Iterator[list[float]]:
    """Time the candidate search of each :func:`vidprov.match.search` call (:func:`vidprov.match.shortlist`,
    the part that compares with the reference layout's whole query); yields the list the seconds go in."""
    spent: list[float] = []
    untimed = match.shortlist

    def timed(*args: object, **options: object) -> list[int]:
        start = time.perf_counter()
        try:
            return untimed(*args, **options)  # type: ignore[arg-type]
        finally:
            spent.append(time.perf_counter() - start)

    match.shortlist = timed  # type: ignore[assignment]
    try:
        yield spent
    finally:
        match.shortlist = untimed


def summary(latencies: list[float], found: int, copies: int, false: int) -> dict[str, object]:
    """Latency p50 and p95 in ms, recall and false matches of one run of queries."""
    latencies_ms = np.array(latencies) * 1000
    return {"p50_ms": float(np.percentile(latencies_ms, 50)), "p95_ms": float(np.percentile(latencies_ms, 95)),
            "recall": found / copies, "false_matches": false}


def measure_reference_backend(location: str, size: int, seed: int, reuse: bool, warm: bool) -> None:
    """Fill (or with ``reuse``, find) a reference-layout file of ``size`` clips, measure it and print its row."""
    from reference_layout import build_reference, measure_reference

    print(f"reference layout {size:,} clips:", file=sys.stderr)
    if reuse:
        if not os.path.exists(location):
            raise SystemExit(f"{location} does not exist: fill it first (without --reuse)")
        load = " | "
    else:
        seconds = build_reference(location, size, seed)
        load = f"{seconds:.0f} | {size / seconds:,.0f}"
    result = measure_reference(location, size, replay(size, seed), seed, warm)
    print(f"| reference layout | {size:,} | {load} | {disk_size(location) / 1e6:,.0f} | "
          f"{result['p50_ms']:.1f} | {result['p95_ms']:.1f} | {result['p50_ms']:.1f} | n/a | n/a | "
          f"{result['recall']:.3f} | {result['false_matches']} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite",
                        help="comma-separated: sqlite, postgresql, reference (the reference layout)")
    parser.add_argument("--postgres", default=os.environ.get("VIDPROV_BENCH_POSTGRES"),
                        help="postgresql:// URL of a database to fill (it is emptied first)")
    parser.add_argument("--workdir", default=None, help="where the SQLite files go (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true",
                        help="measure indexes this script filled before (same --workdir, size and seed; "
                             "PostgreSQL: only the last size filled) instead of filling them again")
    parser.add_argument("--allocator", choices=("keep", "default"), default="keep",
                        help="keep: freed memory kept for reuse, as the vidprov command does "
                             "(vidprov.allocator); default: glibc as it comes")
    parser.add_argument("--inner", action="store_true",
                        help="clips of 30 frames and their inner pictures; queries with sixteen inner views a frame")
    parser.add_argument("--strips", action="store_true",
                        help="as --inner, and two strips on one frame in four; portrait queries with strip views")
    parser.add_argument("--landscape", action="store_true",
                        help="with --strips: the queries of --inner (landscape copies), not portrait ones")
    parser.add_argument("--preload", action="store_true",
                        help="read the whole index (PostgreSQL: pg_prewarm) before measuring queries, and keep "
                             "an SQLite file locked in memory (mlock) where allowed")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "reference" in backends and (args.inner or args.strips):
        raise SystemExit("the reference backend keeps whole frames only: run it without --inner and --strips")
    if args.landscape and not args.strips:
        raise SystemExit("--landscape asks landscape queries of a --strips index: give --strips too")
    if args.allocator == "keep":
        keep_freed_memory()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="vidprov-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print("| backend | clips | load s | clips/s | size MB | query p50 ms | query p95 ms | candidates p50 ms | "
          "cold first query s | add ms (p50) | recall | false matches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        for backend in backends:
            if backend == "reference":
                measure_reference_backend(str(workdir / f"scale-{size}-reference.db"), size, args.seed,
                                          args.reuse, args.preload)
                continue
            if backend == "sqlite":
                kind = "-strips" if args.strips else "-inner" if args.inner else ""
                location = str(workdir / f"scale-{size}{kind}.db")
            elif not args.postgres:
                print(f"note: no --postgres URL; {backend} skipped", file=sys.stderr)
                continue
            else:
                location = args.postgres
            print(f"{backend} {size:,} clips:", file=sys.stderr)
            if args.reuse:
                with open_index(location) as index:
                    if index.count_clips() < size:
                        raise SystemExit(f"{location} holds {index.count_clips():,} clips, not {size:,}")
                seconds, kept = float("nan"), replay(size, args.seed, args.strips)
            else:
                if backend == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        if os.path.exists(location + suffix):
                            os.remove(location + suffix)
                else:
                    with open_index(location, create=True) as index:
                        getattr(index, "drop_everything")()
                seconds, kept = build(location, size, args.seed, args.inner, args.strips)
            result = measure(location, size, kept, args.seed, args.allocator, args.preload, args.inner,
                             args.strips, not args.landscape)
            if backend == "sqlite":
                on_disk = disk_size(location)
            else:
                with open_index(location) as index:
                    on_disk = getattr(index, "disk_size")()
            # A reused index was filled before: its load time is not measured here.
            load = "(reused) | " if math.isnan(seconds) else f"{seconds:.0f} | {size / seconds:,.0f}"
            print(f"| {backend} | {size:,} | {load} | {on_disk / 1e6:,.0f} | "
                  f"{result['p50_ms']:.1f} | {result['p95_ms']:.1f} | {result['candidates_p50_ms']:.1f} | "
                  f"{result['cold_first_query_s']:.2f} | "
                  f"{result['add_ms_p50']:.1f} | {result['recall']:.3f} | {result['false_matches']} |", flush=True)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
