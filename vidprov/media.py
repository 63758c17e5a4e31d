"""Decoding: open a clip with PyAV and stream its frames with true timestamps.

Frames are yielded one at a time, so memory stays flat whatever the clip's
length. Three sampling modes choose which decoded frames are handed on:

* :meth:`Sampling.keyframes` decodes only the codec's keyframes
  (``skip_frame = "NONKEY"``): the fast path, typically 100x realtime or more;
* :meth:`Sampling.every` hands on one frame every N seconds of presentation time;
* :meth:`Sampling.all` hands on every frame.

Timestamps are presentation times in seconds from the start of the stream, so
they are right on variable-frame-rate files. The display rotation that phones
write into the container is applied to every picture handed on.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import struct
import warnings
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import BinaryIO, Iterator, Sequence

import numpy as np

from .errors import (
    DecodeError,
    EmptyFileError,
    FileAccessError,
    NoVideoStreamError,
    NotMediaError,
    ValidationError,
    VidprovWarning,
)

# Imported lazily so that ``import vidprov`` stays quick for commands that never decode.
av = None

#: Largest picture decoded, in pixels: 67 megapixels, 8192x8192, above 8K and
#: 360-degree footage. A header claiming more is damaged or crafted, and
#: decoding it would allocate (and conceal errors over) gigabytes.
MAX_PIXELS = 8192 * 8192

#: Options for every FFmpeg decoder vidprov opens, including the ones FFmpeg
#: opens itself while probing a file.
DECODER_OPTIONS = {"max_pixels": str(MAX_PIXELS)}


def _av():  # type: ignore[no-untyped-def]
    global av
    if av is None:
        import av as _av_module

        _av_module.logging.set_level(None)  # FFmpeg's own chatter never reaches the terminal
        av = _av_module
    return av


def next_tick(time: float, step: float) -> float:
    """The first multiple of ``step`` after the one ``time`` is at or past.

    Sampling by time keeps the first frame at or after each tick (``time +
    1e-9 >= tick``), so a denser grid of ticks holds every tick of a sparser one.
    """
    return (math.floor(time / step + 1e-9) + 1) * step


@dataclass(frozen=True)
class Sampling:
    """Which decoded frames to hand on: ``mode`` is ``keyframes``, ``every`` or ``all``."""

    mode: str = "every"
    interval: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in ("keyframes", "every", "all"):
            raise ValidationError("sampling mode", self.mode, "keyframes, every or all")
        if self.mode == "every" and not (self.interval > 0 and math.isfinite(self.interval)):
            raise ValidationError("sampling interval", self.interval, "a positive number of seconds")

    @classmethod
    def keyframes(cls) -> Sampling:
        return cls("keyframes", 0.0)

    @classmethod
    def every(cls, seconds: float) -> Sampling:
        return cls("every", float(seconds))

    @classmethod
    def fps(cls, frames_per_second: float) -> Sampling:
        if not frames_per_second > 0:
            raise ValidationError("fps", frames_per_second, "a positive number")
        return cls("every", 1.0 / float(frames_per_second))

    @classmethod
    def all(cls) -> Sampling:
        return cls("all", 0.0)

    @classmethod
    def parse(cls, text: str) -> Sampling:
        """``keyframes``, ``all``, or a number of frames per second such as ``2``."""
        if text in ("keyframes", "all"):
            return cls(text, 0.0)
        try:
            value = float(text)
        except ValueError:
            raise ValidationError("fps", text, "keyframes, all, or frames per second") from None
        return cls.fps(value)

    def select(self, times: Sequence[float]) -> list[int]:
        """Which of a clip's frames, at increasing ``times`` (seconds), this sampling hands on.

        The decoder's own rule for ``every``: the first frame at or after each
        multiple of the interval. So frames sampled every 0.125 s hold those
        sampled every 0.25 or 0.5 s. ``all`` keeps every frame; ``keyframes``
        cannot be chosen by time.
        """
        if self.mode == "keyframes":
            raise ValidationError("sampling mode", self.mode, "every or all (keyframes are the codec's choice)")
        if self.mode == "all":
            return list(range(len(times)))
        chosen, next_time = [], 0.0
        for number, t in enumerate(times):
            if t + 1e-9 >= next_time:
                chosen.append(number)
                next_time = next_tick(t, self.interval)
        return chosen

    def describe(self) -> str:
        if self.mode == "every":
            return f"every {self.interval:g} s"
        return "codec keyframes" if self.mode == "keyframes" else "every frame"

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "interval": self.interval} if self.mode == "every" else {"mode": self.mode}


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream, before decoding."""

    path: str
    duration: float | None
    fps: float | None
    width: int
    height: int
    codec: str
    rotation: int
    container: str

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height after the display rotation."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)


