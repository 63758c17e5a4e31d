"""Throughput and memory of fingerprinting, per sampling mode, beside peers.

    python benchmarks/throughput.py [--quick] [--markdown]

For each clip (the corpus in ../shared/corpus, and a generated 10-minute 1080p
H.264 clip plus its first minute, cached in benchmarks/.cache) and each sampling
mode, it runs in a fresh process:

* ``bare``: a bare PyAV decode of the same frames (the physical limit);
* ``vidprov``: ``vidprov.fingerprint`` with the default algorithm;
* ``vpdq``: PyPI's vpdq (Meta's C++ vPDQ over FFmpeg) at the same sampling;
* ``videohash2``: at its default, one frame per second (it needs an ffmpeg binary).

and prints wall time, speed as a multiple of realtime, the ratio to the bare
decode and peak RSS. Peers that are not installed are reported as such;
``benchmarks/setup_peers.sh`` installs them. Every ratio compares runs made in
the same invocation, because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parents[1] / "shared" / "corpus"
CACHE = HERE / ".cache"

#: sampling modes: (label, vidprov --fps value, vpdq seconds_per_hash or None)
MODES = [("keyframes", "keyframes", None), ("1 fps", "1", 1.0), ("2 fps", "2", 0.5), ("all", "all", 0.0)]


# --------------------------------------------------------------------------- child side

def _bare(path: str, fps: str) -> int:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if fps == "keyframes":
            stream.discard = av.stream.Discard.nonkey
            stream.codec_context.skip_frame = "NONKEY"
        return sum(1 for _ in container.decode(stream))


def _vidprov(path: str, fps: str) -> int:
    import vidprov

    return len(vidprov.fingerprint(path, sampling=vidprov.Sampling.parse(fps)).frames)


def _vpdq(path: str, fps: str) -> int:
    import vpdq

    seconds = {label_fps: s for _, label_fps, s in MODES}[fps]
    return len(vpdq.computeHash(path, seconds_per_hash=seconds))


def _videohash(path: str, fps: str) -> int:
    import tempfile

    from videohash2 import VideoHash

    with tempfile.TemporaryDirectory() as storage:
        VideoHash(path=path, storage_path=storage)
    return 1


TOOLS = {"bare": _bare, "vidprov": _vidprov, "vpdq": _vpdq, "videohash2": _videohash}


def child(tool: str, path: str, fps: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    # Imports and library start-up are not part of the work measured.
    import av  # noqa: F401

    if tool == "vidprov":
        import cv2  # noqa: F401
        import pdqhash  # noqa: F401

        import vidprov
        import vidprov.media

        vidprov.media._av()
    elif tool == "vpdq":
        import vpdq  # noqa: F401
    elif tool == "videohash2":
        import videohash2  # noqa: F401
    start = time.perf_counter()
    frames = TOOLS[tool](path, fps)
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "frames": frames, "rss_mb": rss_mb}))


# --------------------------------------------------------------------------- parent side

def available(tool: str) -> str | None:
    """None when the tool can run, else why not."""
    if tool == "vpdq":
        try:
            import vpdq  # noqa: F401
        except ImportError:
            return "not installed (benchmarks/setup_peers.sh)"
    if tool == "videohash2":
        try:
            import videohash2  # noqa: F401
        except ImportError:
            return "not installed (benchmarks/setup_peers.sh)"
        from shutil import which

        if which("ffmpeg") is None:
            return "needs an ffmpeg binary"
    return None


def run(tool: str, path: Path, fps: str, repeat: int = 1) -> dict[str, float] | str:
    """Run one measurement ``repeat`` times in fresh processes; keep the fastest.

    The fastest run is the one least disturbed by whatever else the machine
    was doing; peak RSS is the largest seen.
    """
    best: dict[str, float] | None = None
    peak = 0.0
    for _ in range(repeat):
        result = subprocess.run([sys.executable, __file__, "--child", tool, str(path), fps],
                                capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            return f"failed: {lines[-1][:80] if lines else result.returncode}"
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        peak = max(peak, outcome["rss_mb"])
        if best is None or outcome["seconds"] < best["seconds"]:
            best = outcome
    assert best is not None
    best["rss_mb"] = peak
    return best


def duration_of(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        return container.duration / 1e6


def long_clip(minutes: float, name: str) -> Path:
    """A generated 1080p H.264 clip of ``minutes``, made once and cached."""
    import numpy as np

    from vidprov import samples

    CACHE.mkdir(exist_ok=True)
    path = CACHE / name
    if path.exists():
        return path
    shot_seconds = 20.0
    spec = samples.ClipSpec(samples.scenes(int(minutes * 60 / shot_seconds), shot_seconds, seed=2024),
                            width=1920, height=1080, fps=25)
    partial = path.with_suffix(".partial.mp4")
    print(f"generating {path.name} ({minutes:g} min of 1080p, once)...", file=sys.stderr, flush=True)
    samples.write_clip(partial, spec, options={"preset": "veryfast", "crf": "23", "g": "250"})
    partial.rename(path)
    del np
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="corpus clips only, no 10-minute clip")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per measurement on clips under 5 minutes; the fastest is kept (default 3)")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "PATH", "FPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    clips = sorted(CORPUS.glob("*.mp4")) if CORPUS.is_dir() else []
    if not clips:
        print(f"note: {CORPUS} not found; corpus rows are left out", file=sys.stderr)
    long_clips = [] if args.quick else [long_clip(1, "gen-1080p-1min.mp4"), long_clip(10, "gen-1080p-10min.mp4")]
    peers = {tool: available(tool) for tool in ("vpdq", "videohash2")}
    for tool, why in peers.items():
        if why:
            print(f"note: {tool} {why}", file=sys.stderr)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    header = f"| {'clip':<36} | {'dur s':>6} | {'mode':<9} | {'tool':<10} | {'wall s':>7} | {'x realtime':>10} | " \
             f"{'vs bare':>7} | {'peak RSS MB':>11} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    results: list[dict[str, object]] = []
    for path in clips + long_clips:
        duration = duration_of(path)
        is_long = path in long_clips
        for label, fps, vpdq_seconds in MODES:
            tools = ["bare", "vidprov"]
            if not peers["vpdq"] and vpdq_seconds is not None and (not is_long or vpdq_seconds >= 0.5):
                tools.append("vpdq")
            if not peers["videohash2"] and label == "1 fps":
                tools.append("videohash2")
            bare_seconds = None
            for tool in tools:
                outcome = run(tool, path, fps, repeat=1 if duration > 300 else args.repeat)
                if isinstance(outcome, str):
                    print(f"| {path.name[:36]:<36} | {duration:6.1f} | {label:<9} | {tool:<10} | {outcome:>43} |")
                    results.append({"clip": path.name, "mode": label, "tool": tool, "failed": outcome})
                    continue
                seconds = outcome["seconds"]
                if tool == "bare":
                    bare_seconds = seconds
                ratio = seconds / bare_seconds if bare_seconds else float("nan")
                print(f"| {path.name[:36]:<36} | {duration:6.1f} | {label:<9} | {tool:<10} | {seconds:7.3f} | "
                      f"{duration / seconds:9.1f}x | {ratio:7.2f} | {outcome['rss_mb']:11.0f} |", flush=True)
                results.append({"clip": path.name, "mode": label, "tool": tool, "seconds": seconds,
                                "realtime": duration / seconds, "ratio": ratio, "rss_mb": outcome["rss_mb"],
                                "long": is_long})
    summarise(results)


def summarise(results: list[dict[str, object]]) -> None:
    def pick(**match: object) -> list[dict[str, object]]:
        return [r for r in results if "failed" not in r and all(r.get(k) == v for k, v in match.items())]

    print("\nSummary (medians over corpus clips unless said):")
    for label, _, _ in MODES:
        ours = pick(mode=label, tool="vidprov")
        if not ours:
            continue
        ratios = [float(r["ratio"]) for r in ours]
        corpus = [r for r in ours if not r["long"]]
        line = (f"  {label:<9} vidprov/bare: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}; "
                f"median {statistics.median(float(r['realtime']) for r in corpus):.0f}x realtime" if corpus else "")
        peer = {r["clip"]: r for r in pick(mode=label, tool="vpdq")}
        if peer:
            speedups = [float(peer[r["clip"]]["seconds"]) / float(r["seconds"]) for r in ours if r["clip"] in peer]
            line += f"; vpdq/vidprov time: median {statistics.median(speedups):.2f}, worst {min(speedups):.2f}"
        print(line)
    keyframes = {r["clip"]: r for r in pick(mode="keyframes", tool="vidprov")}
    vpdq_default = pick(mode="1 fps", tool="vpdq")
    if vpdq_default and keyframes:
        speedups = [float(r["seconds"]) / float(keyframes[r["clip"]]["seconds"]) for r in vpdq_default
                    if r["clip"] in keyframes]
        print(f"  keyframes mode vs vpdq default (1 hash/s): median {statistics.median(speedups):.1f}x faster, "
              f"worst {min(speedups):.1f}x")
    vpdq_realtime = [float(r["realtime"]) for r in vpdq_default if not r["long"]]
    if vpdq_realtime:
        print(f"  vpdq default: median {statistics.median(vpdq_realtime):.0f}x realtime on the corpus")
    longs = pick(tool="vidprov", long=True)
    if longs:
        print("  peak RSS on generated 1080p clips (vidprov): " + ", ".join(
            f"{r['clip']} {r['mode']} {float(r['rss_mb']):.0f} MB" for r in longs))


if __name__ == "__main__":
    main()
