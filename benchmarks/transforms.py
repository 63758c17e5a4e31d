"""Seeded video transforms that imitate how clips are re-uploaded.

Each transform decodes a clip with PyAV, changes its frames with NumPy and
OpenCV and encodes the result with libx264 through
:func:`vidprov.samples.write_frames`. Frames stream from decoder to encoder, so
memory stays flat whatever the clip's length. No ffmpeg binary is involved.

Every variant is drawn from a seed, and :func:`make_variant` records what was
drawn (the parameters) and where the source's footage lies on the variant's
timeline (the truth segments), in a JSON file beside the video::

    variant = make_variant("speed_1.25", "clip.mp4", "out/clip.speed.mp4", seed=7)
    variant.segments  # (Segment(0.0, 8.0, 0.0, 10.0),): 10 s of source in 8 s

Transforms that mix in other footage (a compilation, picture-in-picture) take
``fillers``: clips to borrow from. Their names land in ``Variant.contains``, so
a benchmark knows that the variant legitimately shows them too.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

Frames = Iterator[tuple[float, np.ndarray]]

#: Bump when a transform changes what it draws, so cached variants are rebuilt.
TRANSFORMS_VERSION = 2

#: Encoder settings for every variant unless a transform says otherwise.
#: ``veryfast`` keeps the full benchmark within its time budget; the quality
#: loss is what the CRF sets, much as an upload platform's encoder does.
DEFAULT_CRF = "28"
PRESET = "veryfast"

#: Output frame rates are capped here: nothing is gained by encoding 60 fps.
MAX_FPS = 30.0


# --------------------------------------------------------------------------- values

@dataclass(frozen=True)
class Segment:
    """Source footage from ``reference_start``..``reference_end`` appears at
    ``query_start``..``query_end`` of the variant (seconds)."""

    query_start: float
    query_end: float
    reference_start: float
    reference_end: float


@dataclass(frozen=True)
class ClipInfo:
    """What the container says about a clip's video stream."""

    width: int
    height: int
    fps: float
    duration: float


@dataclass(frozen=True)
class Variant:
    """One transformed copy of a source clip, with what was done to it."""

    transform: str
    family: str
    source: str
    path: str
    seed: int
    params: dict[str, Any]
    segments: tuple[Segment, ...]
    contains: tuple[str, ...] = ()
    version: int = TRANSFORMS_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["segments"] = [asdict(s) for s in self.segments]
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Variant:
        data = json.loads(text)
        data["segments"] = tuple(Segment(**s) for s in data["segments"])
        data["contains"] = tuple(data.get("contains", ()))
        return cls(**data)


@dataclass
class Result:
    """What a transform function hands back: drawn parameters and the truth."""

    params: dict[str, Any]
    segments: tuple[Segment, ...]
    contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transform:
    name: str
    family: str
    apply: Callable[[Path, Path, np.random.Generator, Sequence[Path]], Result]
    fillers: int = 0  # how many other clips it borrows footage from
    doc: str = field(default="", compare=False)


# --------------------------------------------------------------------------- decoding and encoding

def probe(path: str | os.PathLike[str]) -> ClipInfo:
    import av

    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        return ClipInfo(stream.codec_context.width, stream.codec_context.height, float(rate), duration)


def read_frames(path: str | os.PathLike[str]) -> Frames:
    """``(time, rgb)`` for each decoded frame, times counted from the first frame."""
    import av

    container = av.open(os.fspath(path))
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first: float | None = None
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            if first is None:
                first = frame.time
            yield frame.time - first, frame.to_ndarray(format="rgb24")
    finally:
        container.close()


def output_fps(info: ClipInfo) -> float:
    fps = info.fps if info.fps and math.isfinite(info.fps) else 25.0
    return round(min(fps, MAX_FPS), 3)