@dataclass
class Frame:
    """One decoded frame handed on by :func:`iter_frames`.

    ``frame`` is the underlying ``av.VideoFrame``; use :meth:`gray` and
    :meth:`rgb` to get pictures with the display rotation already applied.
    """

    index: int
    time: float
    key: bool
    frame: object
    rotation: int

    @property
    def width(self) -> int:
        w, h = self.frame.width, self.frame.height  # type: ignore[attr-defined]
        return h if self.rotation % 180 else w

    @property
    def height(self) -> int:
        w, h = self.frame.width, self.frame.height  # type: ignore[attr-defined]
        return w if self.rotation % 180 else h

    def luma(self) -> np.ndarray:
        """The full-size luma plane as a 2-D ``uint8`` array, in display orientation.

        For 8-bit YUV and gray frames this is a view of the decoder's buffer,
        with no conversion at all; other pixel formats are converted.
        """
        return _rotate(_luma_plane(self.frame), self.rotation)

    def small_luma(self, side: int) -> np.ndarray:
        """Luma halved (2x2 box averages) until the shorter side is under ``2*side``.

        OpenCV averages 2x2 blocks many times faster than it resamples by any
        other factor, so callers resize the small result, which is at most
        twice the size they need across.
        """
        return _rotate(halved(_luma_plane(self.frame), side), self.rotation)

    def rgb(self) -> np.ndarray:
        """The full picture as an ``(H, W, 3)`` RGB array."""
        return _rotate(self.frame.to_ndarray(format="rgb24"), self.rotation)  # type: ignore[attr-defined]


#: Pixel formats whose first plane is 8-bit luma.
_LUMA8 = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
                    "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "nv16", "gray", "yuva420p"})
#: Pixel formats whose first plane is little-endian 16-bit storage of 9-16 bit luma.
_LUMA16 = {"yuv420p10le": 10, "yuv422p10le": 10, "yuv444p10le": 10, "yuv420p12le": 12,
           "yuv422p12le": 12, "yuv444p12le": 12, "p010le": 16, "gray10le": 10, "gray12le": 12}

_reformatter = None


