"""Fingerprints: the timestamped perceptual hashes of a clip, as one immutable value.

:func:`fingerprint` runs the pipeline: decode (:mod:`vidprov.media`), find the
active picture (:mod:`vidprov.borders`), hash each sampled frame
(:mod:`vidprov.hashing`). :func:`hashed_frames` exposes the same stream frame
by frame, for consumers such as keyframe selection.

A :class:`Fingerprint` has a stable JSON form (:meth:`Fingerprint.to_json`)
that round-trips exactly, and PDQ fingerprints also export in the text format
of Meta's vPDQ (:meth:`Fingerprint.to_vpdq`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import numpy as np

from .borders import BorderDetector, CropBox, cut_grid
from .errors import FileAccessError, FormatError, ValidationError
from .hashing import DEFAULT_ALGORITHM, HASH_INPUT_SIZE, ALGORITHMS, FrameHash, Hasher, get_hasher
from .media import Decoder, Sampling, VideoInfo, halved, next_tick, open_file

#: Version of the fingerprint's serialized form.
SCHEMA_VERSION = 1

#: Frames are first shrunk by whole factors to between this and twice this per
#: side; the crop is cut from that. Twice the hash input keeps detail when the
#: active picture is a small part of the frame.
GRID_SIZE = 2 * HASH_INPUT_SIZE

#: Sampled frames held back while the border is being found (64 KB at most each).
MAX_PENDING = 128

#: Hash inputs collected before hashing them together (64 x 4 KB).
HASH_BATCH = 32

#: How frames are sampled when nothing is said: two per second.
DEFAULT_SAMPLING = Sampling.every(0.5)
#: The fewest frames a clip is sampled at for the index (``min_frames``): a clip shorter than 16 s
#: is sampled more often than two a second, or a trimmed copy of it, or one that fades out, would
#: share too few indexed frames with it to match ...
INDEX_MIN_FRAMES = 32
#: ... but never more often than eight a second, as query clips are, and at a whole number of eighths
#: of a second.
DENSEST_INTERVAL = 0.125

#: Ways to feed frames to the hash: ``gray64`` is vidprov's fast default;
#: ``native`` and ``rgb128`` reproduce Meta's vPDQ exactly (full-size RGB frames,
#: or frames downsampled to 128x128), and so never crop.
HASH_INPUTS = ("gray64", "native", "rgb128")

#: The inner picture an indexed frame is hashed a second time for: the middle
#: of the active picture, this share of it along each side (a tenth in from
#: every edge). A copy cropped by up to a tenth of the width and of the
#: height, however placed, still holds all of it.
INNER_SHARE = 0.8
#: What a query's inner views assume: a copy keeping this share of the
#: source's width and height (a 10% crop) ...
CROPPED_SHARE = 0.9
#: ... placed anywhere, tried at this many steps along each axis (16 views):
#: the nearest is then at most 1/24 of the inner picture off.
INNER_VIEW_STEPS = 4

#: Landscape footage cut to 9:16 for short-video apps keeps under a third of its width (81/256 of a
#: 16:9 picture), placed where the subject is: no inner picture is in every such window. So the
#: index also keeps hashes of two *strips* of a 16:9 active picture, each this share of its width and
#: all of its height ...
STRIP_SHARE = 3 / 16
#: ... beginning this share of the way across (11/32 and 15/32, either side of the middle): a 9:16
#: window whose left edge lies anywhere from 0.216 to 0.469 of the width holds one of them whole
#: (from the middle third of the places a window may be, 0.228 to 0.456).
STRIP_LEFTS = (11 / 32, 15 / 32)
#: Active pictures with a width-to-height ratio in this range (16:9, give or take) get strips ...
STRIP_ASPECTS = (1.6, 2.0)
#: ... on one indexed frame in this many (every 2 s at two frames a second): a window is cut the same
#: way throughout, so a few frames find it ...
STRIP_EVERY = 4
#: ... or in this many for a clip the index samples more densely than :data:`DEFAULT_SAMPLING` (one
#: shorter than 16 s, every 0.25 s for a 4 s clip): a window of a short clip, or of one that fades
#: out, has only a second or two of usable frames to show.
SHORT_STRIP_EVERY = 2
#: A query's strip views assume a window cut from a 16:9 picture as tall as the query's own, so
#: that a strip is STRIP_SHARE * 16/9 (a third) of the query's height wide; queries with a
#: width-to-height ratio in this range (portrait) get them ...
STRIP_SOURCE_ASPECT = 16 / 9
STRIP_VIEW_ASPECTS = (0.34, 0.85)
#: ... at this many places across, the nearest at most 1.5% of a strip's width off for a 9:16 query.
STRIP_VIEW_STEPS = 24
#: A strip's hash input is cut from the active picture shrunk to this width (a strip is then 60
#: pixels wide, beginning on a whole pixel) and 64 high; a strip view's from the query's picture
#: shrunk so that a view is 3 x 64 pixels wide.
STRIP_BASE_WIDTH = 320


def index_sampling(duration: float | None, sampling: Sampling = DEFAULT_SAMPLING,
                   min_frames: int = INDEX_MIN_FRAMES) -> Sampling:
    """``sampling``, made denser for a clip of ``duration`` seconds so that it gives at least
    ``min_frames`` frames, though never denser than :data:`DENSEST_INTERVAL` (or ``sampling``).

    Sampling that is not ``every N s``, and a clip whose duration is not known, are left as they are.
    """
    if min_frames < 1:
        raise ValidationError("min_frames", min_frames, "a positive number of frames")
    if sampling.mode != "every" or not duration or not math.isfinite(duration):
        return sampling
    # A whole number of the densest intervals (rounded down, so that the clip gives min_frames): a query,
    # sampled at the densest, then holds exactly the frames an index fingerprint of it does.
    interval = DENSEST_INTERVAL * max(1, math.floor(duration / min_frames / DENSEST_INTERVAL + 1e-9))
    return Sampling.every(interval) if interval < sampling.interval - 1e-9 else sampling


def strip_every(indexed: Sampling) -> int:
    """On one frame in how many of those an index fingerprint sampled ``indexed`` (:func:`index_sampling`)
    keeps strips: :data:`STRIP_EVERY`, or :data:`SHORT_STRIP_EVERY` for a short clip."""
    dense = indexed.mode == "every" and indexed.interval < DEFAULT_SAMPLING.interval - 1e-9
    return SHORT_STRIP_EVERY if dense else STRIP_EVERY


def _inner_view_offsets(size: int) -> list[int]:
    """Where, in the active picture shrunk to ``size`` pixels a side, each step's view begins."""
    view = int(round(size * INNER_SHARE / CROPPED_SHARE))
    return [int(round(step * (size - view))) for step in np.linspace(0.0, 1.0, INNER_VIEW_STEPS)]


