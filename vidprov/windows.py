"""Footage shown inside other footage: picture-in-picture insets and screen recordings.

A reupload may show the clip in a corner of another video, or filmed off a
screen inside a player window. Hashing the whole frame then hashes mostly
something else. This module looks for the window the footage plays in, from a
handful of small frames spread over the start of the clip, in three ways:

* **motion**: pixels that change over time inside a frame whose surround
  stays still (a player window, a desk, a static overlay);
* **persistent edges**: straight edges that stay put while the picture moves,
  such as the rim of an inset over a moving background;
* **outlines at an angle**: four-sided outlines in the clip's still picture
  (the median of those frames), such as a monitor or a player filmed
  off-axis. Their picture is straightened before hashing
  (:func:`vidprov.borders.cut_grid`).

The windows found (outlines at an angle first), the centred picture of the
other orientation (a 16:9 picture on a 9:16 canvas, see :func:`aspect_boxes`)
and the central two thirds of the frame when no window covers it, are hashed
as well as the whole picture, on the query side only, so a match may be found
inside any of them (:mod:`vidprov.match`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .borders import CropBox

#: A window must cover at least this share of the frame, and at most the upper one.
MIN_AREA, MAX_AREA = 0.08, 0.80
#: Fewest frames needed to tell motion from stillness.
MIN_FRAMES = 6
#: Frames shrunk to fewer pixels than this on a side are too small to hold a window.
MIN_GRID = 16
#: Luma change (standard deviation over time) above which a pixel counts as moving.
MOTION = 8.0
#: Share of a candidate rectangle's rim that must lie on persistent edges.
RIM_SUPPORT = 0.7
#: A four-sided outline is at an angle when a corner lies this share of its box's side off the box's corner.
KEYSTONE = 0.015
#: Largest spread of luma just outside a window's rim (its frame or surround is flat).
FLAT_RIM = 12.0
#: Most outlines at an angle kept (the innermost first: a player's picture inside the monitor around it).
MAX_ANGLED = 2
#: A player's chrome inside an outline at an angle (a title bar, a bar beside the picture) is looked
#: for this share of the outline's side in from each edge ...
CHROME_DEPTH = 0.2
#: ... as a band that stays still (luma spread over time, on average along it, at most this) ...
STILL_BAND = 2.0
#: ... ending in a straight edge along this share of the side at least, where luma steps by more
#: than :data:`CHROME_STEP`: the picture's own rim.
CHROME_EDGE_SHARE = 0.75
CHROME_STEP = 16.0


def _to_box(x0: int, y0: int, x1: int, y1: int, grid: tuple[int, int], size: tuple[int, int]) -> CropBox | None:
    rows, cols = grid
    width, height = size
    if x1 <= x0 or y1 <= y0:
        return None
    area = (x1 - x0) * (y1 - y0) / (rows * cols)
    if not MIN_AREA <= area <= MAX_AREA:
        return None
    aspect = ((x1 - x0) * width / cols) / ((y1 - y0) * height / rows)
    if not 0.3 <= aspect <= 3.0:
        return None
    return CropBox(int(round(x0 * width / cols)), int(round(y0 * height / rows)),
                   max(1, int(round((x1 - x0) * width / cols))), max(1, int(round((y1 - y0) * height / rows))))


def motion_window(stack: np.ndarray, size: tuple[int, int]) -> CropBox | None:
    """The box around the largest moving region, if the rest of the frame stays still."""
    import cv2

    moving = (stack.std(axis=0) > MOTION).astype(np.uint8)
    moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(moving, connectivity=8)
    if count <= 1:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = stats[largest]
    # The region must be most of its own box (a window, not scattered motion).
    if area < 0.6 * w * h:
        return None
    return _to_box(int(x), int(y), int(x + w), int(y + h), stack.shape[1:], size)


def _runs(mask: np.ndarray, minimum: int) -> list[tuple[int, int, int]]:
    """Runs of True along axis 1: (line, start, end) for runs at least ``minimum`` long."""
    found = []
    for line, row in enumerate(mask):
        padded = np.concatenate(([False], row, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        for start, end in zip(edges[::2], edges[1::2]):
            if end - start >= minimum:
                found.append((line, int(start), int(end)))
    return found


def edge_windows(stack: np.ndarray, size: tuple[int, int], limit: int = 2) -> list[CropBox]:
    """Rectangles whose rims are edges that persist while the picture changes."""
    import cv2

    rows, cols = stack.shape[1:]
    frames = stack.astype(np.float32)
    across = np.median(np.abs(np.diff(frames, axis=1)), axis=0)  # horizontal edges (between rows)
    down = np.median(np.abs(np.diff(frames, axis=2)), axis=0)  # vertical edges (between columns)
    threshold = max(12.0, float(np.percentile(np.concatenate([across.ravel(), down.ravel()]), 97)))
    horizontal = _runs(across > threshold, max(4, cols // 6))
    vertical = _runs((down > threshold).T, max(4, rows // 6))
    if not horizontal or not vertical:
        return []
    h_mask = (across > threshold).astype(np.uint8)
    v_mask = (down > threshold).astype(np.uint8)
    h_mask = cv2.dilate(h_mask, np.ones((3, 1), np.uint8))
    v_mask = cv2.dilate(v_mask, np.ones((1, 3), np.uint8))
    candidates: list[tuple[float, tuple[int, int, int, int]]] = []
    tops = sorted({(y, x0, x1) for y, x0, x1 in horizontal})
    for i, (y0, a0, a1) in enumerate(tops):
        for y1, b0, b1 in tops[i + 1:]:
            if y1 - y0 < rows // 6:
                continue
            x0, x1 = max(a0, b0), min(a1, b1)
            if x1 - x0 < cols // 6:
                continue
            # Rim support: how much of the four sides lies on persistent edges.
            top = h_mask[y0, x0:x1].mean()
            bottom = h_mask[min(y1, rows - 2), x0:x1].mean()
            left = v_mask[y0 + 1:y1 + 1, max(0, x0 - 1)].mean()
            right = v_mask[y0 + 1:y1 + 1, min(cols - 2, x1 - 1)].mean()
            support = (top + bottom + left + right) / 4
            if support >= RIM_SUPPORT:
                candidates.append((support * (x1 - x0) * (y1 - y0), (x0, y0 + 1, x1, y1 + 1)))
    boxes: list[CropBox] = []
    for _, (x0, y0, x1, y1) in sorted(candidates, reverse=True):
        box = _to_box(x0, y0, x1, y1, (rows, cols), size)
        if box is not None and all(_overlap(box, other) < 0.7 for other in boxes):
            boxes.append(box)
        if len(boxes) >= limit:
            break
    return boxes


def _clockwise(points: np.ndarray) -> np.ndarray:
    """Four points ordered clockwise (in image coordinates) from the top left."""
    centre = points.mean(axis=0)
    ordered = points[np.argsort(np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0]))]
    first = int(np.argmin(ordered.sum(axis=1)))
    return np.roll(ordered, -first, axis=0)


def _flat_outside(still: np.ndarray, corners: np.ndarray, gap: float = 3.0) -> bool:
    """Whether just outside each side of an outline the picture is flat (a bezel, a player's frame, bars).

    Inside a picture, lines that close a four-sided shape (a floor's edge, a
    doorway) have more picture just beyond them; a window's rim does not.
    """
    rows, cols = still.shape
    centre = corners.mean(axis=0)
    along = np.linspace(0.1, 0.9, 24)[:, None]
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        normal = np.array([b[1] - a[1], a[0] - b[0]], np.float64)
        normal /= max(float(np.hypot(*normal)), 1e-9)
        if np.dot((a + b) / 2 - centre, normal) < 0:
            normal = -normal
        points = a + along * (b - a) + gap * normal
        inside = (points[:, 0] >= 0) & (points[:, 0] <= cols - 1) & (points[:, 1] >= 0) & (points[:, 1] <= rows - 1)
        if inside.sum() < len(points) // 2:
            continue  # the side runs along the frame's edge
        values = still[points[inside, 1].round().astype(int), points[inside, 0].round().astype(int)].astype(np.float64)
        if values.std() > FLAT_RIM:
            return False
    return True


def _area_of(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _skew(points: np.ndarray) -> float:
    """How far a four-sided shape's opposite sides are from parallel, in radians (0 for a parallelogram)."""
    sides = np.roll(points, -1, axis=0) - points
    angles = np.arctan2(sides[:, 1], sides[:, 0])
    bend = (angles[:2] - angles[2:]) % np.pi
    return float(np.minimum(bend, np.pi - bend).sum())


def _without_side(points: np.ndarray, side: int) -> np.ndarray | None:
    """The polygon with one side dropped and the two next to it extended to meet."""
    count = len(points)
    before, start, end, after = (points[(side + k) % count] for k in (-1, 0, 1, 2))
    a, b = start - before, end - after
    denominator = a[0] * b[1] - a[1] * b[0]
    if abs(denominator) < 1e-9:
        return None
    t = ((after - before)[0] * b[1] - (after - before)[1] * b[0]) / denominator
    if t < 1:  # the sides would meet behind the corner: not a cut-off corner
        return None
    kept = [points[(side + 2 + k) % count] for k in range(count - 2)]
    return np.array(kept + [before + t * a])


def _four_sided(polygon: np.ndarray) -> np.ndarray | None:
    """A convex polygon as four corners: as it is, or with cut-off corners (where the picture's edge
    fades into a dark corner) restored by extending the sides next to them; else None."""
    points = polygon.astype(np.float64)
    area = _area_of(points)
    while 4 < len(points) <= 6:
        shapes = [shape for shape in (_without_side(points, side) for side in range(len(points))) if shape is not None]
        if not shapes:
            return None
        # The side to drop leaves the shape closest to a straight-on or keystoned rectangle.
        points = min(shapes, key=lambda shape: _skew(shape) if len(shape) == 4 else _area_of(shape))
    if len(points) != 4 or _area_of(points) > 1.15 * area:
        return None
    return points


def _chrome(still: np.ndarray, motion: np.ndarray) -> int:
    """How many lines from the start of a straightened window (axis 0) are a still band ending in a
    straight edge: a player's title bar, or a bar beside a picture narrower than the player; else 0."""
    depth = int(round(CHROME_DEPTH * len(still)))
    if depth < 2:
        return 0
    steps = np.abs(np.diff(still[:depth + 1], axis=0))  # steps[k]: between lines k and k + 1
    # An edge blurred over two lines still counts, once.
    edge = np.maximum(steps[:-1], steps[1:])
    coverage = (edge > CHROME_STEP).mean(axis=1)
    strength = np.where(coverage >= CHROME_EDGE_SHARE, edge.mean(axis=1), 0.0)
    still_lines = motion[:depth].mean(axis=1) <= STILL_BAND
    for line in np.argsort(-strength, kind="stable"):
        if strength[line] <= 0:
            break
        cut = int(line) + 1  # lines 0..line are the band
        if still_lines[:cut].all():
            return cut
    return 0


def _without_chrome(stack: np.ndarray, corners: np.ndarray) -> np.ndarray | None:
    """The corners (grid pixels) of the picture inside a window at an angle, without the player's chrome
    along its sides (see :func:`_chrome`), or None when there is none."""
    import cv2

    low, high = corners.min(axis=0), corners.max(axis=0)
    out_w, out_h = (int(v) for v in np.maximum(np.round(high - low), 8))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    warp = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    straight = np.stack([cv2.warpPerspective(frame, warp, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_REPLICATE) for frame in stack])
    still, motion = np.median(straight, axis=0), straight.std(axis=0)
    top, bottom = _chrome(still, motion), _chrome(still[::-1], motion[::-1])
    left, right = _chrome(still.T, motion.T), _chrome(still.T[::-1], motion.T[::-1])
    if not (top or bottom or left or right):
        return None
    inner = np.array([[left, top], [out_w - right, top], [out_w - right, out_h - bottom], [left, out_h - bottom]],
                     np.float32)
    return cv2.perspectiveTransform(inner[None], np.linalg.inv(warp))[0].astype(np.float64)


def angled_windows(stack: np.ndarray, size: tuple[int, int], limit: int = MAX_ANGLED) -> list[CropBox]:
    """Four-sided outlines at an angle in the still picture, with flat surrounds, as boxes with corners,
    innermost first."""
    import cv2

    rows, cols = stack.shape[1:]
    still = np.median(stack, axis=0).astype(np.uint8)
    edges = cv2.Canny(cv2.GaussianBlur(still, (3, 3), 0), 20, 50)
    # Closing one-pixel gaps joins an outline broken where the picture's edge fades.
    contours = [c for found in (edges, cv2.dilate(edges, np.ones((3, 3), np.uint8)))
                for c in cv2.findContours(found, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0]]
    width, height = size
    scale = np.array([width / cols, height / rows])
    outlines: list[tuple[float, CropBox]] = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull) / (rows * cols)
        if not MIN_AREA <= area <= MAX_AREA:
            continue
        polygon = _four_sided(cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2))
        if polygon is None:
            continue
        grid_corners = _clockwise(polygon)
        corners = grid_corners * scale
        low, high = corners.min(axis=0), corners.max(axis=0)
        span = np.maximum(high - low, 1.0)
        box_corners = np.array([[low[0], low[1]], [high[0], low[1]], [high[0], high[1]], [low[0], high[1]]])
        if (np.abs(corners - box_corners) / span).max() < KEYSTONE:
            continue  # upright: the persistent-edge test covers it
        if not _flat_outside(still, grid_corners):
            continue
        outlines.append((area, CropBox.around(np.minimum(corners, [width, height]))))
        inner = _without_chrome(stack, grid_corners)
        if inner is not None:
            # Just inside the outline, so kept ahead of it: the picture without the player around it.
            outlines.append((area * (1 - 1e-6), CropBox.around(np.minimum(inner * scale, [width, height]))))
    boxes: list[CropBox] = []
    for _, box in sorted(outlines, key=lambda item: item[0]):
        # A line's two sides give two outlines of nearly one box: keep one.
        if all(_overlap(box, other) < 0.9 or abs(_area(box) - _area(other)) > 0.1 * _area(box) for other in boxes):
            boxes.append(box)
        if len(boxes) >= limit:
            break
    return boxes


