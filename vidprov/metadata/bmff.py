"""The few ISO base media (MP4/MOV/3GP/HEIC) boxes FFmpeg does not hand over.

PyAV exposes no reader for a stream's display matrix, and FFmpeg folds a
3GPP ``loci`` box and a QuickTime ``©xyz`` atom into one ``location`` tag,
losing which was which and the ``loci`` place name's structure. So the box
tree is walked here, reading only the headers and the ``moov`` box; the media
data is skipped with a seek.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

#: C2PA manifests in BMFF live in a top-level ``uuid`` box with this id.
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")

#: A ``moov`` larger than this is not read: it would mean tens of hours of
#: sample tables, or a damaged size field.
MAX_MOOV_BYTES = 64 * 1024 * 1024

_MAX_BOXES = 100_000
_CONTAINERS = {b"moov", b"trak", b"mdia", b"udta", b"edts", b"minf"}


@dataclass
class BmffFacts:
    major_brand: str | None = None
    minor_version: int | None = None
    compatible_brands: tuple[str, ...] = ()
    top_level: list[str] = field(default_factory=list)
    #: Clockwise degrees per track, in track order (FFmpeg's stream order).
    rotations: list[int | None] = field(default_factory=list)
    matrices: list[str] = field(default_factory=list)
    #: (box path, text) for every ``©xyz`` and ``loci`` found.
    locations: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: Every user-data atom as (path, readable value), for the raw dump.
    user_data: list[tuple[str, str]] = field(default_factory=list)
    has_c2pa_box: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)


def _name(box_type: bytes) -> str:
    return box_type.decode("latin-1")


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    offset = start
    count = 0
    while offset + 8 <= end and count < _MAX_BOXES:
        count += 1
        size, box_type = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield box_type, offset + header, offset + size
        offset += size


def scan(handle: BinaryIO, file_size: int) -> BmffFacts:
    """Walk the top-level boxes of an open file and read ``ftyp`` and ``moov``."""
    facts = BmffFacts()
    offset = 0
    count = 0
    while offset + 8 <= file_size and count < _MAX_BOXES:
        count += 1
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            break
        size, box_type = struct.unpack_from(">I4s", header)
        header_size = 8
        if size == 1 and len(header) >= 16:
            size = struct.unpack_from(">Q", header, 8)[0]
            header_size = 16
        elif size == 0:
            size = file_size - offset
        if size < header_size:
            facts.problems.append((f"box {_name(box_type)!r} at {offset}", "box size is smaller than its header"))
            break
        facts.top_level.append(_name(box_type))
        payload_size = size - header_size
        handle.seek(offset + header_size)
        if box_type == b"ftyp":
            _read_ftyp(handle.read(min(payload_size, 4096)), facts)
        elif box_type == b"moov":
            if payload_size > MAX_MOOV_BYTES:
                facts.problems.append(("moov", f"moov box of {payload_size} bytes not scanned"))
            else:
                _read_moov(handle.read(payload_size), facts)
        elif box_type == b"uuid":
            if handle.read(16) == C2PA_UUID:
                facts.has_c2pa_box = True
        offset += size
    return facts


def _read_ftyp(payload: bytes, facts: BmffFacts) -> None:
    if len(payload) < 8:
        return
    facts.major_brand = _name(payload[:4])
    facts.minor_version = struct.unpack_from(">I", payload, 4)[0]
    facts.compatible_brands = tuple(_name(payload[i:i + 4]) for i in range(8, len(payload) - 3, 4))


def _read_moov(data: bytes, facts: BmffFacts) -> None:
    for box_type, start, end in _boxes(data):
        if box_type == b"trak":
            _read_trak(data, start, end, facts)
        elif box_type == b"udta":
            _read_udta(data, start, end, "moov/udta", facts)
        elif box_type == b"meta":
            _read_meta(data, start, end, "moov/meta", facts)


def _read_trak(data: bytes, start: int, end: int, facts: BmffFacts) -> None:
    track = len(facts.rotations)
    facts.rotations.append(None)
    facts.matrices.append("")
    for box_type, child_start, child_end in _boxes(data, start, end):
        if box_type == b"tkhd":
            matrix = _tkhd_matrix(data[child_start:child_end])
            if matrix is not None:
                facts.matrices[track] = " ".join(str(value) for value in matrix)
                facts.rotations[track] = rotation_from_matrix(matrix)
        elif box_type == b"udta":
            _read_udta(data, child_start, child_end, f"moov/trak[{track}]/udta", facts)


def _tkhd_matrix(payload: bytes) -> tuple[int, ...] | None:
    if not payload:
        return None
    # version 1 widens the three times and the duration to 64 bits
    offset = 4 + (32 if payload[0] == 1 else 20) + 16
    if len(payload) < offset + 36:
        return None
    return struct.unpack_from(">9i", payload, offset)


def rotation_from_matrix(matrix: tuple[int, ...]) -> int | None:
    """Clockwise display rotation in degrees (0, 90, 180, 270), as exiftool reports it.

    None when the matrix is not a rotation by a multiple of 90 degrees (a
    shear, or an all-zero matrix some writers leave).
    """
    a, b, _, c, d = matrix[0] / 65536, matrix[1] / 65536, matrix[2], matrix[3] / 65536, matrix[4] / 65536
    if math.hypot(a, b) < 1e-6:
        return None
    degrees = math.degrees(math.atan2(b, a))
    rounded = int(round(degrees / 90.0)) * 90 % 360
    if abs((degrees - rounded + 180) % 360 - 180) > 1 or abs(a - d) > 1e-3 or abs(b + c) > 1e-3:
        return None
    return rounded


def _read_udta(data: bytes, start: int, end: int, path: str, facts: BmffFacts) -> None:
    for box_type, child_start, child_end in _boxes(data, start, end):
        name = _name(box_type)
        payload = data[child_start:child_end]
        atom_path = f"{path}/{name}"
        if box_type == b"meta":
            _read_meta(data, child_start, child_end, atom_path, facts)
            continue
        if box_type == b"loci":
            text, place = _loci_text(payload)
            if text is None:
                facts.problems.append((atom_path, "loci box too short to hold a point"))
                facts.user_data.append((atom_path, payload.hex()))
            else:
                facts.locations.append((atom_path, text, place))
                facts.user_data.append((atom_path, text + "/" + (place or "")))
            continue
        value = _quicktime_string(payload) if box_type[:1] == b"\xa9" else None
        if value is None:
            value = payload.hex() if len(payload) <= 256 else f"{len(payload)} bytes"
        elif box_type == b"\xa9xyz":
            facts.locations.append((atom_path, value, None))
        facts.user_data.append((atom_path, value))


def _read_meta(data: bytes, start: int, end: int, path: str, facts: BmffFacts) -> None:
    # ISO 'meta' is a full box (4 bytes of version and flags); QuickTime's is
    # not. Tell them apart by whether a box header follows directly.
    if end - start >= 8 and data[start + 4:start + 8] not in (b"hdlr", b"keys", b"ilst"):
        start += 4
    for box_type, child_start, child_end in _boxes(data, start, end):
        if box_type != b"ilst":
            continue
        for item_type, item_start, item_end in _boxes(data, child_start, child_end):
            if item_type != b"\xa9xyz":
                continue
            for data_type, data_start, data_end in _boxes(data, item_start, item_end):
                if data_type == b"data" and data_end - data_start > 8:
                    text = data[data_start + 8:data_end].decode("utf-8", "backslashreplace")
                    facts.locations.append((f"{path}/ilst/©xyz", text, None))
                    facts.user_data.append((f"{path}/ilst/©xyz", text))


def _quicktime_string(payload: bytes) -> str | None:
    """The first string of a QuickTime international-text atom (length, language, text)."""
    if len(payload) < 4:
        return None
    length = struct.unpack_from(">H", payload)[0]
    if 4 + length > len(payload):
        return None
    return payload[4:4 + length].decode("utf-8", "backslashreplace")


def _loci_text(payload: bytes) -> tuple[str | None, str | None]:
    """A 3GPP TS 26.244 ``loci`` box as an ISO 6709 string and its place name."""
    if len(payload) < 6:
        return None, None
    name_end = payload.find(b"\x00", 6)
    if name_end < 0:
        return None, None
    place = payload[6:name_end].decode("utf-8", "backslashreplace") or None
    numbers = name_end + 2  # skip the terminator and the one-byte role
    if len(payload) < numbers + 12:
        return None, None
    longitude, latitude, altitude = (value / 65536 for value in struct.unpack_from(">3i", payload, numbers))
    text = f"{latitude:+010.6f}{longitude:+011.6f}"
    if altitude:
        # 0 is what writers store when they have no altitude (FFmpeg reads it so too).
        text += f"{altitude:+.3f}"
    return text, place