def halved(plane: np.ndarray, side: int) -> np.ndarray:
    """``plane`` shrunk by 2x2 box averages while both sides are at least ``2*side``."""
    if min(plane.shape[:2]) < 2 * side:
        return plane
    import cv2

    while min(plane.shape[:2]) >= 2 * side:
        height, width = plane.shape[:2]
        plane = cv2.resize(plane[: height - height % 2, : width - width % 2], (width // 2, height // 2),
                           interpolation=cv2.INTER_AREA)
    return plane


def _luma_plane(frame) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The luma of an ``av.VideoFrame`` as 2-D ``uint8``, without copying when possible."""
    name = frame.format.name
    if name in _LUMA8:
        plane = frame.planes[0]
        return np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, : frame.width]
    if name in _LUMA16:
        plane = frame.planes[0]
        wide = np.frombuffer(plane, "<u2").reshape(frame.height, plane.line_size // 2)[:, : frame.width]
        return (wide >> (_LUMA16[name] - 8)).astype(np.uint8)
    # RGB and exotic formats: one reformatter for the whole run, since building
    # a scaler for every frame costs more than decoding it.
    global _reformatter
    if _reformatter is None:
        _reformatter = _av().video.reformatter.VideoReformatter()
    return _reformatter.reformat(frame, format="gray").to_ndarray()


def _rotate(array: np.ndarray, rotation: int) -> np.ndarray:
    # ``rotation`` is counterclockwise degrees, as the display matrix states it:
    # the picture is shown turned by that much, which is what np.rot90 does.
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(array, turns)) if turns else array


def check_file(path: str | os.PathLike[str]) -> str:
    """Raise a clear error unless ``path`` is a non-empty regular file we can read."""
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        if os.path.islink(name):
            raise FileAccessError(f"is a symbolic link to a missing file ({os.readlink(name)})", name) from None
        raise FileAccessError("no such file", name) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise FileAccessError("is a symbolic link that leads back to itself (a loop)", name) from None
        raise FileAccessError(f"cannot access file ({error.strerror or error})", name) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError("is a directory, not a file", name)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end.
        raise FileAccessError("is not a regular file", name)
    if info.st_size == 0:
        raise EmptyFileError("file is empty (0 bytes)", name)
    if not os.access(name, os.R_OK):
        raise FileAccessError("permission denied", name)
    return name


def open_file(path: str | os.PathLike[str]) -> BinaryIO:
    """:func:`check_file`, then open the file for reading bytes, with the same clear errors."""
    name = check_file(path)
    try:
        return open(name, "rb")
    except PermissionError:
        raise FileAccessError("permission denied", name) from None
    except OSError as error:
        raise FileAccessError(f"cannot open file ({error.strerror or error})", name) from None


#: Transport stream packet sizes: plain, with a 4-byte timecode (M2TS), with parity.
_TS_PACKET_SIZES = (188, 192, 204)
#: Top-level boxes walked at most; a file of tiny boxes is damaged, not truncated.
_MAX_TOP_BOXES = 10_000


def truncation(handle: BinaryIO, size: int) -> str | None:
    """What in the file's own layout shows that it ends early, or ``None``.

    Two layouts state their length: an MP4-family file (ISO BMFF), whose
    top-level boxes must fill the file exactly and include the ``moov`` index,
    and an MPEG transport stream, a whole number of fixed-size packets. Other
    containers are not checked. ``handle`` is left at an unspecified position.
    """
    handle.seek(0)
    head = handle.read(_TS_PACKET_SIZES[-1] + 8)
    if head[4:8] == b"ftyp":
        return _bmff_truncation(handle, size)
    for packet in _TS_PACKET_SIZES:
        sync = packet - 188  # M2TS puts its timecode before the sync byte
        if len(head) > packet + sync and head[sync] == head[packet + sync] == 0x47:
            if size % packet:
                return f"it ends {size % packet} bytes into a {packet}-byte transport stream packet"
            return None
    return None


def _bmff_truncation(handle: BinaryIO, size: int) -> str | None:
    offset, kinds = 0, set()
    for _ in range(_MAX_TOP_BOXES):
        if offset + 8 > size:
            break
        handle.seek(offset)
        header = handle.read(16)
        length, kind = struct.unpack_from(">I4s", header)
        if length == 1 and len(header) == 16:
            length = struct.unpack_from(">Q", header, 8)[0]
        elif length == 0:  # the last box, running to the end of the file by definition
            length = size - offset
        if length < 8:
            return None  # damaged rather than truncated, which FFmpeg reports
        if offset + length > size:
            return f"it stops {offset + length - size} bytes short of the end of its {kind.decode('latin-1')!r} box"
        kinds.add(kind)
        offset += length
    else:
        return None
    if not kinds & {b"moov", b"moof", b"meta"}:
        return "it has no 'moov' box, the index needed to play an MP4, which most recorders write last"
    return None


def _truncation_of(name: str) -> str | None:
    try:
        with open(name, "rb") as handle:
            return truncation(handle, os.fstat(handle.fileno()).st_size)
    except OSError:
        return None


def truncated_error(name: str, why: str) -> NotMediaError:
    """The error for a file that cannot be read because it is truncated, ``why`` as :func:`truncation` says."""
    return NotMediaError(f"the file is truncated ({why}): re-download or re-copy it and try again", name)


def _unreadable(name: str, reason: str) -> NotMediaError:
    """The error for a file FFmpeg cannot read: says so plainly when the file is truncated."""
    why = _truncation_of(name)
    return truncated_error(name, why) if why else NotMediaError(reason, name)


def open_container(path: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
    """Open ``path`` with PyAV, turning FFmpeg's errors into vidprov's."""
    name = check_file(path)
    lib = _av()
    try:
        container = lib.open(name, metadata_errors="replace", options=DECODER_OPTIONS)
    except lib.error.InvalidDataError:
        raise _unreadable(name, "not a video file FFmpeg can read (unrecognised or damaged container)") from None
    except lib.error.EOFError:
        raise _unreadable(name, "the file ends before its header is complete, so it is truncated: "
                                "re-download or re-copy it and try again") from None
    except lib.error.FFmpegError as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise _unreadable(name, f"cannot be opened as media ({reason})") from None
    except OSError as error:
        raise FileAccessError(f"cannot read file ({error.strerror or error})", name) from None
    if not container.streams:
        container.close()
        raise _unreadable(name, "holds no streams at all (a damaged or incomplete container)")
    return container


def _video_stream(container, name: str):  # type: ignore[no-untyped-def]
    streams = [s for s in container.streams.video if s.codec_context is not None]
    if not streams:
        kinds = sorted({s.type for s in container.streams})
        found = ", ".join(kinds) if kinds else "no streams at all"
        raise NoVideoStreamError(f"has no video stream ({found})", name)
    # A cover-art picture attached to an audio file is not footage.
    moving = [s for s in streams if not (s.disposition & _av().stream.Disposition.attached_pic)]
    if not moving:
        raise NoVideoStreamError("has no video stream (only an attached picture)", name)
    return moving[0]


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the video stream's facts from the container without decoding."""
    with open_container(path) as container:
        stream = _video_stream(container, os.fspath(path))
        return _info(container, stream, os.fspath(path), rotation=_first_rotation(container, stream))


def _first_rotation(container, stream) -> int:  # type: ignore[no-untyped-def]
    """The rotation of the first decodable frame, then rewind."""
    try:
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            return int(round(frame.rotation / 90.0)) * 90 % 360
    except _av().error.FFmpegError:
        return 0
    finally:
        stream.codec_context.skip_frame = "DEFAULT"
    return 0


def _info(container, stream, name: str, rotation: int) -> VideoInfo:  # type: ignore[no-untyped-def]
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else None
    ctx = stream.codec_context
    return VideoInfo(
        path=name,
        duration=duration,
        fps=fps,
        width=int(ctx.width or 0),
        height=int(ctx.height or 0),
        codec=ctx.name,
        rotation=rotation,
        container=container.format.name,
    )


class Decoder:
    """An open clip: its :class:`VideoInfo` and an iterator over sampled frames.

    Use as a context manager; the file is closed on exit::

        with Decoder("clip.mp4", Sampling.every(1)) as clip:
            for frame in clip:
                ...
    """

    def __init__(self, path: str | os.PathLike[str], sampling: Sampling | None = None, *,
                 threads: int | None = None) -> None:
        self.path = os.fspath(path)
        self.sampling = sampling or Sampling()
        #: Decoding threads: ``None`` lets FFmpeg use every core; 1 decodes on the calling thread alone.
        self.threads = threads
        self._container = open_container(self.path)
        try:
            self._stream = _video_stream(self._container, self.path)
        except Exception:
            self._container.close()
            raise
        self.info = _info(self._container, self._stream, self.path, rotation=0)
        if self.info.width * self.info.height > MAX_PIXELS:
            self._container.close()
            raise DecodeError(f"claims frames of {self.info.width}x{self.info.height} pixels, more than the "
                              f"{MAX_PIXELS // 1_000_000} megapixels vidprov decodes; the header is probably "
                              "damaged", self.path)
        #: Frames decoded so far (including those not handed on).
        self.decoded = 0
        #: Presentation time of the last frame decoded, in seconds.
        self.last_time: float | None = None
        #: Problems met while decoding that did not stop it.
        self.problems: list[str] = []

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        lib = _av()
        stream = self._stream
        if self.threads is None:
            stream.thread_type = "AUTO"
        elif self.threads > 1:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = self.threads
        else:
            stream.codec_context.thread_count = 1
        # A size change mid-stream is refused by the decoder as well.
        stream.codec_context.options = dict(DECODER_OPTIONS)
        if self.sampling.mode == "keyframes":
            # The demuxer drops non-key packets unread where the container's index
            # allows it; the decoder skips any that still arrive.
            stream.discard = lib.stream.Discard.nonkey
            stream.codec_context.skip_frame = "NONKEY"
        time_base: Fraction = stream.time_base or Fraction(1, 90000)
        # Integer true division is correctly rounded: the same float as
        # float(Fraction), without building a Fraction for every frame.
        tb_num, tb_den = time_base.numerator, time_base.denominator
        rotation = 0
        start = stream.start_time if stream.start_time is not None else None
        interval = self.sampling.interval if self.sampling.mode == "every" else 0.0
        next_time = 0.0
        previous_time = -math.inf
        frame_step = 1.0 / self.info.fps if self.info.fps else 1 / 30
        index = -1
        packets = self._container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except lib.error.FFmpegError as error:
                self.problems.append(f"demuxing stopped at {self.last_time or 0:.3f} s ({_reason(error)})")
                break
            try:
                decoded = packet.decode()
            except lib.error.FFmpegError as error:
                # A damaged packet costs a frame or two, not the clip.
                self.problems.append(f"undecodable data near {self.last_time or 0:.3f} s ({_reason(error)})")
                continue
            for frame in decoded:
                index += 1
                self.decoded += 1
                if self.decoded == 1:
                    # The display matrix is the stream's: read it once.
                    rotation = int(round(frame.rotation / 90.0)) * 90 % 360
                pts = frame.pts
                if pts is None:
                    t = previous_time + frame_step if math.isfinite(previous_time) else 0.0
                else:
                    if start is None:
                        start = pts
                    t = (pts - start) * tb_num / tb_den
                if t <= previous_time:
                    # Reordered or duplicated timestamps: keep time monotonic.
                    t = previous_time + 1e-6
                previous_time = t
                self.last_time = t
                if interval:
                    if t + 1e-9 < next_time:
                        continue
                    next_time = next_tick(t, interval)
                if self.sampling.mode == "keyframes" and self.info.fps:
                    # Only keyframes are decoded, so count frames by time instead.
                    index = int(round(t * self.info.fps))
                if self.decoded == 1 and rotation != self.info.rotation:
                    self.info = replace(self.info, rotation=rotation)
                yield Frame(index=index, time=t, key=bool(frame.key_frame), frame=frame, rotation=rotation)
        if self.decoded == 0:
            cut = _truncation_of(self.path)
            if cut:
                detail = f": the file is truncated ({cut}); re-download or re-copy it and try again"
            else:
                detail = f": {self.problems[0]}" if self.problems else ""
            raise DecodeError(f"no video frame could be decoded{detail}", self.path)

    def check_complete(self) -> None:
        """Warn when decoding ended well before the duration the container states."""
        duration = self.info.duration
        end = self.last_time
        margin = max(2.0, 0.1 * duration) if duration else 0.0
        short = bool(duration and end is not None and end < duration - margin)
        if short and self.sampling.mode == "keyframes":
            # Only keyframes were read, and the last one may sit well before the
            # end: look at the packets near the end before crying truncation.
            short = not self._packets_reach(duration - margin)  # type: ignore[operator]
        cut = _truncation_of(self.path)
        if self.problems or short or cut:
            decoded_to = f"{end:.1f} s" if end is not None else "nothing"
            stated = ""
            if duration and (end is None or round(end, 1) < round(duration, 1)):
                stated = f" of the {duration:.1f} s the container states"
            verdict = f"the file is truncated ({cut})" if cut else "the file may be truncated or damaged"
            why = f" ({self.problems[0]})" if self.problems else ""
            warnings.warn(f"{self.path}: decoded only up to {decoded_to}{stated}; {verdict}{why}",
                          VidprovWarning, stacklevel=2)

    def _packets_reach(self, seconds: float) -> bool:
        """Whether the stream holds packets at or after ``seconds`` (read, not decoded)."""
        lib = _av()
        stream = self._stream
        stream.discard = lib.stream.Discard.default
        time_base = stream.time_base or Fraction(1, 90000)
        start = stream.start_time or 0
        try:
            self._container.seek(start + int(seconds / time_base), stream=stream, backward=True)
            for packet in self._container.demux(stream):
                if packet.pts is not None and float((packet.pts - start) * time_base) >= seconds:
                    return True
        except lib.error.FFmpegError:
            return False
        return False


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or type(error).__name__
