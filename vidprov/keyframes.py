"""Scene-aware keyframes: the frames a journalist runs through reverse image search.

:class:`KeyframeSelector` watches the hashed frames of a clip go by and keeps

* at least one frame per shot (a shot ends where the picture changes abruptly),
* at least one frame every ``max_gap`` seconds within a long shot,
* never a near-duplicate of the keyframe just before it,
* never a black, flat, washed-out or fading frame: each frame gets a score
  from its detail (PDQ-style gradient quality), its exposure and how steady
  its brightness is, and the best frame of each stretch wins.

:func:`extract` runs selection over a clip and :func:`save` writes one JPEG per
keyframe, named by its timestamp, plus ``contact_sheet.jpg``.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .borders import CropBox
from .errors import FileAccessError, ValidationError
from .fingerprint import DEFAULT_ALGORITHM, FramePipeline, HashedFrame
from .hashing import FrameHash
from .media import Decoder, Sampling

#: Frames examined for keyframes when nothing is said: four a second.
DEFAULT_SAMPLING = Sampling.every(0.25)

#: A change of picture larger than this share of the hash's bits is a cut.
CUT_HASH_SHARE = 0.30
#: ... and the mean absolute change of a 16x16 thumbnail (0-255) must exceed this.
CUT_THUMB_CHANGE = 18.0
#: Frames scoring below this are never keyframes.
MIN_SCORE = 20.0
#: Shots shorter than this (seconds) are taken for flashes or fast motion.
MIN_SHOT = 0.5


@dataclass(frozen=True)
class Keyframe:
    """A chosen frame: its time and frame number, hash, quality and score."""

    t: float
    index: int
    hash: FrameHash
    quality: int
    score: float
    shot: int

    def filename(self, stem: str) -> str:
        """``<stem>_t0012.480.jpg``: sorts by time and says where to find the frame."""
        return f"{stem}_t{self.t:08.3f}.jpg"

    def to_dict(self) -> dict[str, object]:
        return {"t": self.t, "index": self.index, "hash": str(self.hash), "quality": self.quality,
                "score": round(self.score, 2), "shot": self.shot}


def frame_score(image: np.ndarray, quality: int, previous_mean: float | None) -> tuple[float, float]:
    """Score a frame for keyframe use; returns the score and the frame's mean luma.

    Detail (0-100) is scaled down for frames that are too dark or too bright
    and for frames whose brightness is still changing (fades and flashes).
    """
    mean = float(image.mean())
    exposure = min(1.0, max(0.0, (mean - 12.0) / 28.0), max(0.0, (243.0 - mean) / 28.0))
    contrast = min(1.0, float(image.std()) / 16.0)
    steadiness = 1.0 if previous_mean is None else max(0.0, 1.0 - abs(mean - previous_mean) / 24.0)
    return quality * exposure * contrast * (0.5 + 0.5 * steadiness), mean


class KeyframeSelector:
    """Streaming keyframe selection over :class:`~vidprov.fingerprint.HashedFrame` objects.

    Call :meth:`feed` for each frame in order; it returns the keyframes that
    became final. Call :meth:`finish` at the end for the rest.
    """

    def __init__(self, max_gap: float = 4.0, min_score: float = MIN_SCORE,
                 duplicate_share: float = 0.12) -> None:
        if not max_gap > 0:
            raise ValidationError("max_gap", max_gap, "a positive number of seconds")
        self.max_gap = max_gap
        self.min_score = min_score
        self.duplicate_share = duplicate_share
        self.shot = 0
        self._window_start: float | None = None
        self._best: Keyframe | None = None
        self._last_emitted: Keyframe | None = None
        self._reference: tuple[FrameHash, np.ndarray] | None = None
        self._changes: deque[float] = deque(maxlen=6)
        self._shot_start: float | None = None
        self._previous_mean: float | None = None

    def _is_cut(self, time: float, digest: FrameHash, thumb: np.ndarray) -> bool:
        """Whether this (well-exposed) frame starts a new shot.

        Frames are compared with the last well-exposed frame, so a fade through
        black between two shots still reads as a cut while the fade itself does
        not. A change counts only when it is large and also well above the recent
        run of changes, so that a fast pan is not taken for a cut.
        """
        if self._reference is None:
            return False
        ref_hash, ref_thumb = self._reference
        hash_change = (digest - ref_hash) / digest.bits
        thumb_change = float(np.abs(thumb - ref_thumb).mean())
        recent = sorted(self._changes)
        typical = recent[len(recent) // 2] if len(recent) >= 3 else 0.0
        self._changes.append(hash_change)
        return (hash_change > CUT_HASH_SHARE and thumb_change > CUT_THUMB_CHANGE
                and hash_change > 1.6 * typical
                and (self._shot_start is None or time - self._shot_start >= MIN_SHOT))

    def feed(self, frame: HashedFrame) -> list[Keyframe]:
        import cv2

        thumb = cv2.resize(frame.image, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
        score, mean = frame_score(frame.image, frame.quality, self._previous_mean)
        self._previous_mean = mean
        emitted: list[Keyframe] = []
        if score >= self.min_score:
            if self._is_cut(frame.time, frame.hash, thumb):
                emitted += self._close_window()
                self.shot += 1
                self._changes.clear()
                self._shot_start = frame.time
            self._reference = (frame.hash, thumb)
        if self._window_start is not None and frame.time - self._window_start >= self.max_gap:
            emitted += self._close_window()
        if self._window_start is None:
            self._window_start = frame.time
        if self._shot_start is None:
            self._shot_start = frame.time
        if score >= self.min_score and (self._best is None or score > self._best.score):
            self._best = Keyframe(frame.time, frame.index, frame.hash, frame.quality, score, self.shot)
        return emitted

    def finish(self) -> list[Keyframe]:
        return self._close_window()

    def _close_window(self) -> list[Keyframe]:
        best, self._best, self._window_start = self._best, None, None
        if best is None:
            return []
        last = self._last_emitted
        if last is not None and (best.hash - last.hash) <= self.duplicate_share * best.hash.bits:
            return []
        self._last_emitted = best
        return [best]


@dataclass(frozen=True)
class KeyframeSet:
    """The keyframes of one clip, with what is needed to write them out."""

    path: str
    keyframes: tuple[Keyframe, ...]
    crop: CropBox | None
    sampling: Sampling
    duration: float | None

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "duration": self.duration,
                "crop": self.crop.to_dict() if self.crop else None,
                "keyframes": [k.to_dict() for k in self.keyframes]}


def select(frames: Iterable[HashedFrame], selector: KeyframeSelector | None = None) -> Iterator[Keyframe]:
    """Keyframes from a stream of hashed frames, as they become final."""
    selector = selector or KeyframeSelector()
    for frame in frames:
        yield from selector.feed(frame)
    yield from selector.finish()


def extract(path: str | os.PathLike[str], *, sampling: Sampling | None = None, max_gap: float = 4.0,
            crop: bool = True, algorithm: str = DEFAULT_ALGORITHM,
            progress: Callable[[float, float | None], None] | None = None) -> KeyframeSet:
    """Choose the keyframes of the clip at ``path`` (one decoding pass)."""
    sampling = sampling or DEFAULT_SAMPLING
    with FramePipeline(path, algorithm=algorithm, sampling=sampling, crop=crop, progress=progress) as pipeline:
        chosen = tuple(select(pipeline, KeyframeSelector(max_gap=max_gap)))
        return KeyframeSet(os.fspath(path), chosen, pipeline.crop, sampling, pipeline.info.duration)


def _cropped(rgb: np.ndarray, crop: CropBox | None) -> np.ndarray:
    if crop is None:
        return rgb
    return rgb[crop.y:crop.y + crop.height, crop.x:crop.x + crop.width]


def iter_images(selection: KeyframeSet) -> Iterator[tuple[Keyframe, np.ndarray]]:
    """The full-size RGB picture of each keyframe (active picture only), in time order.

    Decodes the clip a second time rather than holding full-size frames while
    choosing, so memory stays flat; decoding stops after the last keyframe.
    """
    wanted = {k.t: k for k in selection.keyframes}
    if not wanted:
        return
    last = max(wanted)
    with Decoder(selection.path, selection.sampling) as decoder:
        for frame in decoder:
            keyframe = wanted.get(frame.time)
            if keyframe is not None:
                yield keyframe, _cropped(frame.rgb(), selection.crop)
            if frame.time >= last:
                break


def format_time(seconds: float) -> str:
    """``MM:SS.mmm`` (or ``H:MM:SS.mmm``) for labels."""
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours}:{minutes:02d}:{secs:02d}.{millis:03d}" if hours else f"{minutes:02d}:{secs:02d}.{millis:03d}"


def contact_sheet(images: Iterable[tuple[Keyframe, np.ndarray]], columns: int = 5,
                  thumb_width: int = 320) -> np.ndarray | None:
    """A grid of thumbnails, each labelled with its timestamp, as an RGB array."""
    import cv2

    label_height, pad = 28, 6
    tiles = []
    for keyframe, rgb in images:
        scale = thumb_width / rgb.shape[1]
        thumb = cv2.resize(rgb, (thumb_width, max(1, int(round(rgb.shape[0] * scale)))),
                           interpolation=cv2.INTER_AREA)
        tiles.append((keyframe, thumb))
    if not tiles:
        return None
    tile_height = max(t.shape[0] for _, t in tiles) + label_height
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    sheet = np.full((rows * (tile_height + pad) + pad, columns * (thumb_width + pad) + pad, 3), 24, np.uint8)
    for number, (keyframe, thumb) in enumerate(tiles):
        row, column = divmod(number, columns)
        y = pad + row * (tile_height + pad)
        x = pad + column * (thumb_width + pad)
        sheet[y:y + thumb.shape[0], x:x + thumb_width] = thumb
        label = format_time(keyframe.t)
        cv2.putText(sheet, label, (x + 4, y + tile_height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return sheet


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = 92) -> None:
    import cv2

    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB array
        raise FileAccessError("could not encode JPEG", str(path))
    try:
        path.write_bytes(encoded.tobytes())
    except OSError as error:
        raise FileAccessError(f"cannot write ({error.strerror or error})", str(path)) from None


def save(selection: KeyframeSet, outdir: str | os.PathLike[str], *, stem: str | None = None,
         sheet_name: str = "contact_sheet.jpg") -> list[Path]:
    """Write one JPEG per keyframe and a contact sheet into ``outdir``; return the paths."""
    directory = Path(outdir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FileAccessError(f"cannot create output directory ({error.strerror or error})", str(directory)) from None
    stem = stem or Path(selection.path).stem
    written: list[Path] = []
    thumbs: list[tuple[Keyframe, np.ndarray]] = []
    import cv2

    for keyframe, rgb in iter_images(selection):
        target = directory / keyframe.filename(stem)
        write_jpeg(target, rgb)
        written.append(target)
        # Keep only a thumbnail for the sheet, never the full frame.
        scale = 320 / rgb.shape[1]
        thumbs.append((keyframe, cv2.resize(rgb, (320, max(1, int(round(rgb.shape[0] * scale)))),
                                            interpolation=cv2.INTER_AREA)))
    sheet = contact_sheet(thumbs)
    if sheet is not None:
        target = directory / sheet_name
        write_jpeg(target, sheet, quality=88)
        written.append(target)
    return written
