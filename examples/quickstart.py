"""Quickstart: fingerprint a clip and a reupload of it, and pull keyframes.

Runs on footage it generates, so it needs no file of yours:

    python examples/quickstart.py [WORKDIR]

It writes an "original" clip and a "reupload" (letterboxed to 16:9 and
re-encoded at lower quality, as platforms do), fingerprints both, shows that
their frame hashes agree while an unrelated clip's do not, and saves the
original's keyframes and contact sheet for reverse image search.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import vidprov
from vidprov import samples


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    original = workdir / "original.mp4"
    reupload = workdir / "reupload.mp4"
    unrelated = workdir / "unrelated.mp4"

    spec = samples.ClipSpec(samples.scenes(3, 3.0, seed=7), width=320, height=240)
    samples.write_clip(original, spec)
    # The reupload: the same frames with black bars to fit 16:9, re-encoded harder.
    padded = []
    for time, rgb in samples.render(spec):
        frame = np.zeros((240, 426, 3), np.uint8)
        frame[:, 53:373] = rgb
        padded.append((time, frame))
    samples.write_frames(reupload, padded, fps=spec.fps, options={"crf": "34"})
    samples.write_clip(unrelated, samples.ClipSpec(samples.scenes(3, 3.0, seed=8)))

    fingerprints = {path.name: vidprov.fingerprint(path) for path in (original, reupload, unrelated)}
    for name, fp in fingerprints.items():
        crop = f", active picture {fp.crop}" if fp.crop and not fp.crop.is_full(fp.width, fp.height) else ""
        print(f"{name}: {len(fp.frames)} frames hashed with {fp.algorithm}, {fp.width}x{fp.height}{crop}")

    reference = fingerprints["original.mp4"]
    for name in ("reupload.mp4", "unrelated.mp4"):
        distances = [a.hash - b.hash for a, b in zip(reference.frames, fingerprints[name].frames)]
        print(f"original vs {name}: median frame distance {int(np.median(distances))} of 256 bits")

    selection = vidprov.keyframes.extract(original)
    written = vidprov.keyframes.save(selection, workdir / "keyframes")
    print(f"{len(selection.keyframes)} keyframes written to {workdir / 'keyframes'} "
          f"(contact sheet: {written[-1].name})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-quickstart-")))
