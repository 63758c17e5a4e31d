"""Bulk ingest: clips per second with one and two worker processes, and what ingest costs beyond fingerprinting.

    python benchmarks/bulk.py [--clips 200] [--rounds 2] [--markdown]

The archive is the corpus in ../shared/corpus and variants of it up to
``--clips`` files in all: twelve-second stretches of corpus clips, cropped,
scaled and re-encoded at a drawn quality (seeded; cached in
benchmarks/.cache/bulk/, never in the repository). Each round, in one
process and in this order, it:

* fingerprints every clip with bare ``vidprov.fingerprint`` as ``vidprov add``
  makes it, inner pictures included (the work any ingest must do), summing
  the times: once decoding on one thread, as each
  worker of ``add_many`` does, and once with FFmpeg's threads on every core,
  the fastest one process does alone;
* adds every clip to a new SQLite index with ``add_many(jobs=1)``;
* adds every clip to another new index with ``add_many(jobs=2)``.

and keeps each one's fastest round. It prints clips per second for both, their
ratio, the gain of ``jobs=2`` over one threaded process, and the overhead
of ``jobs=1`` beyond the bare single-threaded fingerprints: hashing
the bytes, reading the metadata, looking the clip up and writing it with its
records. The machine is shared and noisy: ratios are taken within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from transforms import encode, even, output_fps, probe, read_frames, retime  # noqa: E402

from vidprov import ingest  # noqa: E402
from vidprov.fingerprint import INDEX_MIN_FRAMES, fingerprint  # noqa: E402
from vidprov.index import open_index  # noqa: E402

CORPUS = HERE.parents[1] / "shared" / "corpus"
CACHE = HERE / ".cache" / "bulk"
#: Seconds of source footage in each variant.
VARIANT_SECONDS = 12.0
#: Bump when variants change, so that cached ones are made again.
VARIANTS_VERSION = 1


def variant(source: Path, target: Path, seed: int) -> None:
    """A stretch of ``source``, cropped by up to a fifth, scaled and re-encoded at a drawn CRF."""
    rng = np.random.default_rng(seed)
    info = probe(source)
    start = float(rng.uniform(0, max(0.0, info.duration - VARIANT_SECONDS)))
    left, top = rng.uniform(0, 0.1, 2)
    right, bottom = 1 - rng.uniform(0, 0.1, 2)
    scale = float(rng.choice([0.5, 0.75, 1.0]))
    crf = str(int(rng.integers(20, 34)))
    width = even((right - left) * info.width * scale)
    height = even((bottom - top) * info.height * scale)

    def cropped(frames):  # type: ignore[no-untyped-def]
        import cv2

        for t, image in frames:
            h, w = image.shape[:2]
            part = image[int(top * h):int(bottom * h), int(left * w):int(right * w)]
            yield t, cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA)

    fps = output_fps(info)
    frames = retime(read_frames(source), fps, start=start, end=start + VARIANT_SECONDS)
    temporary = target.with_suffix(".part.mp4")
    encode(temporary, cropped(frames), fps, crf=crf)
    temporary.rename(target)


def archive(count: int) -> list[Path]:
    """The corpus and cached variants of it, ``count`` clips in all."""
    sources = sorted(CORPUS.glob("*.mp4"))
    if not sources:
        sys.exit(f"bulk.py: no clips in {CORPUS}")
    folder = CACHE / f"v{VARIANTS_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = list(sources[:count])
    for number in range(count - len(clips)):
        source = sources[number % len(sources)]
        target = folder / f"{number:03d}_{source.stem}.mp4"
        if not target.exists():
            print(f"making {target.name}", file=sys.stderr)
            variant(source, target, seed=number)
        clips.append(target)
    return clips


def cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the workers, once their pool is shut down)."""
    return sum(getattr(resource.getrusage(who), part) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for part in ("ru_utime", "ru_stime"))


