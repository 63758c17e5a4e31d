"""Letterbox and pillarbox borders: find the active picture once per clip.

Reuploads add black (or flat-coloured) bars to fit a new aspect ratio. Hashing
the bars along with the picture moves every hash, so the bars are found once
per clip, from a handful of frames spread over its start, and only the active
picture is hashed. The crop is recorded in the fingerprint.

A line (row or column) belongs to a border when it is near-uniform and has the
colour of the outermost line. A frame's border is its run of such lines from
each edge. The clip's border is the smallest seen on any frame with content,
so a dark scene can never crop the picture more than its brightest frame allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .errors import ValidationError
from .media import next_tick

#: Largest spread of luma (standard deviation) a border line may have.
LINE_STD_MAX = 10.0
#: Largest difference of a border line's mean from the outermost line's.
LINE_MEAN_TOLERANCE = 12.0
#: Borders thinner than this share of the side are compression fringe, not bars.
MIN_BORDER_SHARE = 0.01
#: An active picture smaller than this share of a side means detection went wrong.
MIN_ACTIVE_SHARE = 0.2
#: A band on one side only (none opposite) counts as a bar only if darker than this: a bright,
#: even band along one edge is picture (a white table top, a sky), not padding.
ONE_SIDED_MAX_LUMA = 64.0
#: Bars on opposite sides are padding of one colour: two bands whose mean luma differs by more
#: than this are picture (a wall above, a table below) unless dark (see :data:`ONE_SIDED_MAX_LUMA`).
PAIRED_LUMA_TOLERANCE = 24.0


@dataclass(frozen=True)
class CropBox:
    """The active picture: ``x``, ``y``, ``width``, ``height`` in display pixels.

    A window seen at an angle (a screen filmed off-axis) also has ``corners``:
    the four corners of the picture, clockwise from its top left, in display
    pixels. The box is then their bounding box, and the picture is what lies
    between the corners, straightened (:func:`cut_grid`).
    """

    x: int
    y: int
    width: int
    height: int
    corners: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        for field in ("x", "y"):
            if getattr(self, field) < 0:
                raise ValidationError(f"crop {field}", getattr(self, field), "0 or more")
        for field in ("width", "height"):
            if getattr(self, field) <= 0:
                raise ValidationError(f"crop {field}", getattr(self, field), "a positive number of pixels")
        if self.corners is not None:
            if len(self.corners) != 4 or any(len(c) != 2 for c in self.corners):
                raise ValidationError("crop corners", self.corners, "four [x, y] points")
            for cx, cy in self.corners:
                if not (self.x <= cx <= self.x + self.width and self.y <= cy <= self.y + self.height):
                    raise ValidationError("crop corners", self.corners, f"points inside the box {self}")

    @classmethod
    def around(cls, corners: Iterable[tuple[float, float]]) -> CropBox:
        """The window between four corners (clockwise from the top left), in display pixels."""
        points = tuple((max(0, int(round(x))), max(0, int(round(y)))) for x, y in corners)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return cls(min(xs), min(ys), max(1, max(xs) - min(xs)), max(1, max(ys) - min(ys)), points)

    @classmethod
    def full(cls, width: int, height: int) -> CropBox:
        return cls(0, 0, width, height)

    def is_full(self, width: int, height: int) -> bool:
        return (self.x, self.y, self.width, self.height) == (0, 0, width, height)

    def part(self, left: float, top: float, share: float) -> CropBox:
        """The box ``share`` of this one's size per side, ``left`` and ``top`` of the way across its slack.

        ``part(0.5, 0.5, 0.8)`` is the middle 80% of the box, a tenth in from each side.
        """
        width, height = max(1, int(round(self.width * share))), max(1, int(round(self.height * share)))
        return CropBox(self.x + int(round((self.width - width) * left)),
                       self.y + int(round((self.height - height) * top)), width, height)

    def contains_most_of(self, other: CropBox, share: float = 0.85) -> bool:
        """Whether ``other`` covers at least ``share`` of this box (so they frame the same picture)."""
        x = max(0, min(self.x + self.width, other.x + other.width) - max(self.x, other.x))
        y = max(0, min(self.y + self.height, other.y + other.height) - max(self.y, other.y))
        return x * y >= share * self.width * self.height

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"x": self.x, "y": self.y, "width": self.width, "height": self.height}
        if self.corners is not None:
            data["corners"] = [list(c) for c in self.corners]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropBox:
        corners = data.get("corners")
        if corners is not None:
            if not isinstance(corners, list) or not all(isinstance(c, list) and len(c) == 2 for c in corners):
                raise ValidationError("crop corners", corners, "four [x, y] points")
            corners = tuple((int(x), int(y)) for x, y in corners)
        return cls(int(data["x"]), int(data["y"]), int(data["width"]), int(data["height"]), corners)

    def __str__(self) -> str:
        text = f"{self.width}x{self.height}+{self.x}+{self.y}"
        if self.corners is not None:
            text += " (at an angle: " + " ".join(f"{x},{y}" for x, y in self.corners) + ")"
        return text


def _border_run(means: np.ndarray, stds: np.ndarray) -> int:
    """How many lines from the start of ``means`` form a uniform border."""
    reference = means[0]
    uniform = (stds <= LINE_STD_MAX) & (np.abs(means - reference) <= LINE_MEAN_TOLERANCE)
    if uniform.all():
        return len(means)
    return int(np.argmin(uniform))


def frame_borders(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """Border widths ``(top, bottom, left, right)`` of one frame, in pixels.

    Returns ``None`` for a frame with no content (black, flat), which says
    nothing about where the picture is.
    """
    image = np.asarray(gray)
    # About 180 lines across the short side are plenty: the bars are found to a
    # few pixels at a small share of the cost of every line.
    step = max(1, min(image.shape) // 180)
    borders = _frame_borders(image[::step, ::step].astype(np.float32))
    if borders is None:
        return None
    top, bottom, left, right = (step * b for b in borders)
    return top, bottom, left, right


def _frame_borders(image: np.ndarray) -> tuple[int, int, int, int] | None:
    rows_mean, rows_std = image.mean(axis=1), image.std(axis=1)
    cols_mean, cols_std = image.mean(axis=0), image.std(axis=0)
    top = _border_run(rows_mean, rows_std)
    if top == len(rows_mean):
        return None
    bottom = _border_run(rows_mean[::-1], rows_std[::-1])
    left = _border_run(cols_mean, cols_std)
    right = _border_run(cols_mean[::-1], cols_std[::-1])
    return top, bottom, left, right


class BorderDetector:
    """Collects per-frame borders and settles the clip's crop.

    Feed it the frames :meth:`wants` while :attr:`done` is false: the first at
    or after each multiple of ``spacing`` seconds, so that the sample spans
    time and does not depend on how densely the clip is sampled. :meth:`crop`
    then gives the smallest border seen.
    """

    def __init__(self, width: int, height: int, frames: int = 12, spacing: float = 0.5) -> None:
        self.width = width
        self.height = height
        self.frames = frames
        self.spacing = spacing
        self._borders: list[tuple[int, int, int, int]] = []
        self._edges: list[tuple[float, float, float, float]] = []  # mean luma of the outermost lines
        self._next_time = 0.0

    @property
    def done(self) -> bool:
        return len(self._borders) >= self.frames

    def wants(self, time: float) -> bool:
        # The first frame at or after each multiple of ``spacing``: the same frames
        # whether the clip is sampled twice or eight times a second.
        return not self.done and time + 1e-9 >= self._next_time

    def add(self, time: float, gray: np.ndarray) -> None:
        if self.spacing > 0:
            self._next_time = next_tick(time, self.spacing)
        borders = frame_borders(gray)
        if borders is not None:
            self._borders.append(borders)
            image = np.asarray(gray)
            self._edges.append((float(image[0].mean()), float(image[-1].mean()), float(image[:, 0].mean()),
                                float(image[:, -1].mean())))

    def crop(self) -> CropBox:
        width, height = self.width, self.height
        if not self._borders:
            return CropBox.full(width, height)
        top, bottom, left, right = np.min(np.array(self._borders), axis=0).tolist()
        top, bottom = _significant(top, height), _significant(bottom, height)
        left, right = _significant(left, width), _significant(right, width)
        luma = np.median(np.array(self._edges), axis=0)
        top, bottom = _one_sided(top, bottom, luma[0], luma[1])
        left, right = _one_sided(left, right, luma[2], luma[3])
        active_w, active_h = width - left - right, height - top - bottom
        if active_w < MIN_ACTIVE_SHARE * width:
            left, right, active_w = 0, 0, width
        if active_h < MIN_ACTIVE_SHARE * height:
            top, bottom, active_h = 0, 0, height
        return CropBox(left, top, active_w, active_h)


def _one_sided(first: int, second: int, first_luma: float, second_luma: float) -> tuple[int, int]:
    """Two opposite borders, without the bright bands that are picture: one found on one side only
    (see :data:`ONE_SIDED_MAX_LUMA`), or two unlike each other (:data:`PAIRED_LUMA_TOLERANCE`)."""
    if first and second and abs(first_luma - second_luma) <= PAIRED_LUMA_TOLERANCE:
        return first, second
    return (0 if first_luma > ONE_SIDED_MAX_LUMA else first), (0 if second_luma > ONE_SIDED_MAX_LUMA else second)


def _significant(border: int, side: int) -> int:
    return border if border >= max(2, MIN_BORDER_SHARE * side) else 0


def crop_grid(grid: np.ndarray, crop: CropBox, width: int, height: int) -> np.ndarray:
    """Cut the active picture out of ``grid``, a resized copy of a ``width`` x ``height`` frame."""
    if crop.is_full(width, height):
        return grid
    rows, cols = grid.shape[:2]
    y0 = int(round(crop.y * rows / height))
    y1 = max(y0 + 1, int(round((crop.y + crop.height) * rows / height)))
    x0 = int(round(crop.x * cols / width))
    x1 = max(x0 + 1, int(round((crop.x + crop.width) * cols / width)))
    return grid[y0:y1, x0:x1]


def cut_grid(grid: np.ndarray, box: CropBox, width: int, height: int) -> np.ndarray:
    """The picture in ``box`` out of ``grid`` (a resized copy of a ``width`` x ``height`` frame): cut out,
    or straightened from between its corners to a rectangle of the same size when it has them."""
    if box.corners is None:
        return crop_grid(grid, box, width, height)
    import cv2

    rows, cols = grid.shape[:2]
    scale = np.array([cols / width, rows / height], np.float32)
    source = np.array(box.corners, np.float32) * scale
    out_w = max(2, int(round(box.width * scale[0])))
    out_h = max(2, int(round(box.height * scale[1])))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    return cv2.warpPerspective(grid, cv2.getPerspectiveTransform(source, target), (out_w, out_h),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def detect(frames: Iterable[np.ndarray], width: int, height: int) -> CropBox:
    """The crop for a set of full-size gray frames (a convenience for one-off use)."""
    detector = BorderDetector(width, height, frames=1 << 30, spacing=0.0)
    for number, gray in enumerate(frames):
        detector.add(float(number), gray)
    return detector.crop()