#: The active picture is shrunk to this many pixels a side for its inner picture's hash input (the
#: middle 64), and to the next (times :data:`VIEW_SCALE`) for its inner views': one resize a frame
#: for all sixteen, instead of one per view.
INNER_SIZE = int(round(HASH_INPUT_SIZE / INNER_SHARE))
INNER_VIEWS_SIZE = int(round(HASH_INPUT_SIZE * CROPPED_SHARE / INNER_SHARE))
#: Inner views are cut at this many times :data:`INNER_VIEWS_SIZE`, where every view begins on a whole
#: pixel, then shrunk by that whole factor.
VIEW_SCALE = 3


def strip_boxes(crop: CropBox) -> tuple[CropBox, ...]:
    """The strips of an active picture the index keeps hashes of (:data:`STRIP_LEFTS`), or none when the
    picture is not 16:9-ish landscape (:data:`STRIP_ASPECTS`)."""
    low, high = STRIP_ASPECTS
    if not low <= crop.width / crop.height <= high:
        return ()
    width = max(1, int(round(crop.width * STRIP_SHARE)))
    return tuple(CropBox(crop.x + int(round(crop.width * left)), crop.y, width, crop.height) for left in STRIP_LEFTS)


def _strip_view_offsets(width: int, view: int) -> list[int]:
    return [int(round(step)) for step in np.linspace(0.0, width - view, STRIP_VIEW_STEPS)]


def _strip_view_width(crop: CropBox) -> float | None:
    """A strip's width in a portrait query's active picture, as a share of its width; None when the
    query is not portrait (:data:`STRIP_VIEW_ASPECTS`)."""
    low, high = STRIP_VIEW_ASPECTS
    if not low <= crop.width / crop.height <= high:
        return None
    return min(1.0, STRIP_SHARE * STRIP_SOURCE_ASPECT * crop.height / crop.width)


def strip_view_boxes(crop: CropBox) -> tuple[CropBox, ...]:
    """Where a portrait query's picture may hold one of its source's strips (:func:`strip_boxes`), if
    the query is a 9:16 (or 3:4, 4:5) window cut from 16:9 footage as tall as it:
    :data:`STRIP_VIEW_STEPS` boxes a third of its height wide, spread evenly across it. None for
    a query that is not portrait."""
    share = _strip_view_width(crop)
    if share is None:
        return ()
    width = max(1, int(round(crop.width * share)))
    return tuple(CropBox(crop.x + offset, crop.y, width, crop.height)
                 for offset in _strip_view_offsets(crop.width, width))


def inner_box(crop: CropBox) -> CropBox:
    """The inner picture of an active picture: its middle :data:`INNER_SHARE` along each side."""
    return crop.part(0.5, 0.5, INNER_SHARE)


def inner_view_boxes(crop: CropBox) -> tuple[CropBox, ...]:
    """Where a query's picture may hold its source's inner picture, if the query is a cropped copy.

    A copy keeping :data:`CROPPED_SHARE` of the source shows the source's
    inner picture as a box ``INNER_SHARE / CROPPED_SHARE`` of its own size,
    somewhere between its edges; these are :data:`INNER_VIEW_STEPS` squared
    such boxes spread evenly over the places it may be, left to right, then
    top to bottom. (Their hash inputs are cut from the picture shrunk once to
    ``INNER_VIEWS_SIZE * VIEW_SCALE`` pixels a side, where each box begins on
    a whole pixel.)
    """
    steps = np.linspace(0.0, 1.0, INNER_VIEW_STEPS).tolist()
    return tuple(crop.part(left, top, INNER_SHARE / CROPPED_SHARE) for top in steps for left in steps)


