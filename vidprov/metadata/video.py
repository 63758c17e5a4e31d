"""Video containers through PyAV: tags, stream parameters, nothing decoded.

Opening a container lets FFmpeg probe stream parameters (as ffprobe does);
no frame is decoded here. Key names are FFmpeg's, which differ from the
atoms and elements in the file: ``©day`` is ``date``, Matroska ``DateUTC``
is ``creation_time``, AVI ``ICRD`` is ``date`` and ``IDIT`` ``creation_time``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, BinaryIO

from ..errors import NotMediaError
from ..media import DECODER_OPTIONS
from . import bmff
from .collect import Collector
from .model import Field, FormatInfo, StreamInfo
from .text import clean

QUICKTIME_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"

_QUICKTIME_NOTE = ("QuickTime times carry no time zone (ISO BMFF says UTC, many cameras write "
                   "local time); the Z is added by FFmpeg, not read from the file")
_DATE_UTC_NOTE = "Matroska DateUTC: when the file was muxed, in UTC by specification"


def _av() -> Any:
    import av
    import av.error

    return av


def reader_version() -> str:
    av = _av()
    libavformat = ".".join(str(part) for part in av.library_versions["libavformat"])
    return f"pyav {av.__version__} / libavformat {libavformat}"


def container_name(format_name: str, major_brand: str | None, head: bytes) -> str:
    """The container as a person names it, from FFmpeg's demuxer, the brand and the header."""
    if format_name == QUICKTIME_FAMILY:
        brand = (major_brand or "").strip().lower()
        if not brand or brand == "qt":
            return "mov"
        if brand.startswith("3g2"):
            return "3g2"
        if brand.startswith("3g"):
            return "3gp"
        if brand.startswith("m4v"):
            return "m4v"
        if brand.startswith("m4a"):
            return "m4a"
        return "mp4"
    if format_name == "matroska,webm":
        return _ebml_doctype(head) or "matroska"
    return format_name


def _ebml_doctype(head: bytes) -> str | None:
    at = head.find(b"\x42\x82", 4)
    if at < 0 or at + 3 > len(head) or not head[at + 2] & 0x80:
        return None
    length = head[at + 2] & 0x7F
    name = head[at + 3:at + 3 + length].decode("ascii", "replace")
    return name if name in ("webm", "matroska") else None


def _tags(metadata: Any) -> tuple[tuple[str, str], ...]:
    return tuple((clean(str(key)), clean(str(value))) for key, value in dict(metadata).items())


def _rate(rate: Fraction | None) -> tuple[float, str] | None:
    if not rate:
        return None
    return round(float(rate), 3), f"{rate.numerator}/{rate.denominator}"


