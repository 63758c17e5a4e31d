"""Dates and times as containers and EXIF write them.

A time's zone is known only when the text carries a UTC offset, or when the
format defines one (Matroska ``DateUTC``, EXIF GPS time). A ``Z`` that a
reader adds on its own (FFmpeg does for QuickTime times) is not evidence, so
the caller says whether ``Z`` counts. Nothing here assumes UTC.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..errors import ValidationError

_ISO_LIKE = re.compile(
    r"(?P<year>\d{4})"
    r"(?:[-:](?P<month>\d{1,2})"
    r"(?:[-:](?P<day>\d{1,2})"
    r"(?:[T ]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?)?)?"
    r"\s*(?P<zone>Z|UTC|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)

# The form AVI IDIT chunks use, and C's ctime(): "Mon Mar 10 15:04:43 2003".
_CTIME = re.compile(r"[A-Za-z]{3}\s+(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
                    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+(?P<year>\d{4})")
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}

_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2})(?::?(?P<minutes>\d{2}))?")

#: Real UTC offsets run from -12:00 to +14:00.
_MAX_OFFSET = timedelta(hours=14)

#: Earliest year a stated capture time is taken at face value. Digital video
#: and EXIF are younger; 1904 and 1970 are the QuickTime and Unix zero points
#: that a device with an unset clock writes.
PLAUSIBLE_FROM_YEAR = 1980

_TOO_LONG = 200


@dataclass(frozen=True)
class ParsedTime:
    """``value`` is aware exactly when ``zone_known``."""

    value: datetime
    zone_known: bool
    precision: str


def parse_offset(raw: str) -> timezone:
    """Parse a UTC offset such as ``+01:00``, ``-0530`` or ``Z``."""
    text = raw.strip().rstrip("\x00")
    if text.upper() in ("Z", "UTC"):
        return timezone.utc
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValidationError("UTC offset", raw, "a signed offset like +01:00")
    minutes = int(match["minutes"] or 0)
    delta = timedelta(hours=int(match["hours"]), minutes=minutes)
    if minutes >= 60 or delta > _MAX_OFFSET:
        raise ValidationError("UTC offset", raw, "an offset between -14:00 and +14:00")
    return timezone(-delta if match["sign"] == "-" else delta)


def parse_time(raw: str, *, z_is_utc: bool = True, offset: str | None = None) -> ParsedTime:
    """Parse a stated time; raise :class:`ValidationError` if it is not one.

    ``offset`` is a separate offset tag (EXIF ``OffsetTimeOriginal``) used
    when the text has none. With ``z_is_utc=False`` a ``Z`` suffix leaves the
    zone unknown.
    """
    if not isinstance(raw, str):
        raise ValidationError("date", raw, "a string")
    text = raw.strip().rstrip("\x00").strip()
    if len(text) > _TOO_LONG:
        raise ValidationError("date", raw, f"a date of at most {_TOO_LONG} characters")
    parsed = _parse_iso_like(text, raw, z_is_utc) or _parse_ctime(text, raw) or _parse_rfc2822(text)
    if parsed is None:
        raise ValidationError("date", raw, "a date such as 2021-03-04T05:06:07+01:00")
    if offset is not None and not parsed.zone_known and parsed.precision in ("minute", "second"):
        zone = parse_offset(offset)
        parsed = ParsedTime(parsed.value.replace(tzinfo=zone), True, parsed.precision)
    return parsed


def _parse_iso_like(text: str, raw: str, z_is_utc: bool) -> ParsedTime | None:
    match = _ISO_LIKE.fullmatch(text)
    if match is None:
        return None
    year = int(match["year"])
    month = int(match["month"] or 1)
    day = int(match["day"] or 1)
    if match["day"]:
        precision = "second" if match["second"] else "minute" if match["hour"] else "day"
    else:
        precision = "month" if match["month"] else "year"
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        value = datetime(year, month, day, int(match["hour"] or 0), int(match["minute"] or 0),
                         int(match["second"] or 0), int(fraction))
    except ValueError as error:
        raise ValidationError("date", raw, f"a real calendar date and time ({error})") from None
    zone_text = match["zone"]
    if zone_text and precision in ("minute", "second"):
        if zone_text.upper() in ("Z", "UTC") and not z_is_utc:
            return ParsedTime(value, False, precision)
        return ParsedTime(value.replace(tzinfo=parse_offset(zone_text)), True, precision)
    return ParsedTime(value, False, precision)


def _parse_ctime(text: str, raw: str) -> ParsedTime | None:
    match = _CTIME.fullmatch(text)
    if match is None or match["month"].lower() not in _MONTHS:
        return None
    try:
        value = datetime(int(match["year"]), _MONTHS[match["month"].lower()], int(match["day"]),
                         int(match["hour"]), int(match["minute"]), int(match["second"]))
    except ValueError as error:
        raise ValidationError("date", raw, f"a real calendar date and time ({error})") from None
    return ParsedTime(value, False, "second")


def _parse_rfc2822(text: str) -> ParsedTime | None:
    # PNG's "Creation Time" is recommended to be in this form.
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None:  # pragma: no cover - older Pythons returned None
        return None
    return ParsedTime(value, value.tzinfo is not None, "second")


def implausibility(parsed: ParsedTime, now: datetime | None = None) -> str | None:
    """Why a parsed time cannot be a real capture time, or None if it can be."""
    now = now or datetime.now(timezone.utc)
    year = parsed.value.year
    if year < PLAUSIBLE_FROM_YEAR:
        return f"year {year} is before {PLAUSIBLE_FROM_YEAR}: probably an unset clock or a placeholder"
    if year > now.year + 1:
        return f"year {year} is in the future: probably a placeholder or a wrong clock"
    return None
