"""Decoding: containers and codecs, true timestamps, rotation, sampling modes."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vidprov import samples
from vidprov.errors import ValidationError
from vidprov.media import Decoder, Sampling, probe

SPEC = samples.ClipSpec(samples.scenes(2, 1.0, seed=4), width=192, height=144, fps=25)

FORMATS = [
    ("h264.mp4", "libx264", "yuv420p"),
    ("hevc.mkv", "libx265", "yuv420p"),
    ("vp9.webm", "libvpx-vp9", "yuv420p"),
    ("av1.mkv", "libsvtav1", "yuv420p"),
    ("mpeg4.avi", "mpeg4", "yuv420p"),
    ("mjpeg.mov", "mjpeg", "yuvj420p"),
    ("h264.ts", "libx264", "yuv420p"),
    ("hevc10.mp4", "libx265", "yuv420p10le"),
    ("h264-444.mkv", "libx264", "yuv444p"),
]


@pytest.mark.parametrize("name,codec,pix_fmt", FORMATS, ids=[f[0] for f in FORMATS])
def test_decodes_every_common_format(tmp_path: Path, name: str, codec: str, pix_fmt: str) -> None:
    path = tmp_path / name
    options = {"x265-params": "log-level=none"} if codec == "libx265" else None
    samples.write_clip(path, SPEC, codec=codec, pix_fmt=pix_fmt, options=options)
    with Decoder(path, Sampling.all()) as decoder:
        frames = [(f.time, f.luma()) for f in decoder]
    expected = int(round(SPEC.duration * SPEC.fps))
    assert len(frames) == expected
    times = np.array([t for t, _ in frames])
    # Presentation times start at zero and step by one frame, whatever the container.
    assert times[0] == pytest.approx(0.0, abs=1e-3)
    assert np.diff(times) == pytest.approx(np.full(expected - 1, 1 / SPEC.fps), abs=2e-3)
    assert frames[0][1].shape == (SPEC.height, SPEC.width)
    # The pictures are the ones encoded (decoded luma close to the source luma).
    _, first_rgb = next(iter(samples.render(SPEC)))
    luma = first_rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(frames[0][1].astype(float) - (16 + luma * 219 / 255)).mean() < 20


def test_variable_frame_rate_timestamps_are_presentation_times(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    rng = np.random.default_rng(2)
    times = np.cumsum(rng.choice([0.02, 0.04, 0.1, 0.25], size=40))
    times = np.round(times - times[0], 3)
    frames = [(float(t), rgb) for t, (_, rgb) in zip(times, samples.render(samples.ClipSpec(
        samples.scenes(1, 2.0, seed=1), width=160, height=120, fps=25)))]
    samples.write_frames(path, frames, fps=25, timestamps="vfr", options={"bf": "0"})
    with Decoder(path, Sampling.all()) as decoder:
        decoded = [f.time for f in decoder]
    assert decoded == pytest.approx(list(times[: len(decoded)]), abs=1.5e-3)
    assert len(decoded) == len(frames)
    # Sampling by time follows the real timestamps, not the frame count.
    with Decoder(path, Sampling.every(0.5)) as decoder:
        sampled = [f.time for f in decoder]
    assert all(b - a >= 0.5 - 1e-6 or int(b / 0.5) > int(a / 0.5) for a, b in zip(sampled, sampled[1:]))
    assert len(sampled) == len({int(t / 0.5) for t in sampled})


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation_is_applied(tmp_path: Path, rotation: int) -> None:
    path = tmp_path / f"rot{rotation}.mp4"
    spec = samples.ClipSpec(samples.scenes(1, 0.4, seed=8), width=160, height=96, fps=25)
    samples.write_clip(path, spec, rotation=rotation)
    _, rgb = next(iter(samples.render(spec)))
    with Decoder(path, Sampling.all()) as decoder:
        frame = next(iter(decoder))
        shown = frame.rgb()
        assert decoder.info.rotation == rotation
    expected = np.rot90(rgb, rotation // 90)
    assert shown.shape == expected.shape
    assert np.abs(shown.astype(float) - expected).mean() < 12
    assert probe(path).display_size == (expected.shape[1], expected.shape[0])


def test_sampling_modes(footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    with Decoder(path, Sampling.all()) as decoder:
        every = [(f.time, f.key) for f in decoder]
    with Decoder(path, Sampling.keyframes()) as decoder:
        keys = [(f.time, f.key) for f in decoder]
        assert decoder.decoded == len(keys)
    with Decoder(path, Sampling.every(1.0)) as decoder:
        per_second = [f.time for f in decoder]
    assert len(every) == round(spec.duration * spec.fps)
    assert keys and all(key for _, key in keys)
    assert {t for t, _ in keys} <= {t for t, _ in every}
    assert len(keys) < len(every) / 10
    assert per_second == pytest.approx([float(s) for s in range(int(spec.duration))], abs=0.05)


def test_sampling_is_validated() -> None:
    with pytest.raises(ValidationError, match="fps"):
        Sampling.parse("fast")
    with pytest.raises(ValidationError, match="interval"):
        Sampling.every(0)
    assert Sampling.parse("2") == Sampling.every(0.5)
    assert Sampling.parse("keyframes").mode == "keyframes"


def test_frames_stream_one_at_a_time(footage: tuple[Path, samples.ClipSpec]) -> None:
    """The decoder is lazy: nothing past the frame asked for has been decoded."""
    path, _ = footage
    with Decoder(path, Sampling.all()) as decoder:
        iterator = iter(decoder)
        next(iterator)
        assert decoder.decoded <= 8  # frame threads may hold a few frames in flight
        assert decoder.last_time is not None and decoder.last_time < 0.5


def test_probe_reads_facts_without_decoding_everything(footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    info = probe(path)
    assert (info.width, info.height) == (spec.width, spec.height)
    assert info.fps == pytest.approx(spec.fps)
    assert info.duration == pytest.approx(spec.duration, abs=0.1)
    assert info.codec == "h264"
    assert av.__version__