def retime(frames: Iterable[tuple[float, np.ndarray]], fps: float, *, speed: float = 1.0, start: float = 0.0,
           end: float = math.inf, count: int | None = None) -> Frames:
    """Resample to a constant ``fps``: output frame ``k`` (at ``k / fps``) shows the
    source frame on screen at ``start + k * speed / fps``.

    Frames are dropped or repeated as needed, so the output's timestamps stay
    regular whatever the source did. ``end`` (source time) and ``count`` stop early.
    """
    step = speed / fps
    k = 0
    held: np.ndarray | None = None
    last: float | None = None
    interval = 1.0 / fps

    def target(number: int) -> float:
        return start + number * step

    def more() -> bool:
        return (count is None or k < count) and target(k) < end - 1e-9

    for t, image in frames:
        if held is None:
            held = image
        while more() and target(k) < t - 1e-6:
            yield k / fps, held
            k += 1
        if not more():
            return
        if last is not None and t > last:
            interval = t - last
        held, last = image, t
    if held is None or last is None:
        return
    stop = min(end, last + interval)
    while (count is None or k < count) and target(k) < stop - 1e-6:
        yield k / fps, held
        k += 1


def encode(path: Path, frames: Frames, fps: float, crf: str = DEFAULT_CRF) -> None:
    from vidprov.samples import write_frames

    path.parent.mkdir(parents=True, exist_ok=True)
    write_frames(path, frames, fps=fps, options={"crf": crf, "preset": PRESET})


def mapped(frames: Frames, function: Callable[[np.ndarray], np.ndarray]) -> Frames:
    for t, image in frames:
        yield t, function(image)


def even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def whole_clip(info: ClipInfo, speed: float = 1.0) -> tuple[Segment, ...]:
    return (Segment(0.0, round(info.duration / speed, 3), 0.0, round(info.duration, 3)),)


