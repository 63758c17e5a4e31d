"""Text forms of a metadata record for a terminal.

Everything that came from the file passes through :func:`printable`, so a
tag cannot move the cursor, clear the screen or reorder the line it is on.
"""

from __future__ import annotations

from typing import Any

from .model import Field, MediaMetadata, StreamInfo, TimeStamp
from .text import printable

#: Longest raw value shown in the table; ``--raw`` and ``--json`` show all.
TABLE_VALUE_LIMIT = 120

_LABEL_WIDTH = 12


def _line(label: str, value: str, evidence: str = "") -> str:
    text = f"  {label:<{_LABEL_WIDTH}}{value}"
    return f"{text}    [{evidence}]" if evidence else text


def _evidence(source: str, raw: str | None) -> str:
    shown = printable(source)
    if raw is None:
        return shown
    return f"{shown} = {printable(raw, TABLE_VALUE_LIMIT)!s}"


def _field_line(label: str, item: Field[Any] | None, shown: str | None = None) -> list[str]:
    if item is None:
        return []
    value = shown if shown is not None else printable(item.value, TABLE_VALUE_LIMIT)
    return [_line(label, value, _evidence(item.source, item.raw))]


def _stream_text(stream: StreamInfo) -> str:
    parts = [stream.kind]
    for item in (stream.codec, stream.profile):
        if item is not None:
            parts.append(printable(item.value, 40))
    if stream.width is not None and stream.height is not None:
        parts.append(f"{stream.width.value}x{stream.height.value}")
    if stream.frame_rate is not None:
        parts.append(f"{stream.frame_rate.value:g} fps")
    if stream.rotation is not None:
        parts.append(f"rotate {stream.rotation.value}° clockwise")
    if stream.channels is not None:
        parts.append(f"{stream.channels.value} ch")
    if stream.sample_rate is not None:
        parts.append(f"{stream.sample_rate.value} Hz")
    if stream.bit_rate is not None:
        parts.append(f"{stream.bit_rate.value / 1000:.0f} kb/s")
    return " ".join(parts)


_PRECISION_LENGTH = {"year": 4, "month": 7, "day": 10}


def _time_text(stamp: TimeStamp) -> str:
    """The time at the precision it was written: "2021" is a year, not 1 January."""
    if stamp.precision in _PRECISION_LENGTH:
        return f"{stamp.meaning:<10} {stamp.value.isoformat()[:_PRECISION_LENGTH[stamp.precision]]}"
    zone = "" if stamp.zone_known else " (time zone unknown)"
    timespec = "minutes" if stamp.precision == "minute" else "auto"
    return f"{stamp.meaning:<10} {stamp.value.isoformat(timespec=timespec)}{zone}"


def render_text(meta: MediaMetadata) -> list[str]:
    """The readable table: one line per fact, its evidence in brackets."""
    lines = [printable(meta.path)]
    fmt = meta.format
    container = printable(fmt.container.value)
    if fmt.major_brand is not None:
        container += f" (brand {printable(fmt.major_brand.value)!s})"
    lines += _field_line("container", fmt.container, container)
    if fmt.compatible_brands is not None:
        lines += _field_line("compatible", fmt.compatible_brands,
                             printable(" ".join(fmt.compatible_brands.value)))
    if fmt.duration is not None:
        lines += _field_line("duration", fmt.duration, f"{fmt.duration.value:.3f} s")
    lines.append(_line("size", f"{fmt.size.value} bytes"))
    lines.append(_line("sha256", fmt.sha256.value))
    for stream in meta.streams:
        lines.append(_line(f"stream {stream.index}", _stream_text(stream)))
        if stream.rotation is not None:
            lines.append(_line("", "", _evidence(stream.rotation.source, stream.rotation.raw)))
    notes_shown: set[str] = set()
    for stamp in meta.times:
        evidence = _evidence(stamp.source, stamp.raw)
        if stamp.zone_source is not None:
            evidence += "; " + _evidence(stamp.zone_source, stamp.zone_raw)
        lines.append(_line("time", _time_text(stamp), evidence))
        if stamp.note and stamp.note not in notes_shown:
            notes_shown.add(stamp.note)
            lines.append(_line("", f"  note: {printable(stamp.note)}"))
    for location in meta.locations:
        where = f"{location.latitude:.6f}, {location.longitude:.6f}"
        if location.altitude is not None:
            where += f", {location.altitude:g} m"
        if location.place:
            where += f" ({printable(location.place, 60)})"
        lines.append(_line("location", where, _evidence(location.source, location.raw)))
    for part in ("make", "model", "software"):
        for item in getattr(meta.device, part):
            lines += _field_line(part, item)
    for hint in meta.hints:
        lines.append(_line("hint", f"{hint.confidence:<9}{hint.kind}: {printable(hint.name)}",
                           _evidence(hint.source, hint.raw)))
    credentials = meta.credentials
    text = credentials.status
    if credentials.validation_state:
        text += f", {printable(credentials.validation_state)}"
    if credentials.signer:
        text += f", signed by {printable(credentials.signer)}"
    if credentials.actions:
        text += f", actions: {printable(', '.join(credentials.actions))}"
    if credentials.detail:
        text += f" ({printable(credentials.detail)})"
    lines.append(_line("c2pa", text))
    for problem in meta.problems:
        lines.append(_line("problem", f"{problem.code}: {printable(problem.message)}",
                           _evidence(problem.source, problem.raw)))
    return lines


def render_raw(meta: MediaMetadata) -> list[str]:
    """Every tag exactly as read (escaped), grouped, with the reader that read it."""
    lines = [printable(meta.path), f"  reader: {printable(meta.raw.reader)}"]
    for group, tags in meta.raw.groups:
        lines.append(f"  [{printable(group)}]")
        lines += [f"    {printable(key)} = {printable(value)}" for key, value in tags]
    return lines