def bare(clips: list[Path], threads: int | None) -> float:
    """Seconds to fingerprint every clip, one after another, with nothing else."""
    started = time.perf_counter()
    for clip in clips:
        fingerprint(clip, threads=threads, inner=True, strips=True, min_frames=INDEX_MIN_FRAMES)  # as vidprov add makes it
    return time.perf_counter() - started


def measured(function, *args):  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of a call."""
    cpu = cpu_seconds()
    wall = function(*args)
    return wall, cpu_seconds() - cpu


def ingest_all(clips: list[Path], jobs: int, folder: Path) -> float:
    """Seconds for ``add_many`` to put every clip into a new SQLite index."""
    where = folder / f"jobs{jobs}.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{where}{suffix}"):
            os.remove(f"{where}{suffix}")
    with open_index(where, create=True) as index:
        started = time.perf_counter()
        result = ingest.add_many(index, clips, jobs=jobs)
        seconds = time.perf_counter() - started
        assert len(result.added) + len(result.skipped) == len(clips), [item.error for item in result.failed]
        assert index.count_clips() == len({*(item.sha256 for item in result.files)})
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips in the archive (default 200)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, keeping each measure's fastest (default 2)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    clips = archive(args.clips)
    size = sum(clip.stat().st_size for clip in clips)
    print(f"{len(clips)} clips, {size / 2**20:.0f} MiB; {os.cpu_count()} CPUs, {platform.processor() or '?'}, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start", file=sys.stderr)
    best = {"bare": float("inf"), "threaded": float("inf"), 1: float("inf"), 2: float("inf")}
    cpu = dict.fromkeys(best, float("inf"))
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        for number in range(args.rounds):
            times = {"bare": measured(bare, clips, 1), "threaded": measured(bare, clips, None), 1: measured(ingest_all, clips, 1, Path(scratch)),
                     2: measured(ingest_all, clips, 2, Path(scratch))}
            print(f"round {number + 1}: " + ", ".join(f"{key}: {wall:.1f} s ({used:.1f} s CPU)"
                                                      for key, (wall, used) in times.items()) +
                  f"; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
            best = {key: min(best[key], times[key][0]) for key in best}
            cpu = {key: min(cpu[key], times[key][1]) for key in cpu}
    count = len(clips)
    rows = [
        ("bare vidprov.fingerprint, one thread", f"{best['bare']:.1f} s",
         f"{count / best['bare']:.2f} clips/s, {cpu['bare']:.1f} s CPU"),
        ("bare vidprov.fingerprint, threads on all cores", f"{best['threaded']:.1f} s",
         f"{count / best['threaded']:.2f} clips/s, {cpu['threaded']:.1f} s CPU"),
        ("vidprov add --jobs 1", f"{best[1]:.1f} s", f"{count / best[1]:.2f} clips/s, {cpu[1]:.1f} s CPU"),
        ("vidprov add --jobs 2", f"{best[2]:.1f} s", f"{count / best[2]:.2f} clips/s, {cpu[2]:.1f} s CPU"),
        ("--jobs 2 over --jobs 1", f"{best[1] / best[2]:.2f}x", "clips/s; target 1.7x or more"),
        ("--jobs 2 over one threaded process", f"{best['threaded'] / best[2]:.2f}x", "clips/s"),
        ("--jobs 1 beyond bare fingerprints", f"{100 * (best[1] / best['bare'] - 1):+.1f} %",
         f"wall time; {100 * (cpu[1] / cpu['bare'] - 1):+.1f} % in CPU time; target under 10 %"),
        ("--jobs 2 beyond bare fingerprints", f"{100 * (cpu[2] / cpu['bare'] - 1):+.1f} %",
         "in CPU time, all processes"),
    ]
    if args.markdown:
        print("| measure | value | |\n|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for label, value, note in rows:
            print(f"{label:<44} {value:>10}  {note}")


if __name__ == "__main__":
    main()