def _stacked(hashes: list[FrameHash], bits: int) -> np.ndarray:
    """Hashes as a ``uint8`` array of shape ``(hashes, bytes)``."""
    if not hashes:
        return np.zeros((0, bits // 8), dtype=np.uint8)
    return np.frombuffer(b"".join(h.data for h in hashes), dtype=np.uint8).reshape(len(hashes), -1)


@dataclass(frozen=True)
class FrameRecord:
    """One hashed frame: presentation time in seconds, hash, 0-100 quality, frame number.

    ``mirror`` is the hash of the horizontally mirrored picture, present when
    the fingerprint was made with ``mirror=True`` (query clips, so that a
    flipped reupload still matches). ``windows`` are the hashes of the
    fingerprint's ``windows`` (insets, screens) in this frame. ``inner`` is
    the hash of the frame's inner picture (:func:`inner_box`; indexed clips,
    so that a cropped copy still matches), ``inner_views`` those of the
    fingerprint's ``inner_views`` (query clips). ``strips`` are the hashes of
    the fingerprint's ``strips`` on the frames that have them (one in
    :func:`strip_every`), ``strip_views`` those of its ``strip_views``.
    """

    t: float
    hash: FrameHash
    quality: int
    index: int
    mirror: FrameHash | None = None
    windows: tuple[FrameHash, ...] = ()
    inner: FrameHash | None = None
    inner_views: tuple[FrameHash, ...] = ()
    strips: tuple[FrameHash, ...] = ()
    strip_views: tuple[FrameHash, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": self.t, "hash": str(self.hash), "quality": self.quality, "index": self.index}
        if self.mirror is not None:
            data["mirror"] = str(self.mirror)
        if self.windows:
            data["windows"] = [str(h) for h in self.windows]
        if self.inner is not None:
            data["inner"] = str(self.inner)
        if self.inner_views:
            data["inner_views"] = [str(h) for h in self.inner_views]
        if self.strips:
            data["strips"] = [str(h) for h in self.strips]
        if self.strip_views:
            data["strip_views"] = [str(h) for h in self.strip_views]
        return data


@dataclass(frozen=True)
class Fingerprint:
    """The perceptual fingerprint of one clip.

    ``frames`` are in presentation order. ``crop`` is the active picture that
    was hashed (display pixels); ``params`` holds everything that changes the
    hash values, so two fingerprints are comparable only when their
    ``algorithm`` and ``params`` agree. ``inner`` is the inner picture each
    frame's ``inner`` hash is of, and ``inner_views`` the boxes each frame's
    ``inner_views`` hashes are of (display pixels, like ``windows``);
    ``strips`` and ``strip_views`` likewise (:func:`strip_boxes`,
    :func:`strip_view_boxes`).
    """

    sha256: str
    algorithm: str
    params: tuple[tuple[str, Any], ...]
    duration: float | None
    fps: float | None
    width: int
    height: int
    codec: str
    crop: CropBox | None
    frames: tuple[FrameRecord, ...]
    size: int = 0
    windows: tuple[CropBox, ...] = ()
    schema_version: int = SCHEMA_VERSION
    inner: CropBox | None = None
    inner_views: tuple[CropBox, ...] = ()
    strips: tuple[CropBox, ...] = ()
    strip_views: tuple[CropBox, ...] = ()

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValidationError("sha256", self.sha256, "64 lowercase hex digits")
        if self.algorithm not in ALGORITHMS:
            raise ValidationError("algorithm", self.algorithm, "one of " + ", ".join(sorted(ALGORITHMS)))
        bits = ALGORITHMS[self.algorithm].bits
        for number, frame in enumerate(self.frames):
            if frame.hash.bits != bits:
                raise ValidationError(f"frames[{number}].hash", str(frame.hash), f"a {bits}-bit hash")
            if self.inner is not None and (frame.inner is None or frame.inner.bits != bits):
                raise ValidationError(f"frames[{number}].inner", str(frame.inner),
                                      f"a {bits}-bit hash of the inner picture")
            if len(frame.windows) != len(self.windows) and frame.windows:
                raise ValidationError(f"frames[{number}].windows", len(frame.windows),
                                      f"a hash for each of the {len(self.windows)} windows")
            if len(frame.inner_views) != len(self.inner_views):
                raise ValidationError(f"frames[{number}].inner_views", len(frame.inner_views),
                                      f"a hash for each of the {len(self.inner_views)} inner views")
            if frame.strips and (len(frame.strips) != len(self.strips) or any(h.bits != bits for h in frame.strips)):
                raise ValidationError(f"frames[{number}].strips", len(frame.strips),
                                      f"a {bits}-bit hash for each of the {len(self.strips)} strips, or none")
            if len(frame.strip_views) != len(self.strip_views):
                raise ValidationError(f"frames[{number}].strip_views", len(frame.strip_views),
                                      f"a hash for each of the {len(self.strip_views)} strip views")
        times = [frame.t for frame in self.frames]
        if any(b < a for a, b in zip(times, times[1:])):
            raise ValidationError("frames", "out of order", "frames in presentation order")
        if self.schema_version > SCHEMA_VERSION:
            raise ValidationError("schema_version", self.schema_version,
                                  f"{SCHEMA_VERSION} or older (this vidprov is too old to read it)")

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.params)

    def hashes(self) -> np.ndarray:
        """The frame hashes as a ``uint8`` array of shape ``(frames, bytes)``."""
        return _stacked([f.hash for f in self.frames], ALGORITHMS[self.algorithm].bits)

    def inner_hashes(self) -> np.ndarray | None:
        """Hashes of the frames' inner pictures, like :meth:`hashes`, or None if not computed."""
        if self.inner is None:
            return None
        return _stacked([f.inner for f in self.frames if f.inner is not None], ALGORITHMS[self.algorithm].bits)

    def inner_view_hashes(self) -> list[np.ndarray]:
        """For each of :attr:`inner_views`, the frame hashes inside it, like :meth:`hashes`."""
        bits = ALGORITHMS[self.algorithm].bits
        return [_stacked([f.inner_views[k] for f in self.frames], bits) for k in range(len(self.inner_views))]

    def strip_frames(self) -> np.ndarray:
        """The numbers (positions in :attr:`frames`) of the frames that have strip hashes."""
        return np.array([n for n, f in enumerate(self.frames) if f.strips], dtype=np.int64)

    def strip_hashes(self) -> np.ndarray | None:
        """Hashes of the strips, shape ``(frames with strips, strips, bytes)``, or None without strips."""
        if not self.strips:
            return None
        bits = ALGORITHMS[self.algorithm].bits
        return _stacked([h for f in self.frames for h in f.strips], bits).reshape(-1, len(self.strips), bits // 8)

    def strip_view_hashes(self) -> list[np.ndarray]:
        """For each of :attr:`strip_views`, the frame hashes inside it, like :meth:`hashes`."""
        bits = ALGORITHMS[self.algorithm].bits
        return [_stacked([f.strip_views[k] for f in self.frames], bits) for k in range(len(self.strip_views))]

    def for_index(self) -> Fingerprint:
        """This fingerprint as an index stores it: without the views only a query needs (mirror, windows,
        inner views, strip views)."""
        if not (self.windows or self.inner_views or self.strip_views
                or any(f.mirror is not None or f.windows for f in self.frames)):
            return self
        return replace(self, windows=(), inner_views=(), strip_views=(),
                       frames=tuple(replace(f, mirror=None, windows=(), inner_views=(), strip_views=())
                                    for f in self.frames))

    def mirror_hashes(self) -> np.ndarray | None:
        """Hashes of the mirrored pictures, like :meth:`hashes`, or None if not computed."""
        mirrors = [f.mirror for f in self.frames if f.mirror is not None]
        if not self.frames or len(mirrors) < len(self.frames):
            return None
        return _stacked(mirrors, ALGORITHMS[self.algorithm].bits)

    def window_hashes(self) -> list[np.ndarray]:
        """For each of :attr:`windows`, the frame hashes inside it, like :meth:`hashes`."""
        bits = ALGORITHMS[self.algorithm].bits
        return [_stacked([f.windows[k] for f in self.frames], bits) for k in range(len(self.windows)) if self.frames]

    def times(self) -> np.ndarray:
        return np.array([f.t for f in self.frames], dtype=np.float64)

    def qualities(self) -> np.ndarray:
        return np.array([f.quality for f in self.frames], dtype=np.int64)

    @property
    def sampling(self) -> Sampling | None:
        """How the frames were sampled, when the parameters say (``every N s`` or ``all``)."""
        given = self.parameters.get("sampling")
        if not isinstance(given, dict) or given.get("mode") not in ("every", "all"):
            return None
        try:
            return Sampling(given["mode"], float(given.get("interval", 0.0)))
        except (TypeError, ValueError):  # ValidationError included: parameters from outside
            return None

    def resampled(self, sampling: Sampling) -> Fingerprint:
        """This fingerprint with only the frames ``sampling`` would have handed on.

        A query fingerprinted densely (:data:`vidprov.match.QUERY_SAMPLING`)
        gives, resampled at :data:`DEFAULT_SAMPLING`, the frames an index
        fingerprint of the clip holds, without decoding it again.
        """
        current = self.sampling
        if current is not None and current.mode == "every" and sampling.mode == "every" \
                and sampling.interval < current.interval - 1e-9:
            raise ValidationError("sampling", sampling.describe(),
                                  f"no denser than the fingerprint's own ({current.describe()})")
        params = dict(self.params)
        frames = tuple(self.frames[number] for number in sampling.select([f.t for f in self.frames]))
        params["sampling"] = sampling.to_dict()
        return replace(self, frames=frames, params=tuple(sorted(params.items())))

    # -- serialized forms -------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "sha256": self.sha256,
            "size": self.size,
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "duration": self.duration,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
            "crop": self.crop.to_dict() if self.crop else None,
            "windows": [w.to_dict() for w in self.windows],
            "inner": self.inner.to_dict() if self.inner else None,
            "inner_views": [w.to_dict() for w in self.inner_views],
            "strips": [w.to_dict() for w in self.strips],
            "strip_views": [w.to_dict() for w in self.strip_views],
            "frames": [frame.to_dict() for frame in self.frames],
        }

    def to_json(self, indent: int | None = None) -> str:
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), indent=indent, separators=separators, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any) -> Fingerprint:
        if not isinstance(data, dict):
            raise FormatError("a fingerprint must be a JSON object")
        try:
            version = int(data.get("schema_version", 0))
            if version > SCHEMA_VERSION:
                raise ValidationError("schema_version", version,
                                      f"{SCHEMA_VERSION} or older (this vidprov is too old to read it)")
            frames = tuple(
                FrameRecord(t=float(f["t"]), hash=FrameHash.from_hex(str(f["hash"])),
                            quality=int(f["quality"]), index=int(f.get("index", -1)),
                            mirror=FrameHash.from_hex(str(f["mirror"])) if f.get("mirror") else None,
                            windows=tuple(FrameHash.from_hex(str(h)) for h in f.get("windows") or ()),
                            inner=FrameHash.from_hex(str(f["inner"])) if f.get("inner") else None,
                            inner_views=tuple(FrameHash.from_hex(str(h)) for h in f.get("inner_views") or ()),
                            strips=tuple(FrameHash.from_hex(str(h)) for h in f.get("strips") or ()),
                            strip_views=tuple(FrameHash.from_hex(str(h)) for h in f.get("strip_views") or ()))
                for f in data["frames"]
            )
            crop = CropBox.from_dict(data["crop"]) if data.get("crop") else None
            params = data.get("params") or {}
            if not isinstance(params, dict):
                raise FormatError("fingerprint params must be an object")
            return cls(
                sha256=str(data["sha256"]),
                algorithm=str(data["algorithm"]),
                params=tuple(sorted(params.items())),
                duration=None if data.get("duration") is None else float(data["duration"]),
                fps=None if data.get("fps") is None else float(data["fps"]),
                width=int(data["width"]),
                height=int(data["height"]),
                codec=str(data.get("codec", "")),
                crop=crop,
                frames=frames,
                size=int(data.get("size", 0)),
                windows=tuple(CropBox.from_dict(w) for w in data.get("windows") or ()),
                schema_version=version,
                inner=CropBox.from_dict(data["inner"]) if data.get("inner") else None,
                inner_views=tuple(CropBox.from_dict(w) for w in data.get("inner_views") or ()),
                strips=tuple(CropBox.from_dict(w) for w in data.get("strips") or ()),
                strip_views=tuple(CropBox.from_dict(w) for w in data.get("strip_views") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            if isinstance(error, ValidationError):
                raise
            raise FormatError(f"not a valid fingerprint ({type(error).__name__}: {error})") from None

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        try:
            data = json.loads(text, parse_constant=_not_a_json_number)
        except (json.JSONDecodeError, RecursionError) as error:
            raise FormatError(f"fingerprint is not valid JSON ({error})") from None
        return cls.from_dict(data)

    def to_vpdq(self) -> str:
        """Meta vPDQ's text form: ``frame_number,quality,hash_hex,timestamp`` per line."""
        if self.algorithm != "pdq":
            raise ValidationError("algorithm", self.algorithm, "pdq (only PDQ fingerprints export as vPDQ)")
        return "".join(f"{f.index},{f.quality},{f.hash},{f.t:.3f}\n" for f in self.frames)

    @staticmethod
    def parse_vpdq(text: str) -> list[FrameRecord]:
        """Read vPDQ text lines into frame records."""
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.strip().split(",")
            if len(parts) != 4:
                raise FormatError(f"vPDQ line {number}: expected frame,quality,hash,timestamp")
            try:
                record = FrameRecord(t=float(parts[3]), hash=FrameHash.from_hex(parts[2]), quality=int(parts[1]),
                                     index=int(parts[0]))
            except (ValueError, FormatError) as error:
                raise FormatError(f"vPDQ line {number}: {error}") from None
            # Checked here, as nothing later would notice a NaN time or a quality of -5.
            if not (math.isfinite(record.t) and record.t >= 0):
                raise FormatError(f"vPDQ line {number}: timestamp {parts[3].strip()!r} is not a time in seconds "
                                  "(0 or more)")
            if not (0 <= record.quality <= 100 and record.index >= 0):
                raise FormatError(f"vPDQ line {number}: expected a frame number of 0 or more and a quality "
                                  "from 0 to 100")
            if record.hash.bits != ALGORITHMS["pdq"].bits:
                raise FormatError(f"vPDQ line {number}: a PDQ hash is {ALGORITHMS['pdq'].bits // 4} hex digits, "
                                  f"not {record.hash.bits // 4}")
            records.append(record)
        return records


@dataclass(frozen=True, eq=False)
class FrameArrays:
    """What matching needs of a stored fingerprint, as arrays: no object per frame.

    Reading an index's candidates this way skips building a
    :class:`FrameRecord` and a :class:`~vidprov.hashing.FrameHash` for every
    frame; :meth:`times`, :meth:`hashes` and :meth:`qualities` answer as a
    :class:`Fingerprint`'s do.
    """

    sha256: str
    algorithm: str
    duration: float | None
    frame_times: np.ndarray = field(repr=False)  # float64, seconds
    frame_hashes: np.ndarray = field(repr=False)  # uint8, (frames, bytes)
    frame_qualities: np.ndarray = field(repr=False)
    frame_inner_hashes: np.ndarray | None = field(default=None, repr=False)  # like frame_hashes
    frame_strip_hashes: np.ndarray | None = field(default=None, repr=False)  # (frames with strips, strips, bytes)
    strip_frames: np.ndarray | None = field(default=None, repr=False)  # int64: which frames have them

    @classmethod
    def of(cls, fingerprint: Fingerprint) -> FrameArrays:
        strips = fingerprint.strip_hashes()
        return cls(fingerprint.sha256, fingerprint.algorithm, fingerprint.duration, fingerprint.times(),
                   fingerprint.hashes(), fingerprint.qualities(), fingerprint.inner_hashes(), strips,
                   fingerprint.strip_frames() if strips is not None else None)

    def inner_arrays(self) -> FrameArrays | None:
        """The same frames with their inner pictures' hashes as :meth:`hashes`, or None if not stored."""
        if self.frame_inner_hashes is None:
            return None
        return replace(self, frame_hashes=self.frame_inner_hashes, frame_inner_hashes=None,
                       frame_strip_hashes=None, strip_frames=None)

    def strip_arrays(self) -> list[FrameArrays]:
        """For each strip (:func:`strip_boxes`), the frames that have strips, with that strip's hashes as
        :meth:`hashes`; empty when none are stored."""
        if self.frame_strip_hashes is None or self.strip_frames is None or not len(self.strip_frames):
            return []
        at = self.strip_frames
        return [FrameArrays(self.sha256, self.algorithm, self.duration, self.frame_times[at],
                            np.ascontiguousarray(self.frame_strip_hashes[:, k]), self.frame_qualities[at])
                for k in range(self.frame_strip_hashes.shape[1])]

    def times(self) -> np.ndarray:
        return self.frame_times

    def hashes(self) -> np.ndarray:
        return self.frame_hashes

    def qualities(self) -> np.ndarray:
        return self.frame_qualities


def _not_a_json_number(name: str) -> None:
    # Python's json reads NaN and Infinity, which JSON does not have and to_json() refuses to write.
    raise FormatError(f"fingerprint JSON holds {name}, which is not a JSON number")


def file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    """sha256 hex digest and size of a file's exact bytes."""
    with open(path, "rb") as handle:
        return _sha256(handle)


def _sha256(handle: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    handle.seek(0)
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _check_unchanged(name: str, opened: os.stat_result, handle: BinaryIO, size: int) -> None:
    """Raise when the file was written to while it was decoded: its hashes and sha256 would disagree."""
    now = os.fstat(handle.fileno())
    if size != opened.st_size or now.st_mtime_ns != opened.st_mtime_ns:
        raise FileAccessError(f"changed while it was being read ({opened.st_size} bytes when opened, {size} "
                              "when done): wait until nothing is writing to it (a download, a copy, a "
                              "recorder) and try again", name)


@dataclass
class HashedFrame:
    """A sampled frame after hashing, with the picture it was hashed from."""

    index: int
    time: float
    hash: FrameHash
    quality: int
    image: np.ndarray = field(repr=False)
    mirror: FrameHash | None = None
    windows: tuple[FrameHash, ...] = ()
    inner: FrameHash | None = None
    inner_views: tuple[FrameHash, ...] = ()
    strips: tuple[FrameHash, ...] = ()
    strip_views: tuple[FrameHash, ...] = ()


class FramePipeline:
    """Decode, crop and hash the sampled frames of one clip, streaming.

    Iterate it for :class:`HashedFrame` objects. While the clip's border is
    being settled, up to :data:`MAX_PENDING` small grid images are held back;
    after that every frame goes straight through, so memory stays flat.
    """

    def __init__(self, path: str | os.PathLike[str], *, algorithm: str | Hasher = DEFAULT_ALGORITHM,
                 sampling: Sampling | None = None, crop: bool = True, hash_input: str = "gray64",
                 mirror: bool = False, windows: bool = False, inner: bool = False, inner_views: bool = False,
                 strips: bool = False, strip_views: bool = False, min_frames: int | None = None,
                 progress: Callable[[float, float | None], None] | None = None, threads: int | None = None) -> None:
        if hash_input not in HASH_INPUTS:
            raise ValidationError("hash_input", hash_input, ", ".join(HASH_INPUTS))
        if min_frames is not None and min_frames < 1:
            raise ValidationError("min_frames", min_frames, "a positive number of frames")
        self.hasher = algorithm if isinstance(algorithm, Hasher) else get_hasher(algorithm)
        if hash_input != "gray64" and self.hasher.name != "pdq":
            raise ValidationError("hash_input", hash_input, "gray64 (the vPDQ inputs apply to pdq only)")
        self.path = os.fspath(path)
        self.sampling = sampling or DEFAULT_SAMPLING
        self.hash_input = hash_input
        self.mirror = mirror and hash_input == "gray64"
        self.detect_borders = crop and hash_input == "gray64"
        self.find_windows = windows and hash_input == "gray64"
        #: Windows inside the frame where footage may be playing (found when ``windows`` is asked for).
        self.windows: tuple[CropBox, ...] = ()
        self.want_inner = inner and hash_input == "gray64"
        self.want_inner_views = inner_views and hash_input == "gray64"
        #: The inner picture hashed too (:func:`inner_box`), once the crop is settled, when asked for.
        self.inner: CropBox | None = None
        #: The query's inner views (:func:`inner_view_boxes`), once the crop is settled, when asked for.
        self.inner_views: tuple[CropBox, ...] = ()
        self.want_strips = strips and hash_input == "gray64"
        self.want_strip_views = strip_views and hash_input == "gray64"
        #: The strips (:func:`strip_boxes`) and strip views (:func:`strip_view_boxes`), once the crop is
        #: settled, when asked for and the picture has them.
        self.strips: tuple[CropBox, ...] = ()
        self.strip_views: tuple[CropBox, ...] = ()
        self._strip_interval = 0.0
        self._next_strip = 0.0
        self._strip_base: CropBox | None = None  # the picture strip views are cut from
        self._size = (0, 0)
        self.progress = progress
        self.decoder = Decoder(self.path, self.sampling, threads=threads)
        if min_frames is not None:
            # The duration is known once the container is open, before a frame is read.
            self.sampling = self.decoder.sampling = index_sampling(self.decoder.info.duration, self.sampling,
                                                                   min_frames)
        if self.want_strips:
            # One frame in strip_every of those the index keeps: a query sampled more densely has strips on
            # exactly the frames an index fingerprint of it would.
            indexed = index_sampling(self.decoder.info.duration)
            own = self.sampling.interval if self.sampling.mode == "every" else 0.0
            self._strip_interval = strip_every(indexed) * max(own, indexed.interval)
        self.crop: CropBox | None = None

    @property
    def info(self) -> VideoInfo:
        return self.decoder.info

    def params(self) -> tuple[tuple[str, Any], ...]:
        params = dict(self.hasher.params)
        params["input"] = self.hash_input if self.hash_input != "gray64" else params.get("input", "gray64")
        params["crop"] = self.detect_borders
        params["sampling"] = self.sampling.to_dict()
        return tuple(sorted(params.items()))

    def close(self) -> None:
        self.decoder.close()

    def __enter__(self) -> FramePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[HashedFrame]:
        if self.hash_input == "gray64":
            yield from self._gray_frames()
        else:
            yield from self._vpdq_frames()
        self.decoder.check_complete()

    def _report(self, time: float) -> None:
        if self.progress is not None:
            self.progress(time, self.decoder.info.duration)

    def _cut(self, grid: np.ndarray, box: CropBox) -> np.ndarray:
        """The part ``box`` of a frame's grid, as a hash input."""
        import cv2

        width, height = self._size
        return cv2.resize(halved(cut_grid(grid, box, width, height), HASH_INPUT_SIZE),
                          (HASH_INPUT_SIZE, HASH_INPUT_SIZE), interpolation=cv2.INTER_AREA)

    def _gray_frames(self) -> Iterator[HashedFrame]:
        """Frames shrunk to a small grid, cropped once the border is settled, hashed in batches."""
        detector: BorderDetector | None = None
        batch: list[tuple[int, float, np.ndarray]] = []  # grids waiting for the border, then for the hasher
        for frame in self.decoder:
            grid = frame.small_luma(GRID_SIZE)
            batch.append((frame.index, frame.time, grid))
            if self.crop is None:
                self._size = (frame.width, frame.height)
                if not (self.detect_borders or self.find_windows):
                    self.crop = CropBox.full(*self._size)
                else:
                    if detector is None:
                        detector = BorderDetector(*self._size)
                    if detector.wants(frame.time):
                        detector.add(frame.time, frame.luma())
                    if not (detector.done or len(batch) >= MAX_PENDING):
                        continue
                    self._settle(detector, batch)
            if len(batch) >= HASH_BATCH:
                yield from self._hash_batch(batch)
        if self.crop is None and detector is not None:
            self._settle(detector, batch)
        yield from self._hash_batch(batch)

    def _settle(self, detector: BorderDetector, held: list[tuple[int, float, np.ndarray]]) -> None:
        """Fix the crop (and the windows footage may play in) from the frames held so far."""
        self.crop = detector.crop() if self.detect_borders else CropBox.full(*self._size)
        if self.find_windows:
            from .windows import find_windows

            self.windows = find_windows([g for _, _, g in held], self._size, crop=self.crop)
            if not self.crop.is_full(*self._size):
                # The bars are found at the start of the clip; a compilation may go on without them.
                self.windows += (CropBox.full(*self._size),)

    def _hash_boxes(self, batch: list[tuple[int, float, np.ndarray]],
                    boxes: tuple[CropBox, ...]) -> list[tuple[FrameHash, ...]]:
        """For each frame of ``batch``, the hashes of the pictures in ``boxes``."""
        if not boxes:
            return [()] * len(batch)
        return self._grouped(self.hasher.digests(np.stack([self._cut(grid, box) for _, _, grid in batch
                                                            for box in boxes])), len(boxes))

    @staticmethod
    def _grouped(digests: list[FrameHash], size: int) -> list[tuple[FrameHash, ...]]:
        return [tuple(digests[n * size:(n + 1) * size]) for n in range(len(digests) // size)]

    def _shrunk(self, grid: np.ndarray, side: int) -> np.ndarray:
        """A frame's active picture shrunk to ``side`` pixels a side."""
        import cv2

        width, height = self._size
        assert self.crop is not None
        return cv2.resize(halved(cut_grid(grid, self.crop, width, height), side), (side, side),
                          interpolation=cv2.INTER_AREA)

    def _inner_hashes(self, batch: list[tuple[int, float, np.ndarray]]) -> list[FrameHash]:
        """Each frame's inner picture hashed: the middle of its active picture shrunk to :data:`INNER_SIZE`."""
        start = (INNER_SIZE - HASH_INPUT_SIZE) // 2
        return self.hasher.digests(np.stack([self._shrunk(grid, INNER_SIZE)[start:start + HASH_INPUT_SIZE,
                                                                            start:start + HASH_INPUT_SIZE]
                                             for _, _, grid in batch]))

    def _inner_view_hashes(self, batch: list[tuple[int, float, np.ndarray]]) -> list[tuple[FrameHash, ...]]:
        """Each frame's inner views hashed: squares of its active picture shrunk to
        ``INNER_VIEWS_SIZE * VIEW_SCALE``, at the places of :func:`inner_view_boxes`, each shrunk by
        :data:`VIEW_SCALE` to a hash input. (Shrinking the picture to :data:`INNER_VIEWS_SIZE` and
        cutting 64-pixel squares is cheaper, but rounds each view's place to a pixel of it, which
        moved the views' hashes by 14 bits on the bottle clip.)"""
        import cv2

        offsets = _inner_view_offsets(INNER_VIEWS_SIZE * VIEW_SCALE)
        side = HASH_INPUT_SIZE * VIEW_SCALE
        cuts = []
        for _, _, grid in batch:
            shrunk = self._shrunk(grid, INNER_VIEWS_SIZE * VIEW_SCALE)
            cuts += [cv2.resize(shrunk[top:top + side, left:left + side], (HASH_INPUT_SIZE, HASH_INPUT_SIZE),
                                interpolation=cv2.INTER_AREA) for top in offsets for left in offsets]
        return self._grouped(self.hasher.digests(np.stack(cuts)), len(offsets) ** 2)

    def _strip_hashes(self, grids: list[np.ndarray]) -> list[tuple[FrameHash, ...]]:
        """The strips of frames' active pictures hashed: cut from the picture shrunk to
        :data:`STRIP_BASE_WIDTH` by 64, where each strip begins on a whole pixel."""
        import cv2

        width, height = self._size
        assert self.crop is not None
        lefts = [int(round(STRIP_BASE_WIDTH * left)) for left in STRIP_LEFTS]
        strip = int(round(STRIP_BASE_WIDTH * STRIP_SHARE))
        cuts = []
        for grid in grids:
            picture = cv2.resize(cut_grid(grid, self.crop, width, height), (STRIP_BASE_WIDTH, HASH_INPUT_SIZE),
                                 interpolation=cv2.INTER_AREA)
            cuts += [cv2.resize(picture[:, left:left + strip], (HASH_INPUT_SIZE, HASH_INPUT_SIZE),
                                interpolation=cv2.INTER_LINEAR) for left in lefts]
        return self._grouped(self.hasher.digests(np.stack(cuts)), len(lefts))

    def _strip_view_hashes(self, batch: list[tuple[int, float, np.ndarray]]) -> list[tuple[FrameHash, ...]]:
        """Each frame's strip views hashed: cut from its active picture shrunk to 64 high and so wide that
        a view is ``64 * VIEW_SCALE`` pixels, each shrunk by :data:`VIEW_SCALE` to a hash input."""
        import cv2

        width, height = self._size
        base = self._strip_base
        assert base is not None
        share = _strip_view_width(base)
        assert share is not None
        side = HASH_INPUT_SIZE * VIEW_SCALE
        total = max(side, int(round(side / share)))
        offsets = _strip_view_offsets(total, side)
        cuts = []
        for _, _, grid in batch:
            picture = cv2.resize(cut_grid(grid, base, width, height), (total, HASH_INPUT_SIZE),
                                 interpolation=cv2.INTER_AREA)
            cuts += [cv2.resize(picture[:, offset:offset + side], (HASH_INPUT_SIZE, HASH_INPUT_SIZE),
                                interpolation=cv2.INTER_AREA) for offset in offsets]
        return self._grouped(self.hasher.digests(np.stack(cuts)), len(offsets))

    def _strips_of(self, batch: list[tuple[int, float, np.ndarray]]) -> list[tuple[FrameHash, ...]]:
        """Each frame's strip hashes: for the first frame at or after each multiple of the strip interval,
        none for the rest."""
        if not self.strips:
            return [()] * len(batch)
        chosen = []
        for number, (_, time, _) in enumerate(batch):
            if time + 1e-9 >= self._next_strip:
                chosen.append(number)
                self._next_strip = next_tick(time, self._strip_interval)
        found: list[tuple[FrameHash, ...]] = [()] * len(batch)
        if chosen:
            for number, hashes in zip(chosen, self._strip_hashes([batch[n][2] for n in chosen])):
                found[number] = hashes
        return found

    def _hash_batch(self, batch: list[tuple[int, float, np.ndarray]]) -> Iterator[HashedFrame]:
        if not batch:
            return
        assert self.crop is not None
        if self.want_inner and self.inner is None:
            self.inner = inner_box(self.crop)
        if self.want_inner_views and not self.inner_views:
            self.inner_views = inner_view_boxes(self.crop)
        if self.want_strips and not self.strips:
            self.strips = strip_boxes(self.crop)
            self.want_strips = bool(self.strips)
        if self.want_strip_views and not self.strip_views:
            # The dark top and bottom of a 9:16 window may be taken for bars: the whole frame then stands in.
            self._strip_base = self.crop if _strip_view_width(self.crop) else CropBox.full(*self._size)
            self.strip_views = strip_view_boxes(self._strip_base)
            self.want_strip_views = bool(self.strip_views)
        images = np.stack([self._cut(grid, self.crop) for _, _, grid in batch])
        hashed = self.hasher.hash_images(images)
        mirrors: Sequence[FrameHash | None] = [None] * len(batch)
        if self.mirror:
            mirrors = list(self.hasher.digests(np.ascontiguousarray(images[:, :, ::-1])))
        inside = self._hash_boxes(batch, self.windows)
        inner: Sequence[FrameHash | None] = [None] * len(batch)
        if self.inner is not None:
            inner = self._inner_hashes(batch)
        views = self._inner_view_hashes(batch) if self.inner_views else [()] * len(batch)
        strips = self._strips_of(batch)
        strip_views = self._strip_view_hashes(batch) if self.strip_views else [()] * len(batch)
        for (index, time, _), image, (digest, quality), mirror, window_hashes, inner_hash, view_hashes, \
                strip_hashes, strip_view_hashes in zip(batch, images, hashed, mirrors, inside, inner, views, strips,
                                                       strip_views):
            yield HashedFrame(index, time, digest, quality, image, mirror, window_hashes, inner_hash, view_hashes,
                              strip_hashes, strip_view_hashes)
            self._report(time)
        batch.clear()

    def _vpdq_frames(self) -> Iterator[HashedFrame]:
        for frame in self.decoder:
            if self.crop is None:
                self.crop = CropBox.full(frame.width, frame.height)
            if self.hash_input == "native":
                rgb = frame.rgb()
            else:
                rgb = frame.frame.reformat(width=128, height=128, format="rgb24",  # type: ignore[attr-defined]
                                           interpolation="AREA").to_ndarray()
            digest, quality = self.hasher.hash_rgb(rgb)
            yield HashedFrame(frame.index, frame.time, digest, quality, rgb)
            self._report(frame.time)


def fingerprint(path: str | os.PathLike[str], *, algorithm: str | Hasher = DEFAULT_ALGORITHM,
                sampling: Sampling | None = None, crop: bool = True, hash_input: str = "gray64",
                mirror: bool = False, windows: bool = False, inner: bool = False, inner_views: bool = False,
                strips: bool = False, strip_views: bool = False, min_frames: int | None = None,
                progress: Callable[[float, float | None], None] | None = None,
                threads: int | None = None) -> Fingerprint:
    """Fingerprint the clip at ``path``.

    ``sampling`` chooses the frames (two per second unless said otherwise);
    ``crop`` finds and removes letterbox and pillarbox bars before hashing;
    ``mirror`` also hashes each frame's mirror image, and ``windows`` the
    insets or screens footage may be playing in (:mod:`vidprov.windows`), for
    query clips; ``inner`` also hashes each frame's inner picture
    (:func:`inner_box`), as the index stores it, so that a cropped copy still
    matches, and ``inner_views`` the places a cropped query may show it
    (:func:`inner_view_boxes`); ``strips`` also hashes two strips of a 16:9
    picture on some frames (:func:`strip_boxes`), as the index stores them, so
    that a 9:16 window cut from it still matches, and ``strip_views`` the
    places a portrait query may show one (:func:`strip_view_boxes`);
    ``min_frames`` samples a short clip more densely, so that it gives at least
    that many frames (:func:`index_sampling`; the index asks for
    :data:`INDEX_MIN_FRAMES`);
    ``progress`` is called with each hashed frame's time and the clip's duration
    (``None`` when the container does not say), both in seconds.
    ``threads`` caps the decoder's threads (default: FFmpeg uses every core;
    1 is the most work done per CPU second, for one clip per core at once).
    Raises :class:`~vidprov.errors.MediaError` subclasses for files that are not
    readable video, and warns (:class:`~vidprov.errors.VidprovWarning`) when a
    damaged file decoded only in part.
    """
    # Opened before decoding, so that the sha256 is of the bytes decoded even
    # if the path is removed or replaced meanwhile.
    with open_file(path) as handle:
        opened = os.fstat(handle.fileno())
        with FramePipeline(path, algorithm=algorithm, sampling=sampling, crop=crop,
                           hash_input=hash_input, mirror=mirror, windows=windows, inner=inner,
                           inner_views=inner_views, strips=strips, strip_views=strip_views, min_frames=min_frames,
                           progress=progress, threads=threads) as pipeline:
            records = tuple(FrameRecord(round(f.time, 6), f.hash, f.quality, f.index, f.mirror, f.windows,
                                        f.inner, f.inner_views, f.strips, f.strip_views) for f in pipeline)
            info = pipeline.info
            crop_box = pipeline.crop
            params = pipeline.params()
        sha256, size = _sha256(handle)
        _check_unchanged(os.fspath(path), opened, handle, size)
    width, height = info.display_size
    fps = info.fps if info.fps and math.isfinite(info.fps) else None
    return Fingerprint(sha256=sha256, algorithm=pipeline.hasher.name, params=params,
                       duration=info.duration, fps=fps, width=width, height=height, codec=info.codec,
                       crop=crop_box, frames=records, size=size, windows=pipeline.windows,
                       inner=pipeline.inner, inner_views=pipeline.inner_views, strips=pipeline.strips,
                       strip_views=pipeline.strip_views)
