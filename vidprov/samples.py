"""Synthetic footage for examples, tests and benchmarks.

Real verification footage cannot ship with the package, so the examples and
tests make their own clips that behave like footage for the purposes of
hashing: textured scenes seen through a panning, zooming camera, objects that
move, hard cuts between shots, optional fades. Everything is derived from a
seed, so the same arguments always give the same pictures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class Shot:
    """One continuous shot: how long it lasts and which scene (seed) it shows."""

    seconds: float
    seed: int
    pan: tuple[float, float] = (0.25, 0.1)
    zoom: float = 0.15


@dataclass(frozen=True)
class ClipSpec:
    """What to render: shots in order, frame size and rate, and optional fades."""

    shots: tuple[Shot, ...]
    width: int = 320
    height: int = 240
    fps: float = 25.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return sum(shot.seconds for shot in self.shots)

    @property
    def cut_times(self) -> list[float]:
        """Times at which a new shot starts (excluding 0)."""
        times, total = [], 0.0
        for shot in self.shots[:-1]:
            total += shot.seconds
            times.append(total)
        return times


def scenes(count: int, seconds: float, seed: int = 0) -> tuple[Shot, ...]:
    """``count`` shots of ``seconds`` each, every one a different scene."""
    rng = np.random.default_rng(seed)
    return tuple(
        Shot(seconds, int(rng.integers(1 << 30)), pan=(float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.2, 0.2))),
             zoom=float(rng.uniform(0.0, 0.3)))
        for _ in range(count)
    )


def _canvas(seed: int, width: int, height: int) -> np.ndarray:
    """A textured scene twice the frame size: layered noise, gradients and shapes."""
    import cv2

    rng = np.random.default_rng(seed)
    cw, ch = 2 * width, 2 * height
    image = np.zeros((ch, cw, 3), np.float32)
    # Detail at several scales, like ground, foliage and walls seen from afar.
    for cells, weight in ((4, 90.0), (12, 50.0), (40, 30.0), (160, 18.0)):
        noise = rng.uniform(-1, 1, (max(2, cells * ch // cw), cells, 3)).astype(np.float32)
        image += weight * cv2.resize(noise, (cw, ch), interpolation=cv2.INTER_CUBIC)
    base = rng.uniform(60, 190, 3).astype(np.float32)
    image += base
    # Buildings, vehicles, signs: hard-edged shapes in solid colours.
    for _ in range(int(rng.integers(12, 24))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x, y = int(rng.integers(0, cw)), int(rng.integers(0, ch))
        if rng.random() < 0.5:
            w, h = int(rng.integers(cw // 30, cw // 6)), int(rng.integers(ch // 30, ch // 5))
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1)
        else:
            cv2.circle(image, (x, y), int(rng.integers(ch // 40, ch // 8)), colour, -1)
    for _ in range(6):
        p1 = (int(rng.integers(0, cw)), int(rng.integers(0, ch)))
        p2 = (int(rng.integers(0, cw)), int(rng.integers(0, ch)))
        cv2.line(image, p1, p2, tuple(float(c) for c in rng.uniform(0, 255, 3)), int(rng.integers(2, 6)))
    return np.clip(image, 0, 255).astype(np.uint8)


def render(spec: ClipSpec) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time, rgb_frame)`` for every frame of ``spec``."""
    import cv2

    width, height, fps = spec.width, spec.height, spec.fps
    total = spec.duration
    time = 0.0
    frame_number = 0
    shot_start = 0.0
    for shot in spec.shots:
        canvas = _canvas(shot.seed, width, height)
        rng = np.random.default_rng(shot.seed + 1)
        sprite_colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        sprite_y = float(rng.uniform(0.3, 0.8))
        shot_frames = max(1, int(round(shot.seconds * fps)))
        for local in range(shot_frames):
            progress = local / max(1, shot_frames - 1)
            scale = 0.5 * (1.0 + shot.zoom * progress)  # window of half the canvas, zooming in
            cx = width * (1.0 + shot.pan[0] * (progress - 0.5))
            cy = height * (1.0 + shot.pan[1] * (progress - 0.5))
            matrix = np.array([[1 / scale * 0.5, 0, 0], [0, 1 / scale * 0.5, 0]], np.float32)
            matrix[0, 2] = width / 2 - cx * matrix[0, 0]
            matrix[1, 2] = height / 2 - cy * matrix[1, 1]
            frame = cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            # A vehicle crossing the frame.
            sx = int((progress * 1.4 - 0.2) * width)
            sy = int(sprite_y * height)
            cv2.rectangle(frame, (sx, sy), (sx + width // 8, sy + height // 14), sprite_colour, -1)
            cv2.circle(frame, (sx + width // 32, sy + height // 14), max(2, height // 40), (20, 20, 20), -1)
            gain = 1.0
            if spec.fade_in and time < spec.fade_in:
                gain = time / spec.fade_in
            if spec.fade_out and time > total - spec.fade_out:
                gain = min(gain, max(0.0, (total - time) / spec.fade_out))
            if gain < 1.0:
                frame = (frame.astype(np.float32) * gain).astype(np.uint8)
            yield time, np.ascontiguousarray(frame[:, :, ::-1])  # OpenCV's BGR to RGB
            frame_number += 1
            time = shot_start + (local + 1) / fps
        shot_start += shot.seconds
        time = shot_start


def write_frames(path: str | os.PathLike[str], frames: Iterator[tuple[float, np.ndarray]] | Sequence[tuple[float, np.ndarray]],
                 *, fps: float = 25.0, codec: str = "libx264", pix_fmt: str = "yuv420p",
                 options: dict[str, str] | None = None, rotation: int = 0, timestamps: str = "cfr",
                 metadata: dict[str, str] | None = None, container_options: dict[str, str] | None = None) -> None:
    """Encode RGB frames to ``path``; the container follows the file extension.

    ``timestamps="vfr"`` keeps each frame's own time (a millisecond time base),
    as phones write variable-frame-rate footage. ``rotation`` writes a display
    matrix, as phones do for portrait footage, with the pictures left as given.
    """
    import av

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(os.fspath(path), mode="w", options=container_options or {}) as container:
        if metadata:
            container.metadata.update(metadata)
        stream = container.add_stream(codec, rate=rate)
        stream.pix_fmt = pix_fmt
        if options:
            stream.options = dict(options)
        if timestamps == "vfr":
            stream.codec_context.time_base = Fraction(1, 1000)
        first = True
        for number, (time, rgb) in enumerate(frames):
            if first:
                height, width = rgb.shape[:2]
                stream.width, stream.height = width - width % 2, height - height % 2
                if rotation:
                    stream.set_display_rotation(rotation)
                first = False
            rgb = rgb[: stream.height, : stream.width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if timestamps == "vfr":
                frame.pts = int(round(time * 1000))
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = number
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_clip(path: str | os.PathLike[str], spec: ClipSpec | None = None, *, codec: str = "libx264",
               **kwargs: object) -> ClipSpec:
    """Render ``spec`` (default: three 2-second shots at 320x240) and encode it to ``path``."""
    spec = spec or ClipSpec(scenes(3, 2.0))
    write_frames(path, render(spec), fps=spec.fps, codec=codec, **kwargs)  # type: ignore[arg-type]
    return spec
