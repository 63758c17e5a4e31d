"""Peer test: vidprov's PDQ hashes against Meta's published vPDQ hashes of the same clips.

Meta's regression rule: every reference frame of quality >= 50 must be within
Hamming distance 31 of the recomputed hash. We require at least 95% of them,
for the hashes of full-size frames, of frames downsampled to 128x128, and of
vidprov's own fast input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS, PEER_REFERENCE, corpus_clips
from vidprov.fingerprint import Fingerprint, fingerprint
from vidprov.media import Sampling

REFERENCE = PEER_REFERENCE / "vpdq"
CLIPS = [p for p in corpus_clips("te_*.mp4") if (REFERENCE / f"{p.stem[3:]}.txt").is_file()]

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CLIPS, reason="../shared corpus and vPDQ references are not present"),
]


def agreement(path: Path, reference: Path, hash_input: str) -> tuple[float, int]:
    ours = fingerprint(path, sampling=Sampling.all(), crop=False, hash_input=hash_input)
    by_frame = {f.index: f for f in ours.frames}
    expected = [r for r in Fingerprint.parse_vpdq(reference.read_text()) if r.quality >= 50]
    close = sum(1 for r in expected if r.index in by_frame and by_frame[r.index].hash - r.hash <= 31)
    return close / len(expected), len(expected)


@pytest.mark.parametrize("clip", CLIPS, ids=[p.stem for p in CLIPS])
@pytest.mark.parametrize("hash_input,suffix", [("native", ""), ("rgb128", "-128x128"), ("gray64", "")])
def test_matches_meta_vpdq(clip: Path, hash_input: str, suffix: str) -> None:
    reference = REFERENCE / f"{clip.stem[3:]}{suffix}.txt"
    share, frames = agreement(clip, reference, hash_input)
    assert frames > 0
    assert share >= 0.95, f"{share:.3f} of {frames} frames within distance 31"


def test_corpus_is_where_the_references_expect() -> None:
    assert CORPUS.is_dir() and len(CLIPS) == 13
