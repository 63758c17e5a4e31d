"""Pictures for the report: frames picked by time, shrunk, and encoded as JPEG data URIs.

Only small thumbnails are ever held; a full-size frame lives just long enough
to be encoded (see :func:`vidprov.report.write_html`).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np

from ..borders import CropBox, cut_grid
from ..errors import FileAccessError, MediaError
from ..fingerprint import file_sha256
from ..media import Decoder, Sampling

#: Frames are found by their presentation time; two times closer than this are the same frame.
TIME_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Picture:
    """An encoded JPEG as a ``data:`` URI, with its size in pixels."""

    uri: str
    width: int
    height: int


def encode_jpeg(rgb: np.ndarray, quality: int) -> Picture:
    """A JPEG data URI of an RGB array."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB array
        raise FileAccessError("could not encode a frame as JPEG")
    text = base64.b64encode(encoded.tobytes()).decode("ascii")
    return Picture(f"data:image/jpeg;base64,{text}", int(rgb.shape[1]), int(rgb.shape[0]))


def shrink(rgb: np.ndarray, width: int) -> np.ndarray:
    """``rgb`` scaled down to ``width`` pixels across (never up)."""
    import cv2

    if rgb.shape[1] <= width:
        return rgb
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def cut(rgb: np.ndarray, box: CropBox | None) -> np.ndarray:
    """The part of a frame inside ``box`` (clamped to the frame), straightened when the box has
    corners; the whole frame for None."""
    if box is None:
        return rgb
    height, width = rgb.shape[:2]
    if box.corners is not None:
        return cut_grid(rgb, box, width, height)
    x0, y0 = min(max(0, box.x), width - 1), min(max(0, box.y), height - 1)
    x1, y1 = min(width, box.x + box.width), min(height, box.y + box.height)
    if x1 <= x0 or y1 <= y0:
        return rgb
    return rgb[y0:y1, x0:x1]


def frames_at(path: str | os.PathLike[str], times: Iterable[float]) -> Iterator[tuple[float, np.ndarray]]:
    """The full RGB frame shown at each of ``times`` (seconds, as fingerprints record them), in time order.

    One decoding pass over the clip, stopping after the last time wanted; each
    frame is handed on and dropped, so memory stays flat.
    """
    wanted = sorted(set(times))
    if not wanted:
        return
    position = 0
    with Decoder(path, Sampling.all()) as decoder:
        for frame in decoder:
            while position < len(wanted) and wanted[position] < frame.time - TIME_TOLERANCE:
                position += 1  # a time no frame has (the file changed): skip it
            if position == len(wanted):
                return
            if abs(wanted[position] - frame.time) <= TIME_TOLERANCE:
                yield wanted[position], frame.rgb()
                position += 1


def thumbnails_at(path: str | os.PathLike[str], views: Mapping[float, tuple[CropBox | None, bool]],
                  width: int, quality: int = 82) -> dict[float, Picture]:
    """A JPEG thumbnail of the frame at each time in ``views``: cut to its box, and flipped if asked.

    A clip that cannot be decoded gives no thumbnails rather than an error:
    the report then shows times without pictures.
    """
    pictures: dict[float, Picture] = {}
    try:
        for time, rgb in frames_at(path, views):
            box, flip = views[time]
            picture = shrink(cut(rgb, box), width)
            if flip:
                picture = np.ascontiguousarray(picture[:, ::-1])
            pictures[time] = encode_jpeg(picture, quality)
    except MediaError:
        return pictures
    return pictures


def find_files(wanted: Mapping[str, int], folders: Iterable[tuple[str | os.PathLike[str], bool]]) -> dict[str, str]:
    """Files whose sha256 is a key of ``wanted`` (sha256 to size in bytes), looked for in ``folders``.

    ``folders`` are (folder, recursive) pairs. Only files of a wanted size are
    read to hash, so a large folder costs little more than listing it.
    """
    found: dict[str, str] = {}
    sizes = set(wanted.values())
    for folder, recursive in folders:
        if len(found) == len(wanted):
            break
        for path in _files(Path(folder), recursive):
            try:
                if path.stat().st_size not in sizes:
                    continue
                sha256, _ = file_sha256(path)
            except OSError:
                continue
            if sha256 in wanted and sha256 not in found:
                found[sha256] = str(path)
    return found


def _files(folder: Path, recursive: bool) -> Iterator[Path]:
    try:
        if recursive:
            for root, _, names in os.walk(folder):
                for name in sorted(names):
                    yield Path(root) / name
        else:
            for path in sorted(folder.iterdir()):
                if path.is_file():
                    yield path
    except OSError:
        return