def fit(image: np.ndarray, width: int, height: int, background: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """``image`` scaled to fit inside ``width`` x ``height``, centred on a flat background."""
    import cv2

    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = background
    x, y = (width - nw) // 2, (height - nh) // 2
    canvas[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fill ``width`` x ``height``, the overflow cut off evenly."""
    import cv2

    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, int(math.ceil(w * scale))), max(height, int(math.ceil(h * scale)))
    big = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    x, y = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(big[y:y + height, x:x + width])


def generated_footage(width: int, height: int, fps: float, seconds: float, seed: int) -> Frames:
    """Textured, moving synthetic footage (no corpus clip shows it)."""
    from vidprov import samples

    shots = samples.scenes(max(1, int(math.ceil(seconds / 3.0))), 3.0, seed=seed)
    spec = samples.ClipSpec(shots, width=width, height=height, fps=fps)
    count = int(round(seconds * fps))
    for number, (t, image) in enumerate(samples.render(spec)):
        if number >= count:
            return
        yield t, image


def looped(path: Path, fps: float, start: float = 0.0) -> Frames:
    """``path`` resampled to ``fps`` from ``start``, starting over whenever it ends."""
    offset = 0.0
    begin = start
    while True:
        produced = 0
        for t, image in retime(read_frames(path), fps, start=begin):
            produced += 1
            yield offset + t, image
        if produced == 0:
            return
        offset += produced / fps
        begin = 0.0


# --------------------------------------------------------------------------- single-clip transforms

def _plain(src: Path, dst: Path, function: Callable[[np.ndarray], np.ndarray], params: dict[str, Any],
           crf: str = DEFAULT_CRF) -> Result:
    info = probe(src)
    fps = output_fps(info)
    encode(dst, mapped(retime(read_frames(src), fps), function), fps, crf)
    return Result(dict(params, fps=fps, crf=crf), whole_clip(info))


def reencode_half(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    import cv2

    info = probe(src)
    scale = 0.5
    width, height = even(info.width * scale), even(info.height * scale)
    return _plain(src, dst, lambda im: cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA),
                  {"scale": scale, "width": width, "height": height}, crf="30")


def letterbox_black(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    info = probe(src)
    share = float(rng.uniform(0.10, 0.20))
    bar = even(info.height * share)

    def apply(image: np.ndarray) -> np.ndarray:
        return np.pad(image, ((bar, bar), (0, 0), (0, 0)))

    return _plain(src, dst, apply, {"bar": bar, "colour": [0, 0, 0]})


def pillarbox_colour(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    info = probe(src)
    share = float(rng.uniform(0.10, 0.20))
    bar = even(info.width * share)
    colour = [int(c) for c in rng.integers(0, 256, 3)]

    def apply(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        out = np.empty((h, w + 2 * bar, 3), np.uint8)
        out[:] = colour
        out[:, bar:bar + w] = image
        return out

    return _plain(src, dst, apply, {"bar": bar, "colour": colour})


def crop_9x16(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """A vertical 9:16 window cut from the picture, as short-video apps do."""
    info = probe(src)
    if info.width / info.height > 9 / 16:
        width, height = even(info.height * 9 / 16), info.height - info.height % 2
    else:
        width, height = info.width - info.width % 2, even(info.width * 16 / 9)
    spare_x, spare_y = info.width - width, info.height - height
    # Somewhere in the middle third of the slack: reframing follows the subject.
    x = int(round(spare_x * rng.uniform(1 / 3, 2 / 3)))
    y = int(round(spare_y * rng.uniform(1 / 3, 2 / 3)))
    return _plain(src, dst, lambda im: np.ascontiguousarray(im[y:y + height, x:x + width]),
                  {"x": x, "y": y, "width": width, "height": height})


def pad_9x16_blur(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """The whole picture on a 9:16 canvas whose bars are a blurred, enlarged copy of it."""
    import cv2

    info = probe(src)
    height = even(min(1280, max(info.width, info.height)))
    width = even(height * 9 / 16)
    sigma = float(rng.uniform(12, 24))
    darken = float(rng.uniform(0.5, 0.8))

    def apply(image: np.ndarray) -> np.ndarray:
        small = cover(image, width // 4, height // 4)  # blur at quarter size, then enlarge: cheap and smooth
        background = cv2.GaussianBlur(small, (0, 0), sigma / 4)
        background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
        background = (background.astype(np.float32) * darken).astype(np.uint8)
        h, w = image.shape[:2]
        scale = min(width / w, height / h)
        nw, nh = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
        x, y = (width - nw) // 2, (height - nh) // 2
        background[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        return background

    return _plain(src, dst, apply, {"width": width, "height": height, "sigma": sigma, "darken": darken})


def crop_10pct(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """Keep 90% of the width and of the height, the window placed at random."""
    info = probe(src)
    width, height = even(info.width * 0.9), even(info.height * 0.9)
    x = int(rng.integers(0, info.width - width + 1))
    y = int(rng.integers(0, info.height - height + 1))
    return _plain(src, dst, lambda im: np.ascontiguousarray(im[y:y + height, x:x + width]),
                  {"x": x, "y": y, "width": width, "height": height, "share": 0.9})


def _logo(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A broadcaster-style badge: picture and alpha mask, ``size`` pixels wide."""
    import cv2

    height = max(8, size // 3)
    picture = np.zeros((height, size, 3), np.uint8)
    mask = np.full((height, size), 255, np.uint8)
    picture[:] = tuple(int(c) for c in rng.integers(60, 256, 3))
    cv2.circle(picture, (height // 2, height // 2), max(2, height // 3), (255, 255, 255), -1)
    room = size - height - max(2, height // 4)
    (text_width, _), _ = cv2.getTextSize("NEWS", cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)
    scale = room / text_width
    cv2.putText(picture, "NEWS", (height, int(height * 0.72)), cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255),
                max(1, int(round(scale * 2))), cv2.LINE_AA)
    return picture, mask


def logo(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    info = probe(src)
    size = even(info.width * rng.uniform(0.15, 0.25))
    alpha = float(rng.uniform(0.5, 0.8))
    corner = str(rng.choice(["top-left", "top-right", "bottom-left", "bottom-right"]))
    picture, mask = _logo(size, rng)
    h, w = mask.shape
    margin = even(info.width * 0.03)
    x = margin if "left" in corner else info.width - w - margin
    y = margin if "top" in corner else info.height - h - margin
    weight = (mask.astype(np.float32) / 255 * alpha)[:, :, None]

    def apply(image: np.ndarray) -> np.ndarray:
        out = image.copy()
        region = out[y:y + h, x:x + w].astype(np.float32)
        out[y:y + h, x:x + w] = (region * (1 - weight) + picture * weight).astype(np.uint8)
        return out

    return _plain(src, dst, apply, {"size": size, "alpha": alpha, "corner": corner, "x": x, "y": y})


SUBTITLES = ("They said it happened this morning", "Look at the crowd on the left", "Nobody expected this",
             "Share before it is deleted", "Filmed by a witness", "This is the full video")


def text_subtitles(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """A solid caption banner on top and subtitles that change every couple of seconds."""
    import cv2

    info = probe(src)
    fps = output_fps(info)
    banner = even(info.height * rng.uniform(0.08, 0.12))
    headline = str(rng.choice(["BREAKING", "WATCH", "VIRAL", "EXCLUSIVE"]))
    banner_colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    scale = info.height / 480
    period = float(rng.uniform(1.5, 3.0))
    order = [int(i) for i in rng.permutation(len(SUBTITLES))]

    def apply(t: float, image: np.ndarray) -> np.ndarray:
        out = image.copy()
        cv2.rectangle(out, (0, 0), (out.shape[1], banner), banner_colour, -1)
        cv2.putText(out, headline, (banner // 3, int(banner * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.9,
                    (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
        text = SUBTITLES[order[int(t / period) % len(order)]]
        y = int(out.shape[0] * 0.9)
        for colour, thickness in (((0, 0, 0), max(2, int(5 * scale))), ((255, 255, 255), max(1, int(2 * scale)))):
            cv2.putText(out, text, (int(out.shape[1] * 0.05), y), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, colour,
                        thickness, cv2.LINE_AA)
        return out

    frames = ((t, apply(t, image)) for t, image in retime(read_frames(src), fps))
    encode(dst, frames, fps)
    return Result({"banner": banner, "headline": headline, "period": period, "order": order, "fps": fps,
                   "crf": DEFAULT_CRF}, whole_clip(info))


def mirror(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    return _plain(src, dst, lambda im: np.ascontiguousarray(im[:, ::-1]), {})


def grayscale(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    import cv2

    def apply(image: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)

    return _plain(src, dst, apply, {})


#: The usual sepia matrix (rows give output R, G, B from input R, G, B).
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)


def sepia(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    strength = float(rng.uniform(0.7, 1.0))
    matrix = strength * SEPIA + (1 - strength) * np.eye(3, dtype=np.float32)

    def apply(image: np.ndarray) -> np.ndarray:
        return np.clip(image.astype(np.float32) @ matrix.T, 0, 255).astype(np.uint8)

    return _plain(src, dst, apply, {"strength": strength})


def gamma(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """Gamma darker or lighter, plus a brightness shift."""
    value = float(rng.uniform(0.5, 0.7)) if rng.random() < 0.5 else float(rng.uniform(1.5, 2.0))
    shift = int(rng.integers(-30, 31))
    table = np.clip(255.0 * (np.arange(256) / 255.0) ** value + shift, 0, 255).astype(np.uint8)
    return _plain(src, dst, lambda im: table[im], {"gamma": value, "brightness": shift})


def contrast_saturation(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    import cv2

    contrast = float(rng.uniform(1.2, 1.5))
    saturation = float(rng.uniform(1.4, 1.8)) if rng.random() < 0.5 else float(rng.uniform(0.3, 0.6))

    def apply(image: np.ndarray) -> np.ndarray:
        x = image.astype(np.float32)
        x = (x - 128.0) * contrast + 128.0
        gray = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)[:, :, None]
        x = gray + (x - gray) * saturation
        return np.clip(x, 0, 255).astype(np.uint8)

    return _plain(src, dst, apply, {"contrast": contrast, "saturation": saturation})


def _frame_rate(target: float) -> Callable[[Path, Path, np.random.Generator, Sequence[Path]], Result]:
    def change(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
        info = probe(src)
        encode(dst, retime(read_frames(src), target), target)
        return Result({"fps": target, "source_fps": info.fps, "crf": DEFAULT_CRF}, whole_clip(info))

    change.__doc__ = f"Frames dropped or repeated to {target:g} fps; timestamps stay regular."
    return change


def _speed(factor: float) -> Callable[[Path, Path, np.random.Generator, Sequence[Path]], Result]:
    def change(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
        info = probe(src)
        fps = output_fps(info)
        encode(dst, retime(read_frames(src), fps, speed=factor), fps)
        return Result({"speed": factor, "fps": fps, "crf": DEFAULT_CRF}, whole_clip(info, factor))

    change.__doc__ = f"Played at {factor:g}x: a source second lasts {1 / factor:g} s."
    return change


def trim_60pct(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """Cut the start and the end, keeping about 60% of the clip."""
    info = probe(src)
    fps = output_fps(info)
    keep = float(rng.uniform(0.55, 0.65))
    count = max(1, int(round(info.duration * keep * fps)))
    start = round(float(rng.uniform(0.0, 1.0)) * max(0.0, info.duration - count / fps), 3)
    produced = _encode_counted(dst, retime(read_frames(src), fps, start=start, count=count), fps)
    length = produced / fps
    return Result({"start": start, "keep": keep, "fps": fps, "crf": DEFAULT_CRF},
                  (Segment(0.0, round(length, 3), start, round(start + length, 3)),))


def _encode_counted(dst: Path, frames: Frames, fps: float, crf: str = DEFAULT_CRF) -> int:
    produced = 0

    def counted() -> Frames:
        nonlocal produced
        for item in frames:
            produced += 1
            yield item

    encode(dst, counted(), fps, crf)
    return produced


# --------------------------------------------------------------------------- multi-clip transforms

#: Frame size and rate of compilations and picture-in-picture.
MIX_CANVAS = (640, 360, 25.0)

#: Length range in seconds of each filler part of a compilation.
FILLER_SECONDS = (4.0, 8.0)

#: Frame size and rate of screen recordings: what a phone or capture tool writes.
SCREEN_CANVAS = (960, 540, 24.0)


def compilation(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """The clip as the middle part of a compilation (``MIX_CANVAS``): a part of another
    clip (``fillers[0]``) and generated footage around it, in random order, hard cuts."""
    width, height, fps = MIX_CANVAS
    info = probe(src)
    keep = float(rng.uniform(0.5, 1.0))
    length = min(info.duration * keep, 40.0)
    count = max(1, int(length * fps))
    start = round(float(rng.uniform(0.0, 1.0)) * max(0.0, info.duration - count / fps), 3)
    filler = fillers[0]
    filler_info = probe(filler)
    filler_count = int(float(rng.uniform(*FILLER_SECONDS)) * fps)
    filler_start = round(float(rng.uniform(0.0, 1.0)) * max(0.0, filler_info.duration - filler_count / fps), 3)
    generated_count = int(float(rng.uniform(*FILLER_SECONDS)) * fps)
    generated_seed = int(rng.integers(1 << 30))
    filler_first = bool(rng.random() < 0.5)

    counts: dict[str, int] = {}

    def part(name: str, frames: Frames) -> Frames:
        counts[name] = 0
        for t, image in frames:
            counts[name] += 1
            yield t, image

    def pieces() -> Iterator[tuple[str, Callable[[], Frames]]]:
        other = ("other", lambda: retime(read_frames(filler), fps, start=filler_start, count=filler_count))
        made = ("generated", lambda: generated_footage(width, height, fps, generated_count / fps, generated_seed))
        yield other if filler_first else made
        yield "source", lambda: retime(read_frames(src), fps, start=start, count=count)
        yield made if filler_first else other

    def timeline() -> Frames:
        number = 0
        for name, frames in pieces():
            for _, image in part(name, frames()):
                yield number / fps, fit(image, width, height)
                number += 1

    encode(dst, timeline(), fps)
    before = counts["other" if filler_first else "generated"] / fps
    source_length = counts["source"] / fps
    params = {"width": width, "height": height, "fps": fps, "order": "other,source,generated" if filler_first
              else "generated,source,other", "filler": Path(filler).name, "filler_start": filler_start,
              "filler_seconds": counts["other"] / fps, "generated_seconds": counts["generated"] / fps,
              "generated_seed": generated_seed, "source_start": start, "crf": DEFAULT_CRF}
    segment = Segment(round(before, 3), round(before + source_length, 3), start, round(start + source_length, 3))
    return Result(params, (segment,), (Path(filler).name,))


def pip(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """The clip shrunk to 40-50% of the frame, in a corner of another clip (``fillers[0]``)."""
    import cv2

    width, height, fps = MIX_CANVAS
    info = probe(src)
    share = float(rng.uniform(0.40, 0.50))
    corner = str(rng.choice(["top-left", "top-right", "bottom-left", "bottom-right"]))
    scale = min(width * share / info.width, height * share / info.height)
    if info.height > info.width:  # portrait insets get the height of the box, not the width
        scale = height * min(0.8, share * 1.6) / info.height
    w, h = even(info.width * scale), even(info.height * scale)
    margin, border = even(width * 0.025), 2
    x = margin if "left" in corner else width - w - margin
    y = margin if "top" in corner else height - h - margin
    background = fillers[0]
    background_start = round(float(rng.uniform(0.0, max(0.0, probe(background).duration - 1.0))), 3)
    count = max(1, int(round(info.duration * fps)))

    def frames() -> Frames:
        behind = looped(Path(background), fps, background_start)
        for (t, image), (_, back) in zip(retime(read_frames(src), fps, count=count), behind):
            canvas = cover(back, width, height)
            canvas[y - border:y + h + border, x - border:x + w + border] = 255
            canvas[y:y + h, x:x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            yield t, canvas

    encode(dst, frames(), fps)
    params = {"width": width, "height": height, "fps": fps, "inset": [x, y, w, h], "share": share,
              "corner": corner, "background": Path(background).name, "background_start": background_start,
              "crf": DEFAULT_CRF}
    return Result(params, whole_clip(info), (Path(background).name,))


def _player(width: int, height: int, title: str) -> np.ndarray:
    """A dark video-player window: title bar, black video area, control bar."""
    import cv2

    window = np.full((height, width, 3), 32, np.uint8)
    cv2.rectangle(window, (0, 0), (width, 28), (58, 58, 62), -1)
    for number, colour in enumerate(((236, 95, 86), (245, 190, 80), (98, 197, 84))):
        cv2.circle(window, (16 + 20 * number, 14), 6, colour, -1)
    cv2.putText(window, title, (90, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (220, 220, 220), 1, cv2.LINE_AA)
    cv2.rectangle(window, (0, height - 44), (width, height), (20, 20, 22), -1)
    cv2.fillPoly(window, [np.array([[14, height - 32], [14, height - 12], [30, height - 22]], np.int32)],
                 (235, 235, 235))
    return window


def screen_recording(src: Path, dst: Path, rng: np.random.Generator, fillers: Sequence[Path]) -> Result:
    """The clip playing in a player window on a monitor, filmed or screen-captured
    at another size and rate: keystone perspective, mild blur, moire and noise."""
    import cv2

    width, height, fps = SCREEN_CANVAS
    info = probe(src)
    screen_w, screen_h = 800, 470
    video_box = (8, 32, screen_w - 16, screen_h - 32 - 48)  # x, y, w, h inside the player
    title = str(rng.choice(["clip_final.mp4 - Player", "VID_2291.mp4", "Watch later - Video", "recording (2).mp4"]))
    player = _player(screen_w, screen_h, title)
    # Monitor bezel around the screen, then a random keystone of the whole monitor.
    bezel = 18
    monitor = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel, 3), 18, np.uint8)
    mh, mw = monitor.shape[:2]
    fill = 0.82
    dst_w, dst_h = width * fill, width * fill * mh / mw
    if dst_h > height * 0.92:
        dst_h = height * 0.92
        dst_w = dst_h * mw / mh
    left, top = (width - dst_w) / 2, (height - dst_h) / 2
    jitter = rng.uniform(-0.05, 0.05, (4, 2)) * np.array([dst_w, dst_h])
    corners = np.array([[left, top], [left + dst_w, top], [left + dst_w, top + dst_h], [left, top + dst_h]])
    quad = (corners + jitter).astype(np.float32)
    source_quad = np.array([[0, 0], [mw, 0], [mw, mh], [0, mh]], np.float32)
    homography = cv2.getPerspectiveTransform(source_quad, quad)
    blur = float(rng.uniform(0.6, 1.2))
    moire_period = float(rng.uniform(3.0, 6.0))
    moire_angle = float(rng.uniform(0, math.pi))
    moire_amplitude = float(rng.uniform(4.0, 10.0))
    noise = float(rng.uniform(1.5, 4.0))
    gain = float(rng.uniform(0.85, 1.1))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = (xx * math.cos(moire_angle) + yy * math.sin(moire_angle)) * (2 * math.pi / moire_period)
    # The beat of the pixel grid against the camera's sensor: a fine stripe, slowly modulated.
    moire = (moire_amplitude * np.sin(phase) * (0.6 + 0.4 * np.sin(xx / 97.0 + yy / 61.0)))[:, :, None]
    room = np.zeros((height, width, 3), np.float32)
    room[:] = np.linspace(40, 70, height, dtype=np.float32)[:, None, None] * np.array([1.0, 0.95, 0.9], np.float32)
    count = max(1, int(round(info.duration * fps)))
    vx, vy, vw, vh = video_box
    mask = cv2.warpPerspective(np.ones((mh, mw), np.float32), homography, (width, height))[:, :, None]
    backdrop = np.ascontiguousarray(room * (1 - mask))
    # Sensor noise from a small bank of fields, cycled: drawing fresh noise per frame costs more than the rest.
    noise_rng = np.random.default_rng(int(rng.integers(1 << 30)))
    grain = [np.ascontiguousarray(moire * mask + noise_rng.standard_normal((height, width, 3), np.float32) * noise)
             for _ in range(7)]

    def frames() -> Frames:
        for number, (t, image) in enumerate(retime(read_frames(src), fps, count=count)):
            screen = player.copy()
            screen[vy:vy + vh, vx:vx + vw] = fit(image, vw, vh)
            progress = int(12 + (screen_w - 80) * min(1.0, (number + 1) / count))
            cv2.line(screen, (40, screen_h - 22), (screen_w - 40, screen_h - 22), (90, 90, 90), 3)
            cv2.line(screen, (40, screen_h - 22), (progress + 28, screen_h - 22), (230, 40, 40), 3)
            framed = monitor.copy()
            framed[bezel:bezel + screen_h, bezel:bezel + screen_w] = screen
            warped = cv2.warpPerspective(framed, homography, (width, height), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
            picture = cv2.GaussianBlur(cv2.add(warped.astype(np.float32), backdrop), (0, 0), blur)
            picture = cv2.addWeighted(picture, gain, grain[number % len(grain)], 1.0, 0.0)
            yield t, np.clip(picture, 0, 255, out=picture).astype(np.uint8)

    encode(dst, frames(), fps)
    params = {"width": width, "height": height, "fps": fps, "title": title, "quad": quad.round(1).tolist(),
              "blur": blur, "moire_period": moire_period, "moire_angle": moire_angle,
              "moire_amplitude": moire_amplitude, "noise": noise, "gain": gain, "crf": DEFAULT_CRF}
    return Result(params, whole_clip(info))


# --------------------------------------------------------------------------- registry

def _entry(name: str, family: str, function: Callable[[Path, Path, np.random.Generator, Sequence[Path]], Result],
           fillers: int = 0) -> Transform:
    return Transform(name, family, function, fillers, (function.__doc__ or "").strip().split("\n")[0])


TRANSFORMS: dict[str, Transform] = {t.name: t for t in (
    _entry("reencode_half", "re-encode", reencode_half),
    _entry("letterbox_black", "bars", letterbox_black),
    _entry("pillarbox_colour", "bars", pillarbox_colour),
    _entry("crop_9x16", "bars", crop_9x16),
    _entry("pad_9x16_blur", "bars", pad_9x16_blur),
    _entry("crop_10pct", "crop", crop_10pct),
    _entry("logo", "overlay", logo),
    _entry("text_subtitles", "overlay", text_subtitles),
    _entry("mirror", "mirror", mirror),
    _entry("grayscale", "colour", grayscale),
    _entry("sepia", "colour", sepia),
    _entry("gamma", "colour", gamma),
    _entry("contrast_saturation", "colour", contrast_saturation),
    _entry("fps_24", "frame rate", _frame_rate(24.0)),
    _entry("fps_15", "frame rate", _frame_rate(15.0)),
    _entry("speed_0.8", "speed", _speed(0.8)),
    _entry("speed_1.25", "speed", _speed(1.25)),
    _entry("trim_60pct", "trim", trim_60pct),
    _entry("compilation", "compilation", compilation, fillers=1),
    _entry("pip", "picture-in-picture", pip, fillers=1),
    _entry("screen_recording", "screen recording", screen_recording),
)}


def variant_seed(seed: int, source: str | os.PathLike[str], transform: str) -> np.random.Generator:
    """The generator for one (seed, source, transform): stable across runs and machines."""
    name = Path(source).name.encode()
    return np.random.default_rng([seed, zlib.crc32(name), zlib.crc32(transform.encode())])


def make_variant(transform: str, source: str | os.PathLike[str], path: str | os.PathLike[str], *, seed: int = 0,
                 fillers: Sequence[str | os.PathLike[str]] = ()) -> Variant:
    """Apply ``transform`` to ``source``, writing ``path`` and ``path`` + ``.json``.

    The video is written under a temporary name and renamed when complete, so
    an interrupted run never leaves a half-written variant behind.
    """
    entry = TRANSFORMS[transform]
    if len(fillers) < entry.fillers:
        raise ValueError(f"{transform} needs {entry.fillers} filler clip(s), got {len(fillers)}")
    src, dst = Path(source), Path(path)
    partial = dst.with_name(dst.stem + ".partial" + dst.suffix)
    result = entry.apply(src, partial, variant_seed(seed, src, transform), [Path(f) for f in fillers])
    variant = Variant(transform, entry.family, src.name, dst.name, seed, result.params, result.segments,
                      result.contains)
    os.replace(partial, dst)
    sidecar(dst).write_text(variant.to_json())
    return variant


def sidecar(path: str | os.PathLike[str]) -> Path:
    return Path(os.fspath(path) + ".json")


def load_variant(path: str | os.PathLike[str]) -> Variant | None:
    """The recorded variant at ``path``, or None when missing or made by older transforms."""
    meta = sidecar(path)
    if not Path(path).is_file() or not meta.is_file():
        return None
    try:
        variant = Variant.from_json(meta.read_text())
    except (ValueError, TypeError, KeyError):
        return None
    return variant if variant.version == TRANSFORMS_VERSION else None
