"""Quickstart: has this footage been seen before?

Runs end to end on footage it generates, so it needs no file of yours:

    python examples/quickstart.py [WORKDIR]

1. An "original" clip is published on YouTube in 2022 and recorded in an index
   with who posted it and when.
2. A "reupload" appears in 2024: the same footage letterboxed to 16:9 and
   re-encoded harder, as platforms do, claimed to be "filmed this week".
3. vidprov fingerprints the reupload, finds the original in the index,
   says which stretch matches, and flags that the footage was online about
   two and a half years before the date now claimed for it.
4. The reupload's keyframes and contact sheet are saved for reverse image search.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import vidprov
from vidprov import ingest, match, samples
from vidprov.index import open_index
from vidprov.records import Claim, parse_date_claim


def make_clips(workdir: Path) -> tuple[Path, Path, Path]:
    original, reupload, unrelated = workdir / "original.mp4", workdir / "reupload.mp4", workdir / "unrelated.mp4"
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
    return original, reupload, unrelated


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    original, reupload, unrelated = make_clips(workdir)

    with open_index(workdir / "desk.db", create=True) as index:
        # What the desk already knows: two clips, with where and when they were published.
        seen = ingest.build_appearance(platform="youtube", publisher="Old channel",
                                       url="https://www.youtube.com/watch?v=example", posted_at="2022-03-01")
        added = ingest.add(index, original, appearance=seen)
        print(f"indexed {original.name} as clip {added.clip.id}: {seen.publisher if seen else ''}, 2022-03-01")
        other = ingest.add(index, unrelated, appearance=ingest.build_appearance(platform="telegram",
                                                                               publisher="Some channel",
                                                                               posted_at="2024-01-10"))
        print(f"indexed {unrelated.name} as clip {other.clip.id}")

        # A new clip arrives, said to be filmed this week.
        query = match.fingerprint_query(reupload)
        crop = query.crop
        print(f"\nnew clip {reupload.name}: {len(query.frames)} frames hashed, {query.width}x{query.height}"
              + (f", active picture {crop}" if crop and not crop.is_full(query.width, query.height) else ""))
        found = match.search(index, query)
        for result in found:
            segment = result.segments[0]
            print(f"  matches clip {result.clip_id} (score {result.score:.2f}): "
                  f"{segment.query_start:.1f}-{segment.query_end:.1f} s of the new clip = "
                  f"{segment.reference_start:.1f}-{segment.reference_end:.1f} s of the indexed one")
        claimed = Claim(clip_sha256=query.sha256, text="filmed this week",
                        date=parse_date_claim("2024-10-15/2024-10-18"))
        verdict = match.provenance(index, query.sha256, found, (claimed,))
        print(f"verdict: {verdict.summary}")

    selection = vidprov.keyframes.extract(reupload)
    written = vidprov.keyframes.save(selection, workdir / "keyframes")
    print(f"\n{len(selection.keyframes)} keyframes for reverse image search in {workdir / 'keyframes'} "
          f"(contact sheet: {written[-1].name})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-quickstart-")))
