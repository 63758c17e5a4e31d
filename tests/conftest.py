"""Shared fixtures: generated clips, and the real corpus when it is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidprov import samples

#: Real clips live beside the repository, never inside it.
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
PEER_REFERENCE = SHARED / "peer-reference"


def corpus_clips(pattern: str = "*.mp4") -> list[Path]:
    return sorted(CORPUS.glob(pattern)) if CORPUS.is_dir() else []


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def footage(clip_dir: Path) -> tuple[Path, samples.ClipSpec]:
    """Nine seconds of textured, moving footage in three shots (H.264, 320x240, 25 fps)."""
    spec = samples.ClipSpec(samples.scenes(3, 3.0, seed=11))
    path = clip_dir / "footage.mp4"
    samples.write_clip(path, spec, options={"g": "50"}, container_options={"movflags": "faststart"})
    return path, spec


@pytest.fixture(scope="session")
def other_footage(clip_dir: Path) -> Path:
    """Unrelated footage of the same shape as :func:`footage`."""
    path = clip_dir / "other.mp4"
    samples.write_clip(path, samples.ClipSpec(samples.scenes(3, 3.0, seed=99)))
    return path


def letterbox(rgb: np.ndarray, top: int, bottom: int, left: int = 0, right: int = 0,
              colour: int = 0) -> np.ndarray:
    """Pad a frame with flat bars, as a reupload to another aspect ratio does."""
    height, width = rgb.shape[:2]
    out = np.full((height + top + bottom, width + left + right, 3), colour, np.uint8)
    out[top:top + height, left:left + width] = rgb
    return out


def cropped_copy(folder: Path, spec: samples.ClipSpec, left: int, top: int, name: str = "cropped") -> Path:
    """The footage with 90% of its width and height kept, ``left`` and ``top`` pixels in, re-encoded."""
    from vidprov.fingerprint import CROPPED_SHARE

    width, height = int(spec.width * CROPPED_SHARE) // 2 * 2, int(spec.height * CROPPED_SHARE) // 2 * 2
    frames = [(t, np.ascontiguousarray(f[top:top + height, left:left + width])) for t, f in samples.render(spec)]
    path = folder / f"{name}.mp4"
    samples.write_frames(path, frames, fps=25, options={"crf": "28"})
    return path
