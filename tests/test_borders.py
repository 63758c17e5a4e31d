"""Letterbox and pillarbox bars are found once per clip and left out of the hashes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import letterbox
from vidprov import samples
from vidprov.borders import CropBox, detect, frame_borders
from vidprov.errors import ValidationError
from vidprov.fingerprint import fingerprint


def padded_copy(tmp_path: Path, spec: samples.ClipSpec, name: str, lead_black: float = 0.0, **bars: int) -> Path:
    frames = []
    for time, rgb in samples.render(spec):
        frames.append((time + lead_black, letterbox(rgb, **bars)))
    if lead_black:
        black = np.zeros_like(frames[0][1])
        frames = [(i / spec.fps, black) for i in range(int(lead_black * spec.fps))] + frames
    path = tmp_path / name
    samples.write_frames(path, frames, fps=spec.fps)
    return path


@pytest.mark.parametrize("bars,colour", [
    ({"top": 40, "bottom": 40}, 0),                      # letterbox
    ({"top": 0, "bottom": 0, "left": 56, "right": 56}, 0),  # pillarbox
    ({"top": 30, "bottom": 50, "left": 0, "right": 0}, 40),  # uneven, dark grey
])
def test_bars_are_detected_and_left_out(tmp_path: Path, footage: tuple[Path, samples.ClipSpec],
                                        bars: dict[str, int], colour: int) -> None:
    path, spec = footage
    padded = padded_copy(tmp_path, spec, "padded.mp4", **bars, colour=colour)
    fp = fingerprint(padded)
    expected = CropBox(bars.get("left", 0), bars["top"], spec.width, spec.height)
    assert fp.crop is not None
    for got, want in zip(fp.crop.to_dict().values(), expected.to_dict().values()):
        assert abs(got - want) <= 3
    original = fingerprint(path)
    with_crop = [a.hash - b.hash for a, b in zip(original.frames, fp.frames)]
    without_crop = [a.hash - b.hash for a, b in zip(original.frames, fingerprint(padded, crop=False).frames)]
    assert np.median(with_crop) <= 20
    assert np.median(with_crop) < np.median(without_crop) - 20


def test_black_opening_does_not_fool_detection(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    _, spec = footage
    padded = padded_copy(tmp_path, spec, "intro.mp4", lead_black=1.5, top=36, bottom=36)
    fp = fingerprint(padded)
    assert fp.crop is not None and abs(fp.crop.y - 36) <= 3 and abs(fp.crop.height - spec.height) <= 4


def test_no_bars_means_full_frame(footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    assert fingerprint(path).crop == CropBox.full(spec.width, spec.height)


def test_frame_borders_on_pictures() -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 255, (100, 160), dtype=np.uint8)
    framed = np.zeros((140, 160), np.uint8)
    framed[25:125] = picture
    assert frame_borders(framed) == (25, 15, 0, 0)
    assert frame_borders(np.zeros((50, 50), np.uint8)) is None  # a black frame says nothing
    assert detect([framed, np.zeros_like(framed)], 160, 140) == CropBox(0, 25, 160, 100)


def test_crop_box_is_validated() -> None:
    with pytest.raises(ValidationError, match="crop width"):
        CropBox(0, 0, 0, 10)
    assert CropBox.from_dict(CropBox(1, 2, 3, 4).to_dict()) == CropBox(1, 2, 3, 4)


def test_a_bright_band_along_one_edge_is_picture_not_a_bar() -> None:
    rng = np.random.default_rng(8)
    frames = []
    for _ in range(6):
        picture = (rng.random((180, 320)) * 255).astype(np.uint8)
        frames.append(picture)
    table = [f.copy() for f in frames]
    for f in table:  # a white table top along the bottom, as a static camera sees it
        f[-24:] = 200 + rng.integers(0, 3, (24, 320))
    assert detect(table, 320, 180) == CropBox.full(320, 180)
    bar = [f.copy() for f in frames]
    for f in bar:  # the same band black: padding, one-sided or not
        f[-24:] = 0
    assert detect(bar, 320, 180) == CropBox(0, 0, 320, 156)
    both = [f.copy() for f in table]
    for f in both:  # bright bands on both sides: a letterbox in a light colour
        f[:24] = 200
    assert detect(both, 320, 180) == CropBox(0, 24, 320, 132)


def test_unlike_bright_bands_on_opposite_edges_are_picture() -> None:
    rng = np.random.default_rng(9)
    frames = [(rng.random((180, 320)) * 255).astype(np.uint8) for _ in range(6)]
    room = [f.copy() for f in frames]
    for f in room:  # a grey wall above, a white table below: a static shot of bottles
        f[:40] = 130 + rng.integers(0, 3, (40, 320))
        f[-16:] = 205 + rng.integers(0, 3, (16, 320))
    assert detect(room, 320, 180) == CropBox.full(320, 180)
    dark_top = [f.copy() for f in room]
    for f in dark_top:  # a black bar above and the white table below: only the bar is padding
        f[:40] = 0
    assert detect(dark_top, 320, 180) == CropBox(0, 40, 320, 140)
