"""Scene-aware keyframes and the files written for reverse image search."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from vidprov import keyframes, samples
from vidprov.cli import main


@pytest.fixture(scope="module")
def edited(clip_dir: Path) -> tuple[Path, samples.ClipSpec]:
    """Shots of 3, 1.5, 10 and 2.5 s, faded in and out, with a still shot in the middle."""
    shots = list(samples.scenes(4, 1.0, seed=21))
    shots[0] = samples.Shot(3.0, shots[0].seed, shots[0].pan, shots[0].zoom)
    shots[1] = samples.Shot(1.5, shots[1].seed, shots[1].pan, shots[1].zoom)
    shots[2] = samples.Shot(10.0, shots[2].seed, pan=(0.9, 0.5), zoom=0.6)
    shots[3] = samples.Shot(2.5, shots[3].seed, pan=(0.0, 0.0), zoom=0.0)
    spec = samples.ClipSpec(tuple(shots), fade_in=1.0, fade_out=1.0)
    path = clip_dir / "edited.mp4"
    samples.write_clip(path, spec)
    return path, spec


@pytest.fixture(scope="module")
def selection(edited: tuple[Path, samples.ClipSpec]) -> keyframes.KeyframeSet:
    return keyframes.extract(edited[0])


def test_at_least_one_keyframe_per_shot(selection: keyframes.KeyframeSet, edited: tuple[Path, samples.ClipSpec]) -> None:
    _, spec = edited
    bounds = [0.0] + spec.cut_times + [spec.duration]
    for start, end in zip(bounds, bounds[1:]):
        assert any(start <= k.t < end for k in selection.keyframes), f"no keyframe in shot {start}-{end}"


def test_long_shots_get_a_frame_every_few_seconds(selection: keyframes.KeyframeSet,
                                                  edited: tuple[Path, samples.ClipSpec]) -> None:
    _, spec = edited
    start, end = spec.cut_times[1], spec.cut_times[2]
    inside = sorted(k.t for k in selection.keyframes if start <= k.t < end)
    assert len(inside) >= 2
    gaps = np.diff([start] + inside + [end])
    assert gaps.max() <= 2 * 4.0 + 0.5


def test_no_black_or_fading_frames(selection: keyframes.KeyframeSet, edited: tuple[Path, samples.ClipSpec]) -> None:
    _, spec = edited
    for keyframe in selection.keyframes:
        assert spec.fade_in <= keyframe.t <= spec.duration - spec.fade_out
        assert keyframe.quality >= 20


def test_no_near_duplicates_in_a_row(selection: keyframes.KeyframeSet) -> None:
    frames = selection.keyframes
    for a, b in zip(frames, frames[1:]):
        assert b.hash - a.hash > 0.12 * a.hash.bits
    assert [k.t for k in frames] == sorted(k.t for k in frames)


def test_still_picture_gives_one_keyframe(tmp_path: Path) -> None:
    """Twelve seconds of one picture (a still in a news package): one keyframe, not three."""
    _, still = next(iter(samples.render(samples.ClipSpec(samples.scenes(1, 0.1, seed=5)))))
    rng = np.random.default_rng(0)
    frames = [(i / 25, np.clip(still + rng.normal(0, 2, still.shape), 0, 255).astype(np.uint8))
              for i in range(12 * 25)]
    path = tmp_path / "still.mp4"
    samples.write_frames(path, frames, fps=25)
    assert len(keyframes.extract(path).keyframes) == 1


def test_files_are_named_by_timestamp(tmp_path: Path, selection: keyframes.KeyframeSet) -> None:
    written = keyframes.save(selection, tmp_path / "out", stem="clip")
    names = [p.name for p in written]
    assert names[-1] == "contact_sheet.jpg"
    assert names[:-1] == [f"clip_t{k.t:08.3f}.jpg" for k in selection.keyframes]
    first = cv2.imread(str(written[0]))
    assert first.shape[:2] == (240, 320)
    sheet = cv2.imread(str(written[-1]))
    assert sheet is not None and sheet.shape[1] > 320


def test_keyframe_image_is_the_frame_at_that_time(selection: keyframes.KeyframeSet,
                                                  edited: tuple[Path, samples.ClipSpec]) -> None:
    _, spec = edited
    rendered = dict(samples.render(spec))
    for keyframe, rgb in keyframes.iter_images(selection):
        source = rendered[min(rendered, key=lambda t: abs(t - keyframe.t))]
        assert np.abs(rgb.astype(float) - source).mean() < 12


def test_format_time() -> None:
    assert keyframes.format_time(12.48) == "00:12.480"
    assert keyframes.format_time(3725.5) == "1:02:05.500"


def test_cli_writes_keyframes(tmp_path: Path, edited: tuple[Path, samples.ClipSpec]) -> None:
    out = tmp_path / "frames"
    result = CliRunner().invoke(main, ["keyframes", str(edited[0]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    jpegs = sorted(p.name for p in out.glob("edited_t*.jpg"))
    assert jpegs and (out / "contact_sheet.jpg").is_file()
    assert all(name in result.stdout for name in jpegs)
    as_json = CliRunner().invoke(main, ["keyframes", "--json", str(edited[0]), "-o", str(out)])
    import json

    data = json.loads(as_json.stdout)
    assert len(data["keyframes"]) == len(jpegs)
