"""Turning raw tags into normalised values, shared by the video and still readers.

A value that cannot be read as what it claims to be is never dropped and
never guessed at: it stays in the raw tags and a :class:`Problem` says why.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import combinations

from ..errors import ValidationError
from .dates import implausibility, parse_time
from .iso6709 import parse_iso6709
from .model import Device, Field, Location, Problem, TimeStamp

#: Two statements of one moment closer than this agree (writers round, and
#: a track header is often written a second after the movie header).
TIME_TOLERANCE = timedelta(seconds=2)

_SHOWN_RAW = 200

#: Time stamps compared for disagreement; mux and edit times may differ by design.
_CAPTURE_MEANINGS = ("created", "recorded", "digitized")


def _short(raw: str | None) -> str | None:
    if raw is None or len(raw) <= _SHOWN_RAW:
        return raw
    return raw[:_SHOWN_RAW] + f"... ({len(raw) - _SHOWN_RAW} more characters)"


class Collector:
    def __init__(self) -> None:
        self.times: list[TimeStamp] = []
        self.locations: list[Location] = []
        self.problems: list[Problem] = []
        self._device: dict[str, list[Field[str]]] = {"make": [], "model": [], "software": []}

    def problem(self, code: str, source: str, message: str, raw: str | None = None) -> None:
        self.problems.append(Problem(code, source, message, _short(raw)))

    def time(self, meaning: str, scope: str, source: str, raw: str, *, z_is_utc: bool = True,
             offset: str | None = None, offset_source: str | None = None,
             note: str | None = None, text: str | None = None) -> None:
        """Add a stated time; ``text`` is what to parse when ``raw`` is not directly a date."""
        try:
            parsed = parse_time(raw if text is None else text, z_is_utc=z_is_utc, offset=offset)
        except ValidationError as error:
            if offset is not None and "offset" in error.field.lower():
                self.problem("unparseable_offset", offset_source or source, error.message, offset)
                self.time(meaning, scope, source, raw, z_is_utc=z_is_utc, note=note, text=text)
            else:
                self.problem("unparseable_date", source, error.message, raw)
            return
        uses_offset = offset is not None and parsed.zone_known and offset_source is not None
        stamp = TimeStamp(meaning, scope, source, raw, parsed.value, parsed.zone_known, parsed.precision,
                          offset_source if uses_offset else None, offset if uses_offset else None, note)
        self.times.append(stamp)
        reason = implausibility(parsed)
        if reason is not None:
            self.problem("implausible_date", source, reason, raw)

    def location(self, source: str, raw: str, place: str | None = None) -> None:
        try:
            point = parse_iso6709(raw)
        except ValidationError as error:
            self.problem("unparseable_location", source, error.message, raw)
            return
        self.locations.append(Location(source, raw, point.latitude, point.longitude, point.altitude,
                                       point.crs, place if place is not None else point.place))

    def point(self, source: str, raw: str, latitude: float, longitude: float,
              altitude: float | None = None) -> None:
        """A location already split into numbers (EXIF GPS)."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.problem("unparseable_location", source,
                         f"latitude {latitude} / longitude {longitude} is out of range", raw)
            return
        self.locations.append(Location(source, raw, latitude, longitude, altitude))

    def device(self, part: str, source: str, raw: str, value: str | None = None) -> None:
        text = (value if value is not None else raw).strip().rstrip("\x00").strip()
        if text:
            self._device[part].append(Field(text, source, raw))

    def build_device(self) -> Device:
        return Device(tuple(self._device["make"]), tuple(self._device["model"]),
                      tuple(self._device["software"]))

    def check_times(self) -> None:
        """Flag every pair of capture times that cannot both be right."""
        stamps = [stamp for stamp in self.times
                  if stamp.meaning in _CAPTURE_MEANINGS and stamp.precision in ("minute", "second")]
        for first, second in combinations(stamps, 2):
            if not _agree(first, second):
                self.problem("times_disagree", f"{first.source} / {second.source}",
                             f"{first.source} says {first.value.isoformat()}, "
                             f"{second.source} says {second.value.isoformat()}")


def _close(first: datetime, second: datetime, tolerance: timedelta) -> bool:
    try:
        return abs(first - second) <= tolerance
    except OverflowError:
        return False


def _agree(first: TimeStamp, second: TimeStamp) -> bool:
    tolerance = TIME_TOLERANCE
    if "minute" in (first.precision, second.precision):
        tolerance += timedelta(seconds=59)
    if first.zone_known == second.zone_known:
        return _close(first.value, second.value, tolerance)
    known, naive = (first, second) if first.zone_known else (second, first)
    # A time without a zone may be local time or UTC; either reading agrees.
    try:
        as_utc = known.value.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        as_utc = None
    local = known.value.replace(tzinfo=None)
    return _close(local, naive.value, tolerance) or (as_utc is not None and _close(as_utc, naive.value, tolerance))
