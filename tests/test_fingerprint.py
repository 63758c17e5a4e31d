"""Fingerprints: the value object, its serialized forms, and robustness to re-encoding."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidprov import samples
from vidprov.errors import FormatError, ValidationError
from vidprov.fingerprint import DEFAULT_SAMPLING, INDEX_MIN_FRAMES, SCHEMA_VERSION, Fingerprint, fingerprint, index_sampling
from vidprov.hashing import FrameHash
from vidprov.media import Sampling


@pytest.fixture(scope="module")
def fp(footage: tuple[Path, samples.ClipSpec]) -> Fingerprint:
    return fingerprint(footage[0])


def test_holds_clip_facts_and_frames(fp: Fingerprint, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    import hashlib

    assert fp.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fp.size == path.stat().st_size
    assert (fp.width, fp.height, fp.codec) == (spec.width, spec.height, "h264")
    assert fp.fps == pytest.approx(spec.fps)
    assert fp.duration == pytest.approx(spec.duration, abs=0.1)
    assert fp.algorithm == "pdq"
    assert fp.parameters["sampling"] == {"mode": "every", "interval": 0.5}
    assert fp.crop is not None and fp.crop.is_full(spec.width, spec.height)
    assert [f.t for f in fp.frames] == pytest.approx([i * 0.5 for i in range(18)], abs=0.03)
    assert all(f.hash.bits == 256 and 0 <= f.quality <= 100 for f in fp.frames)
    assert fp.schema_version == SCHEMA_VERSION


def test_is_immutable(fp: Fingerprint) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        fp.sha256 = "0" * 64  # type: ignore[misc]
    assert isinstance(fp.frames, tuple)


def test_json_round_trips_exactly(fp: Fingerprint) -> None:
    text = fp.to_json()
    again = Fingerprint.from_json(text)
    assert again == fp
    assert again.to_json() == text
    data = json.loads(text)
    assert {"sha256", "duration", "algorithm", "frames", "schema_version", "params", "crop"} <= set(data)
    assert set(data["frames"][0]) >= {"t", "hash", "quality"}


@given(st.lists(st.tuples(st.floats(0, 1e5, allow_nan=False), st.binary(min_size=32, max_size=32),
                          st.integers(0, 100)), max_size=20))
def test_json_round_trip_property(frames: list[tuple[float, bytes, int]]) -> None:
    from vidprov.fingerprint import FrameRecord

    records = tuple(FrameRecord(t, FrameHash(h, 256), q, i) for i, (t, h, q) in enumerate(sorted(frames)))
    fp = Fingerprint(sha256="ab" * 32, algorithm="pdq", params=(("input", "gray64"),), duration=None,
                     fps=29.97, width=640, height=360, codec="h264", crop=None, frames=records)
    assert Fingerprint.from_json(fp.to_json()) == fp


@pytest.mark.parametrize("text,error", [
    ("not json", FormatError),
    ("[]", FormatError),
    ('{"sha256": "xyz"}', FormatError),
    ('{"schema_version": 99, "sha256": "' + "ab" * 32 + '"}', ValidationError),
])
def test_bad_json_is_refused(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        Fingerprint.from_json(text)


def test_newer_schema_is_refused_with_its_version(fp: Fingerprint) -> None:
    data = fp.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValidationError, match=f"{SCHEMA_VERSION + 1}"):
        Fingerprint.from_dict(data)


def test_vpdq_text_round_trips(fp: Fingerprint) -> None:
    text = fp.to_vpdq()
    lines = text.splitlines()
    assert len(lines) == len(fp.frames)
    number, quality, digest, seconds = lines[1].split(",")
    assert (int(number), int(quality), digest) == (fp.frames[1].index, fp.frames[1].quality, str(fp.frames[1].hash))
    assert seconds == f"{fp.frames[1].t:.3f}"
    parsed = Fingerprint.parse_vpdq(text)
    assert [r.hash for r in parsed] == [f.hash for f in fp.frames]
    with pytest.raises(FormatError, match="line 1"):
        Fingerprint.parse_vpdq("1,2,3\n")


def test_vpdq_export_needs_pdq(footage: tuple[Path, samples.ClipSpec]) -> None:
    phash = fingerprint(footage[0], algorithm="phash", sampling=Sampling.every(2))
    assert phash.frames[0].hash.bits == 64
    with pytest.raises(ValidationError, match="pdq"):
        phash.to_vpdq()


@pytest.mark.parametrize("algorithm", ["pdq", "phash", "phash256"])
def test_reencoded_copy_hashes_close(tmp_path: Path, footage: tuple[Path, samples.ClipSpec], algorithm: str) -> None:
    """A re-encode at low quality and half size keeps frame hashes close; other footage does not."""
    path, spec = footage
    import av

    copy = tmp_path / "copy.mp4"
    with av.open(str(path)) as source:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")[::2, ::2]) for f in source.decode(video=0)]
    samples.write_frames(copy, frames, fps=spec.fps, options={"crf": "38"})
    original = fingerprint(path, algorithm=algorithm)
    reupload = fingerprint(copy, algorithm=algorithm)
    bits = original.frames[0].hash.bits
    same = [a.hash - b.hash for a, b in zip(original.frames, reupload.frames)]
    assert np.median(same) <= 0.1 * bits
    different = [a.hash - b.hash for a, b in zip(original.frames, reversed(reupload.frames))]
    assert np.median(different) >= 0.3 * bits


def test_phash_fingerprints_record_their_parameters(footage: tuple[Path, samples.ClipSpec]) -> None:
    fp = fingerprint(footage[0], algorithm="phash256", sampling=Sampling.keyframes(), crop=False)
    assert fp.parameters["hash_size"] == 16
    assert fp.parameters["crop"] is False
    assert fp.parameters["sampling"] == {"mode": "keyframes"}


@pytest.mark.parametrize("threads", [1, 2])
def test_decoding_threads_change_nothing_but_speed(footage: tuple[Path, samples.ClipSpec], fp: Fingerprint,
                                                   threads: int) -> None:
    assert fingerprint(footage[0], threads=threads) == fp


def test_one_decoding_thread_is_one(footage: tuple[Path, samples.ClipSpec]) -> None:
    from vidprov.media import Decoder

    with Decoder(footage[0], Sampling.every(1), threads=1) as decoder:
        assert sum(1 for _ in decoder) > 0
        assert decoder._stream.codec_context.thread_count == 1


def test_index_sampling_gives_a_short_clip_enough_frames() -> None:
    assert index_sampling(40.0) == DEFAULT_SAMPLING  # 80 frames at two a second
    assert index_sampling(None) == DEFAULT_SAMPLING  # the container does not say
    nine = index_sampling(9.0)
    assert nine.interval < DEFAULT_SAMPLING.interval
    assert len(nine.select([n / 25 for n in range(9 * 25)])) >= INDEX_MIN_FRAMES
    assert index_sampling(2.0) == Sampling.every(0.125)  # never denser than queries are sampled
    assert index_sampling(9.0, Sampling.keyframes()) == Sampling.keyframes()
    assert index_sampling(2.0, Sampling.every(0.1)) == Sampling.every(0.1)  # already denser
    with pytest.raises(ValidationError):
        index_sampling(9.0, min_frames=0)


def test_min_frames_samples_a_short_clip_densely(tmp_path: Path) -> None:
    path = tmp_path / "short.mp4"
    samples.write_clip(path, samples.ClipSpec(samples.scenes(2, 3.0, seed=4), width=160, height=120))
    dense = fingerprint(path, min_frames=INDEX_MIN_FRAMES)
    assert len(dense.frames) >= INDEX_MIN_FRAMES > len(fingerprint(path).frames)
    assert dense.sampling is not None and dense.sampling.interval < DEFAULT_SAMPLING.interval
    with pytest.raises(ValidationError):
        fingerprint(path, min_frames=0)
