"""ISO 6709 point strings, as phones and cameras write them into video files.

Latitude is ``±DD``, ``±DDMM`` or ``±DDMMSS`` and longitude ``±DDD``,
``±DDDMM`` or ``±DDDMMSS``, each with an optional decimal fraction on its last
unit; then an optional altitude ``±A``, an optional ``CRS<name>`` and the
closing ``/``. FFmpeg renders a 3GPP ``loci`` box in the same notation with the
place name after the slash, so text after the slash is kept as ``place``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import ValidationError

_POINT = re.compile(
    r"(?P<lat>[+-]\d+(?:\.\d*)?)"
    r"(?P<lon>[+-]\d+(?:\.\d*)?)"
    r"(?P<alt>[+-]\d+(?:\.\d*)?)?"
    r"(?:CRS(?P<crs>[A-Za-z0-9_.:-]+))?"
    r"(?:/(?P<place>.*))?",
    re.DOTALL,
)

#: Longest input worth trying: the longest valid point is well under this.
_MAX_LENGTH = 4096


@dataclass(frozen=True)
class Coordinates:
    latitude: float
    longitude: float
    altitude: float | None = None
    crs: str | None = None
    place: str | None = None

    def to_iso6709(self) -> str:
        """Decimal-degree form; :func:`parse_iso6709` reads it back to the same point."""
        text = f"{self.latitude:+010.6f}{self.longitude:+011.6f}"
        if self.altitude is not None:
            text += f"{self.altitude:+.3f}"
        if self.crs:
            text += f"CRS{self.crs}"
        return text + "/" + (self.place or "")


def _sexagesimal(text: str, degree_digits: int, what: str, raw: str) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, fraction = text[1:].partition(".")
    fraction_value = float("0." + fraction) if fraction else 0.0
    extra = len(whole) - degree_digits
    if extra not in (0, 2, 4):
        width = f"{degree_digits}, {degree_digits + 2} or {degree_digits + 4}"
        raise ValidationError(f"ISO 6709 {what}", raw, f"{width} digits before the decimal point")
    degrees = float(whole[:degree_digits])
    minutes = float(whole[degree_digits:degree_digits + 2]) if extra >= 2 else 0.0
    seconds = float(whole[degree_digits + 2:]) if extra == 4 else 0.0
    if extra == 0:
        degrees += fraction_value
    elif extra == 2:
        minutes += fraction_value
    else:
        seconds += fraction_value
    if minutes >= 60 or seconds >= 60:
        raise ValidationError(f"ISO 6709 {what}", raw, "minutes and seconds below 60")
    return sign * (degrees + minutes / 60 + seconds / 3600)


def parse_iso6709(raw: str) -> Coordinates:
    """Parse an ISO 6709 point; raise :class:`ValidationError` for anything else.

    Out-of-range values (latitude beyond ±90, longitude beyond ±180) are
    errors, not clamped: a wrong location is worse than none.
    """
    if not isinstance(raw, str):
        raise ValidationError("ISO 6709 point", raw, "a string")
    text = raw.strip().rstrip("\x00")
    if len(text) > _MAX_LENGTH:
        raise ValidationError("ISO 6709 point", raw, f"at most {_MAX_LENGTH} characters")
    match = _POINT.fullmatch(text)
    if match is None:
        raise ValidationError("ISO 6709 point", raw, "a point like +48.8577+002.2950+035.0/")
    latitude = _sexagesimal(match["lat"], 2, "latitude", raw)
    longitude = _sexagesimal(match["lon"], 3, "longitude", raw)
    if not -90 <= latitude <= 90:
        raise ValidationError("ISO 6709 latitude", raw, "-90 to +90 degrees")
    if not -180 <= longitude <= 180:
        raise ValidationError("ISO 6709 longitude", raw, "-180 to +180 degrees")
    altitude = float(match["alt"]) if match["alt"] else None
    if altitude is not None and not math.isfinite(altitude):
        raise ValidationError("ISO 6709 altitude", raw, "a finite number of metres")
    place = match["place"] or None
    return Coordinates(latitude, longitude, altitude, match["crs"], place)
