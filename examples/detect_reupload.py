"""Detecting a reupload: which edits still match, and what must not.

Runs on footage it generates, so it needs no file of yours:

    python examples/detect_reupload.py [WORKDIR]

1. An original 12-second clip is indexed, with where it was first published.
2. Reuploads are made the way footage travels: shrunk and re-encoded hard,
   mirrored, trimmed and sped up by 10%, shown as a picture-in-picture inset
   over a still backdrop, and put after other footage in a compilation. An
   unrelated clip is made too.
3. Each one is searched in the index: whether it matches, which stretch of it
   maps to which stretch of the original, and how (mirrored, inside a window,
   at another speed). The unrelated clip must match nothing.
4. An HTML report on the compilation is written, with its matched frames
   beside the original's, for a colleague to check by eye.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from vidprov import ingest, match, report, samples
from vidprov.index import open_index
from vidprov.keyframes import format_time

FPS = 15.0
Frames = Iterator[tuple[float, np.ndarray]]


def shrunk(frames: Frames) -> Frames:
    import cv2

    for time, rgb in frames:
        yield time, cv2.resize(rgb, (240, 180), interpolation=cv2.INTER_AREA)


def mirrored(frames: Frames) -> Frames:
    for time, rgb in frames:
        yield time, np.ascontiguousarray(rgb[:, ::-1])


def trimmed_faster(frames: Frames) -> Frames:
    """From 3 s to 10 s of the original, played 10% faster (every 11th frame dropped)."""
    kept = [(time, rgb) for number, (time, rgb) in enumerate(frames) if 3.0 <= time < 10.0 and number % 11]
    for number, (_, rgb) in enumerate(kept):
        yield number / FPS, rgb


def inset(frames: Frames) -> Frames:
    """The footage at half size in a corner of a still backdrop, as a news programme shows it."""
    import cv2

    backdrop = next(samples.render(samples.ClipSpec(samples.scenes(1, 1.0, seed=4040), width=480, height=360)))[1]
    backdrop = (backdrop * 0.5).astype(np.uint8)
    for time, rgb in frames:
        frame = backdrop.copy()
        frame[30:30 + 136, 270:270 + 180] = 255  # a white frame around the inset
        frame[32:32 + 132, 272:272 + 176] = cv2.resize(rgb, (176, 132), interpolation=cv2.INTER_AREA)
        yield time, frame


def compilation(frames: Frames) -> Frames:
    """Six seconds of other footage, then the original's first eight seconds."""
    other = samples.render(samples.ClipSpec(samples.scenes(2, 3.0, seed=5150), fps=FPS))
    yield from other
    for time, rgb in frames:
        if time < 8.0:
            yield 6.0 + time, rgb


VARIANTS: dict[str, Callable[[Frames], Frames]] = {
    "shrunk_reencoded": shrunk,
    "mirrored": mirrored,
    "trimmed_faster": trimmed_faster,
    "inset": inset,
    "compilation": compilation,
}


def make_clips(workdir: Path) -> tuple[Path, dict[str, Path], Path]:
    spec = samples.ClipSpec(samples.scenes(4, 3.0, seed=2718), fps=FPS)
    original = workdir / "original.mp4"
    samples.write_clip(original, spec)
    variants = {}
    for name, edit in VARIANTS.items():
        path = workdir / f"{name}.mp4"
        samples.write_frames(path, list(edit(samples.render(spec))), fps=FPS, options={"crf": "34"})
        variants[name] = path
    unrelated = workdir / "unrelated.mp4"
    samples.write_clip(unrelated, samples.ClipSpec(samples.scenes(4, 3.0, seed=3141), fps=FPS))
    return original, variants, unrelated


def describe(found: list[match.Match]) -> list[str]:
    lines = []
    for item in found:
        how = [f"score {item.score:.2f}"]
        if item.mirrored:
            how.append("mirrored")
        if item.window is not None:
            how.append(f"inside {item.window} of the frame")
        if abs(item.speed - 1) > 0.03:
            how.append(f"speed x{item.speed:.2f}")
        lines.append(f"  matches clip {item.clip_id} ({', '.join(how)})")
        for segment in item.segments:
            lines.append(f"    {format_time(segment.query_start)}-{format_time(segment.query_end)} of the reupload = "
                         f"{format_time(segment.reference_start)}-{format_time(segment.reference_end)} "
                         "of the original")
    return lines or ["  no match"]


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("desk.db*"):  # start from an empty index on every run
        old.unlink()
    original, variants, unrelated = make_clips(workdir)

    with open_index(workdir / "desk.db", create=True) as index:
        first = ingest.build_appearance(platform="telegram", publisher="First channel (stand-in)",
                                        url="https://t.me/first_example/100", posted_at="2023-05-02T07:15Z")
        added = ingest.add(index, original, appearance=first)
        print(f"indexed {original.name} as clip {added.clip.id}")

        for name, path in [*variants.items(), ("unrelated", unrelated)]:
            # Query clips are hashed mirrored and inside the windows footage may play in, too.
            query = match.fingerprint_query(path, algorithm=index.algorithm)
            found = match.search(index, query)
            print(f"\n{name}.mp4 ({query.duration or 0:.1f} s)")
            print("\n".join(describe(found)))

        built = report.build(variants["compilation"], index)
        saved = report.save(built, workdir / "compilation_report.html")
    print(f"\nreport on the compilation: {saved} ({len(built.matches[0].pairs)} matched frames side by side)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-reupload-")))