def _area(box: CropBox) -> int:
    return box.width * box.height


def _overlap(a: CropBox, b: CropBox) -> float:
    x = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    y = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    return x * y / min(a.width * a.height, b.width * b.height)


def aspect_boxes(width: int, height: int) -> list[CropBox]:
    """The centred picture of the other orientation: a landscape 16:9 or 4:3 picture across a portrait
    frame, a portrait 9:16 picture in a landscape one.

    Short-video apps fit landscape footage on a 9:16 canvas over a blurred,
    enlarged copy of itself (and sites fit phone footage on 16:9 the same
    way): not a uniform bar, so :mod:`vidprov.borders` does not remove it.
    """
    boxes = []
    if height > 1.2 * width:
        for ratio in (9 / 16, 3 / 4):
            inner = int(round(width * ratio))
            boxes.append(CropBox(0, (height - inner) // 2, width, inner))
    elif width > 1.2 * height:
        inner = int(round(height * 9 / 16))
        boxes.append(CropBox((width - inner) // 2, 0, inner, height))
    return boxes


def find_windows(grids: Sequence[np.ndarray], size: tuple[int, int], limit: int = 4,
                 crop: CropBox | None = None) -> tuple[CropBox, ...]:
    """Windows footage may be playing in, from small luma frames of the whole picture.

    ``grids`` are frames shrunk to the same small size; ``size`` is the frame
    size in display pixels, the unit of the boxes returned. Windows framing
    most of ``crop`` (the picture hashed anyway) are left out.
    """
    if len(grids) < MIN_FRAMES:
        return ()
    shapes = {g.shape for g in grids}
    if len(shapes) != 1 or min(next(iter(shapes))) < MIN_GRID:
        return ()
    stack = np.stack(list(grids)).astype(np.float32)
    found: list[CropBox] = []

    def add(box: CropBox | None, same: float = 0.7) -> None:
        if box is None or (crop is not None and crop.contains_most_of(box)):
            return
        if all(_overlap(box, other) < same for other in found):
            found.append(box)

    for box in angled_windows(stack, size):
        add(box, same=1.01)  # outlines at an angle are already told apart
    add(motion_window(stack, size))
    for box in edge_windows(stack, size):
        add(box)
    width, height = size
    detected = list(found)
    for box in aspect_boxes(width, height):
        # Left out when a detected window frames the same picture (the 16:9 and 4:3 boxes both stay).
        if all(_overlap(box, other) * min(_area(box), _area(other)) < 0.9 * max(_area(box), _area(other))
               for other in detected):
            add(box, same=1.01)
    # Screen recordings mostly show the player near the middle, keystoned or
    # framed too irregularly for either test: the central two thirds stand in.
    add(CropBox(width // 6, height // 6, width - 2 * (width // 6), height - 2 * (height // 6)))
    return tuple(found[:limit])
