"""Footage inside other footage: picture-in-picture insets are found and matched."""

from __future__ import annotations

from pathlib import Path

import cv2

from vidprov import match, samples
from vidprov.fingerprint import fingerprint


def test_inset_is_found_and_matched(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    background = list(samples.render(samples.ClipSpec(samples.scenes(3, 3.0, seed=5), width=640, height=360)))
    inset = (360, 20, 256, 192)  # x, y, w, h: a corner of a news programme
    frames = []
    for (t, back), (_, front) in zip(background, samples.render(spec)):
        canvas = back.copy()
        x, y, w, h = inset
        canvas[y - 2:y + h + 2, x - 2:x + w + 2] = 255
        canvas[y:y + h, x:x + w] = cv2.resize(front, (w, h), interpolation=cv2.INTER_AREA)
        frames.append((t, canvas))
    composite = tmp_path / "pip.mp4"
    samples.write_frames(composite, frames, fps=25)
    query = fingerprint(composite, mirror=True, windows=True)
    assert query.windows, "no window found"
    box = query.windows[0]
    assert abs(box.x - inset[0]) <= 8 and abs(box.y - inset[1]) <= 8
    assert abs(box.width - inset[2]) <= 12 and abs(box.height - inset[3]) <= 12
    original = fingerprint(path)
    found = match.compare(query, original)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD and found.window == box
    whole_frame_only = match.compare(fingerprint(composite, mirror=True), original)
    assert whole_frame_only is None or whole_frame_only.score < match.DEFAULT_THRESHOLD
    assert all(len(f.windows) == len(query.windows) for f in query.frames)


def test_plain_footage_gets_only_the_central_window(footage: tuple[Path, samples.ClipSpec],
                                                    other_footage: Path) -> None:
    query = fingerprint(other_footage, mirror=True, windows=True)
    assert len(query.windows) <= 2
    assert match.compare(query, fingerprint(footage[0])) is None


def test_landscape_footage_on_a_blurred_portrait_canvas_matches(tmp_path: Path,
                                                                 footage: tuple[Path, samples.ClipSpec]) -> None:
    from vidprov.windows import aspect_boxes

    path, spec = footage
    width, height = 360, 640
    frames = []
    for t, front in samples.render(spec):
        # As short-video apps do: the picture across the middle, over an enlarged, blurred, darkened copy.
        back = cv2.GaussianBlur(cv2.resize(front, (width, height), interpolation=cv2.INTER_LINEAR), (0, 0), 18)
        canvas = (back * 0.6).astype("uint8")
        inner = round(width * spec.height / spec.width)
        top = (height - inner) // 2
        canvas[top:top + inner] = cv2.resize(front, (width, inner), interpolation=cv2.INTER_AREA)
        frames.append((t, canvas))
    padded = tmp_path / "vertical.mp4"
    samples.write_frames(padded, frames, fps=25)
    boxes = aspect_boxes(width, height)
    assert [(b.x, b.width) for b in boxes] == [(0, width)] * 2 and boxes[1].height == round(width * 3 / 4)
    query = match.fingerprint_query(padded)
    found = match.compare(query, fingerprint(path))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    assert found.window in boxes or (query.crop is not None and query.crop.height < 0.8 * height)
    assert aspect_boxes(640, 360)[0].width == round(360 * 9 / 16) and aspect_boxes(400, 380) == []


def test_screen_filmed_at_an_angle_is_straightened_and_matched(tmp_path: Path,
                                                                footage: tuple[Path, samples.ClipSpec]) -> None:
    import numpy as np

    path, spec = footage
    width, height = 640, 360
    # A dark monitor frame around the picture, the whole screen seen off-axis over a plain wall.
    monitor_w, monitor_h, rim = 460, 268, 14
    corners = np.float32([[128, 52], [532, 36], [548, 318], [104, 302]])  # the picture's corners
    homography = cv2.getPerspectiveTransform(
        np.float32([[0, 0], [monitor_w, 0], [monitor_w, monitor_h], [0, monitor_h]]),
        np.float32([[108, 34], [552, 16], [570, 336], [82, 322]]))
    inner = cv2.perspectiveTransform(np.float32([[[rim, rim], [monitor_w - rim, rim],
                                                  [monitor_w - rim, monitor_h - rim], [rim, monitor_h - rim]]]),
                                     homography)[0]
    assert np.abs(inner - corners).max() < 10  # the picture's corners, as set above
    wall = np.full((height, width, 3), 96, np.uint8)
    mask = cv2.warpPerspective(np.ones((monitor_h, monitor_w), np.uint8), homography, (width, height))[:, :, None]
    frames = []
    for t, front in samples.render(spec):
        screen = np.full((monitor_h, monitor_w, 3), 24, np.uint8)
        screen[rim:monitor_h - rim, rim:monitor_w - rim] = cv2.resize(front, (monitor_w - 2 * rim, monitor_h - 2 * rim),
                                                                      interpolation=cv2.INTER_AREA)
        warped = cv2.warpPerspective(screen, homography, (width, height))
        frames.append((t, np.where(mask > 0, warped, wall)))
    filmed = tmp_path / "filmed.mp4"
    samples.write_frames(filmed, frames, fps=25)

    query = match.fingerprint_query(filmed)
    angled = [box for box in query.windows if box.corners is not None]
    assert angled, f"no outline at an angle among {query.windows}"
    nearest = min(angled, key=lambda box: np.abs(np.float32(box.corners) - inner).max())
    assert np.abs(np.float32(nearest.corners) - inner).max() <= 12
    found = match.compare(query, fingerprint(path))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    assert found.window == nearest and found.query_coverage >= 0.8
    # Read back from JSON, the fingerprint keeps the corners.
    assert type(query).from_json(query.to_json()).windows == query.windows


def test_crop_box_corners_round_trip_and_are_checked() -> None:
    import pytest

    from vidprov.borders import CropBox
    from vidprov.errors import ValidationError

    box = CropBox.around([(10.4, 20), (110, 14.6), (120, 90), (4, 96)])
    assert (box.x, box.y, box.width, box.height) == (4, 15, 116, 81)
    assert box.corners == ((10, 20), (110, 15), (120, 90), (4, 96))
    assert CropBox.from_dict(box.to_dict()) == box and "corners" not in CropBox(0, 0, 4, 4).to_dict()
    assert "at an angle" in str(box)
    with pytest.raises(ValidationError, match="corners"):
        CropBox(0, 0, 10, 10, ((0, 0), (10, 0), (10, 10)))
    with pytest.raises(ValidationError, match="inside the box"):
        CropBox(0, 0, 10, 10, ((0, 0), (10, 0), (10, 10), (0, 30)))
    with pytest.raises(ValidationError, match="corners"):
        CropBox.from_dict({"x": 0, "y": 0, "width": 4, "height": 4, "corners": "0,0"})


def test_compilation_that_drops_its_opening_bars_still_matches(tmp_path: Path,
                                                               footage: tuple[Path, samples.ClipSpec]) -> None:
    import numpy as np

    path, spec = footage
    # Eight seconds of other footage pillarboxed into the frame, then the footage filling it:
    # the bars found at the start would cut the footage to a strip.
    opening = samples.ClipSpec(samples.scenes(2, 4.0, seed=23), width=120, height=240)
    frames = []
    for t, picture in samples.render(opening):
        canvas = np.zeros((spec.height, spec.width, 3), np.uint8)
        canvas[:, 100:220] = picture
        frames.append((t, canvas))
    frames += [(8.0 + t, picture) for t, picture in samples.render(spec)]
    compilation = tmp_path / "compilation.mp4"
    samples.write_frames(compilation, frames, fps=25)

    query = match.fingerprint_query(compilation)
    assert query.crop is not None and query.crop.width < 0.5 * spec.width
    assert query.windows[-1].is_full(spec.width, spec.height)
    found = match.compare(query, fingerprint(path))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    assert found.window == query.windows[-1]
    assert abs(found.segments[0].query_start - 8.0) <= 1.0 and found.reference_coverage >= 0.8


def test_outline_with_a_cut_off_corner_gets_its_corner_back() -> None:
    import numpy as np

    from vidprov.windows import _four_sided

    # A keystoned picture whose top-left corner fades into the dark: the outline cuts across it.
    cut = np.array([[205, 10], [211, 108], [42, 110], [42, 71], [69, 14]])
    corners = _four_sided(cut)
    assert corners is not None and len(corners) == 4
    restored = corners[np.argmin(corners.sum(axis=1))]
    assert abs(restored[0] - 42) < 1 and abs(restored[1] - 14.8) < 1  # where the left and top sides meet
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]])
    assert np.array_equal(_four_sided(square), square)
    pentagon = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 6)[:-1]]) * 50 + 60
    assert _four_sided(pentagon) is None  # five real sides: no corner was cut off