def _positive(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and value > 0 else None


def open_container(handle: BinaryIO, path: str) -> Any:
    av = _av()
    try:
        # The decoder limits keep a crafted header from making FFmpeg's probe
        # build gigantic pictures.
        return av.open(handle, metadata_errors="backslashreplace", options=DECODER_OPTIONS)
    except (av.error.FFmpegError, ValueError, EOFError) as error:
        raise NotMediaError("not a video or image file vidprov can read "
                            f"(FFmpeg: {getattr(error, 'strerror', None) or error})", path) from None


def read_video(handle: BinaryIO, path: str, size: int, digest: str, head: bytes,
               collector: Collector) -> tuple[FormatInfo, tuple[StreamInfo, ...],
                                              tuple[tuple[str, tuple[tuple[str, str], ...]], ...], str,
                                              bmff.BmffFacts | None]:
    """Read one open video file; returns format, streams, raw groups, container name and box facts."""
    with open_container(handle, path) as container:
        format_name = container.format.name
        format_tags = _tags(container.metadata)
        duration = container.duration
        streams = [_stream_facts(stream) for stream in container.streams]
    tags = dict(format_tags)
    name = container_name(format_name, tags.get("major_brand"), head)
    facts = bmff.scan(handle, size) if format_name == QUICKTIME_FAMILY else None

    groups: list[tuple[str, tuple[tuple[str, str], ...]]] = [("format", format_tags)]
    groups += [(f"stream {facts_['index']}", facts_["tags"]) for facts_ in streams]
    if facts is not None:
        groups.append(("bmff", _bmff_raw(facts)))
        for where, message in facts.problems:
            collector.problem("unreadable_box", f"bmff:{where}", message)

    brands = tags.get("compatible_brands")
    format_info = FormatInfo(
        container=Field(name, "format:name", format_name),
        size=Field(size, "file"),
        sha256=Field(digest, "file"),
        major_brand=Field(tags["major_brand"], "format:major_brand", tags["major_brand"])
        if "major_brand" in tags else None,
        compatible_brands=Field(tuple(brands[i:i + 4] for i in range(0, len(brands), 4)),
                                "format:compatible_brands", brands) if brands else None,
        duration=Field(round(duration / 1_000_000, 6), "format:duration", str(duration))
        if isinstance(duration, int) and duration > 0 else None,
    )
    infos = tuple(_stream_info(item, facts) for item in streams)
    _collect_tags(collector, name, "format", "container", format_tags, facts)
    for item in streams:
        _collect_tags(collector, name, f"stream {item['index']}", f"stream {item['index']}", item["tags"], None)
    return format_info, infos, tuple(groups), name, facts


def _stream_facts(stream: Any) -> dict[str, Any]:
    context = getattr(stream, "codec_context", None)
    facts: dict[str, Any] = {"index": stream.index, "kind": stream.type, "tags": _tags(stream.metadata)}
    if context is None:
        return facts
    facts["codec"] = getattr(context, "name", None)
    facts["profile"] = stream.profile or getattr(context, "profile", None)
    facts["bit_rate"] = _positive(getattr(context, "bit_rate", None))
    if stream.type == "video":
        facts["width"] = _positive(context.width)
        facts["height"] = _positive(context.height)
        facts["rate"] = (_rate(stream.average_rate), "avg_frame_rate") if stream.average_rate else \
            (_rate(stream.guessed_rate), "guessed_rate")
    elif stream.type == "audio":
        facts["channels"] = _positive(getattr(context, "channels", None))
        facts["sample_rate"] = _positive(getattr(context, "sample_rate", None))
    return facts


def _simple(facts: dict[str, Any], key: str, index: int) -> Field[Any] | None:
    value = facts.get(key)
    return Field(value, f"stream {index}:{key}", str(value)) if value is not None else None


def _stream_info(facts: dict[str, Any], boxes: bmff.BmffFacts | None) -> StreamInfo:
    index = facts["index"]
    rate = facts.get("rate")
    frame_rate = Field(rate[0][0], f"stream {index}:{rate[1]}", rate[0][1]) if rate and rate[0] else None
    rotation = None
    if boxes is not None and facts["kind"] == "video" and index < len(boxes.rotations):
        degrees = boxes.rotations[index]
        if degrees is not None:
            rotation = Field(degrees, f"bmff:moov/trak[{index}]/tkhd matrix", boxes.matrices[index])
    return StreamInfo(
        index, facts["kind"], codec=_simple(facts, "codec", index), profile=_simple(facts, "profile", index),
        width=_simple(facts, "width", index), height=_simple(facts, "height", index),
        frame_rate=frame_rate, rotation=rotation, bit_rate=_simple(facts, "bit_rate", index),
        channels=_simple(facts, "channels", index), sample_rate=_simple(facts, "sample_rate", index),
    )


def _bmff_raw(facts: bmff.BmffFacts) -> tuple[tuple[str, str], ...]:
    raw: list[tuple[str, str]] = [("top-level boxes", " ".join(facts.top_level))]
    raw += [(f"moov/trak[{index}]/tkhd matrix", matrix) for index, matrix in enumerate(facts.matrices) if matrix]
    raw += [(path, clean(value)) for path, value in facts.user_data]
    if facts.has_c2pa_box:
        raw.append(("uuid c2pa", "present"))
    seen: dict[str, int] = {}
    unique: list[tuple[str, str]] = []
    for key, value in raw:
        # The same atom may repeat; number the repeats so none is lost.
        count = seen.get(key, 0)
        seen[key] = count + 1
        unique.append((key if count == 0 else f"{key} #{count + 1}", value))
    return tuple(unique)


def _collect_tags(collector: Collector, container: str, group: str, scope: str,
                  tags: tuple[tuple[str, str], ...], facts: bmff.BmffFacts | None) -> None:
    quicktime = container in ("mov", "mp4", "m4v", "m4a", "3gp", "3g2")
    matroska = container in ("matroska", "webm")
    for key, value in tags:
        lowered = key.lower()
        source = f"{group}:{key}"
        if lowered == "creation_time":
            if matroska and group == "format":
                collector.time("muxed", scope, source, value, z_is_utc=True, note=_DATE_UTC_NOTE)
            elif quicktime:
                collector.time("created", scope, source, value, z_is_utc=False, note=_QUICKTIME_NOTE)
            else:
                collector.time("created", scope, source, value, z_is_utc=False)
        elif lowered == "date":
            collector.time("dated", scope, source, value)
        elif lowered in ("com.apple.quicktime.creationdate", "date_recorded"):
            collector.time("recorded", scope, source, value)
        elif lowered == "date_digitized":
            collector.time("digitized", scope, source, value)
        elif lowered == "date_encoded":
            collector.time("modified", scope, source, value, note="Matroska DATE_ENCODED: when it was encoded")
        elif lowered in ("com.apple.quicktime.location.iso6709", "recording_location"):
            if lowered == "recording_location" and not value.lstrip()[:1] in ("+", "-"):
                continue  # Matroska also allows a place name or country code here
            collector.location(source, value)
        elif lowered == "location" and (facts is None or not facts.locations):
            collector.location(source, value)
        elif lowered in ("com.apple.quicktime.make", "com.android.manufacturer", "make"):
            collector.device("make", source, value)
        elif lowered in ("com.apple.quicktime.model", "com.android.model", "model"):
            collector.device("model", source, value)
        elif lowered == "com.apple.quicktime.software":
            collector.device("software", source, value)
        elif lowered == "com.android.version":
            collector.device("software", source, value, f"Android {value.strip()}")
    if facts is not None and group == "format":
        for path, text, place in facts.locations:
            collector.location(f"bmff:{path}", text, place)
