"""What a file says about itself: embedded metadata, normalised, with the evidence kept.

>>> meta = read_metadata("clip.mp4")                      # doctest: +SKIP
>>> [(t.meaning, t.value.isoformat(), t.zone_known) for t in meta.times]  # doctest: +SKIP

Videos (MP4/MOV/M4V/3GP, Matroska/WebM, AVI, MPEG-TS) are read through PyAV,
stills (JPEG, TIFF, PNG, WebP, HEIC) through exifread and Pillow. No external
program is run and no frame is decoded. Every normalised value names the key
it came from and the raw text read; :attr:`MediaMetadata.raw` keeps every tag.
"""

from __future__ import annotations

from .dates import ParsedTime, parse_offset, parse_time
from .iso6709 import Coordinates, parse_iso6709
from .model import (
    CONFIDENCES,
    SCHEMA_VERSION,
    ContentCredentials,
    Device,
    Field,
    FormatInfo,
    Hint,
    Location,
    MediaMetadata,
    Problem,
    RawTags,
    StreamInfo,
    TimeStamp,
)
from .read import read_metadata
from .render import render_raw, render_text
from .text import printable

__all__ = [
    "CONFIDENCES",
    "SCHEMA_VERSION",
    "ContentCredentials",
    "Coordinates",
    "Device",
    "Field",
    "FormatInfo",
    "Hint",
    "Location",
    "MediaMetadata",
    "ParsedTime",
    "Problem",
    "RawTags",
    "StreamInfo",
    "TimeStamp",
    "parse_iso6709",
    "parse_offset",
    "parse_time",
    "printable",
    "read_metadata",
    "render_raw",
    "render_text",
]