def test_frames_too_small_to_hold_a_window_give_none() -> None:
    import numpy as np

    from vidprov.windows import find_windows

    rng = np.random.default_rng(3)
    for rows, cols in ((1, 1), (2, 3), (12, 40)):
        grids = [rng.integers(0, 255, (rows, cols), dtype=np.uint8) for _ in range(8)]
        assert find_windows(grids, (cols * 4, rows * 4)) == ()
    grids = [rng.integers(0, 255, (64, 64), dtype=np.uint8) for _ in range(8)]
    assert find_windows(grids, (256, 256))  # the central two thirds, at least


def test_player_chrome_inside_an_outline_is_left_out(footage: tuple[Path, samples.ClipSpec]) -> None:
    import numpy as np

    from vidprov.windows import _without_chrome

    _, spec = footage
    rows, cols, title, bar = 100, 160, 12, 16
    stack = []
    for _, front in list(samples.render(spec))[:24]:
        window = np.zeros((rows, cols), np.uint8)  # the bar beside a picture narrower than the player
        window[:title] = 58
        cv2.putText(window, "clip.mp4", (20, 9), cv2.FONT_HERSHEY_SIMPLEX, 0.3, 220, 1, cv2.LINE_AA)
        picture = cv2.cvtColor(front, cv2.COLOR_RGB2GRAY)
        window[title:, :cols - bar] = cv2.resize(picture, (cols - bar, rows - title), interpolation=cv2.INTER_AREA)
        stack.append(window.astype(np.float32))
    corners = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], np.float64)
    inner = _without_chrome(np.stack(stack), corners)
    assert inner is not None
    expected = np.array([[0, title], [cols - bar, title], [cols - bar, rows], [0, rows]])
    assert np.abs(inner - expected).max() <= 2, inner.round(1).tolist()
    # The picture alone, moving right up to its edges, has no chrome to leave out.
    alone = np.stack([cv2.resize(cv2.cvtColor(front, cv2.COLOR_RGB2GRAY), (cols, rows)).astype(np.float32)
                      for _, front in list(samples.render(spec))[:24]])
    assert _without_chrome(alone, corners) is None
