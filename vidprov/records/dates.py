"""Times with a precision, and date claims: instants, intervals and "unknown".

The accepted syntax is a focused subset of EDTF / ISO 8601 (see
``docs/records.md``)::

    2024                      a year          (precision year)
    2024-10                   a month         (precision month)
    2024-10-15                a day           (precision day)
    2024-10-15T08Z            an hour         (precision hour)
    2024-10-15T08:00+03:00    a minute        (precision minute)
    2024-10-15T08:00:05Z      a second        (precision second)
    2024-10-15/2024-10-18     an interval; ``..`` marks an open end
    max-age:3d                at most 3 days (or h hours, w weeks) before the
                              appearance was posted
    unknown

A value without a time zone stays without one ("floating" local time): the
parser never guesses a zone. Every value stands for the whole span of its
precision, so ``2024-10-15`` runs from 00:00 to 23:59:59.999999 that day.
Fractions of a second are accepted and dropped: a second is the finest
precision kept.
"""

from __future__ import annotations

import calendar
import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from ..errors import ValidationError
from ._fields import check_enum, check_optional
from ._serial import DictReader, format_datetime, nested_dict

DATE_SYNTAX = ("YYYY, YYYY-MM, YYYY-MM-DD, an ISO 8601 datetime such as 2024-10-15T08:00Z, "
               "an interval A/B (open ends ../B and A/..), max-age:3d (h, d or w) or unknown")
TIMESTAMP_SYNTAX = "YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 datetime such as 2024-10-15T08:00Z"


class Precision(str, enum.Enum):
    """How finely a time is known, finest first."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"

    @property
    def rank(self) -> int:
        return _PRECISION_ORDER.index(self)


_PRECISION_ORDER = list(Precision)


def coarser(a: Precision, b: Precision) -> Precision:
    return a if a.rank >= b.rank else b


def finer(a: Precision, b: Precision) -> Precision:
    return a if a.rank <= b.rank else b


# ---------------------------------------------------------------- Timestamp


@dataclass(frozen=True, kw_only=True)
class Timestamp:
    """A point in time known to a precision, such as an appearance's ``posted_at``.

    ``value`` is the start of the span: for precision day it is midnight.
    """

    value: datetime
    precision: Precision

    def __post_init__(self) -> None:
        precision = check_enum("precision", Precision, self.precision)
        object.__setattr__(self, "precision", precision)
        value = self.value
        if not isinstance(value, datetime):
            raise ValidationError("value", value, "a datetime")
        if _truncate(value, precision) != value or value.microsecond:
            raise ValidationError("value", value.isoformat(),
                                  f"a datetime with nothing finer than its precision ({precision.value})")
        offset = value.utcoffset()
        if offset is not None:
            if offset % timedelta(minutes=1):
                raise ValidationError("value", value.isoformat(), "a UTC offset in whole minutes")
            try:
                value.astimezone(timezone.utc)
                self.latest.astimezone(timezone.utc)
            except OverflowError:
                raise ValidationError("value", value.isoformat(),
                                      "a time that falls within years 1-9999 in UTC") from None

    @classmethod
    def truncated(cls, value: datetime, precision: Precision | str) -> Timestamp:
        """The span of ``precision`` that contains ``value``."""
        precision = check_enum("precision", Precision, precision)
        if not isinstance(value, datetime):
            raise ValidationError("value", value, "a datetime")
        return cls(value=_truncate(value, precision).replace(microsecond=0), precision=precision)

    @classmethod
    def from_epoch(cls, seconds: float, field: str = "timestamp") -> Timestamp:
        """Seconds since 1970-01-01 UTC, as yt-dlp's ``timestamp`` gives: second precision."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ValidationError(field, seconds, "a finite number of seconds since 1970-01-01 UTC")
        try:
            value = _EPOCH + timedelta(seconds=math.floor(seconds))
        except OverflowError:
            raise ValidationError(field, seconds, "seconds since 1970 that fall within years 1-9999") from None
        return cls(value=value, precision=Precision.SECOND)

    @property
    def earliest(self) -> datetime:
        return self.value

    @property
    def latest(self) -> datetime:
        """The last microsecond of the span (inclusive)."""
        return _end_of(self.value, self.precision)

    @property
    def edtf(self) -> str:
        """The canonical text form; a zone is written only where there is a time of day."""
        value, precision = self.value, self.precision
        text = f"{value.year:04d}"
        if precision is Precision.YEAR:
            return text
        text += f"-{value.month:02d}"
        if precision is Precision.MONTH:
            return text
        text += f"-{value.day:02d}"
        if precision is Precision.DAY:
            return text
        text += f"T{value.hour:02d}"
        if precision is not Precision.HOUR:
            text += f":{value.minute:02d}"
        if precision is Precision.SECOND:
            text += f":{value.second:02d}"
        return text + _format_zone(value)

    def __str__(self) -> str:
        return self.edtf

    def to_dict(self) -> dict[str, Any]:
        return {"value": format_datetime(self.value), "precision": self.precision.value}

    @classmethod
    def from_dict(cls, data: Any, where: str = "timestamp") -> Timestamp:
        reader = DictReader(data, where)
        value = reader.datetime("value")
        precision = reader.value("precision", str)
        reader.finish()
        return cls(value=value, precision=precision)  # type: ignore[arg-type]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_SINGLE = re.compile(
    r"""(?P<year>[0-9]{4})
        (?:-(?P<month>[0-9]{2})
          (?:-(?P<day>[0-9]{2})
            (?:T(?P<hour>[0-9]{2})
              (?::(?P<minute>[0-9]{2})
                (?::(?P<second>[0-9]{2})(?:[.,][0-9]+)?)?
              )?
              (?P<zone>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?
            )?
          )?
        )?""",
    re.VERBOSE | re.ASCII | re.IGNORECASE)


def parse_timestamp(text: str, *, field: str = "timestamp") -> Timestamp:
    """Parse one value (no interval) into a :class:`Timestamp` with its precision."""
    if not isinstance(text, str):
        raise ValidationError(field, text, TIMESTAMP_SYNTAX)
    return _parse_single(text.strip(), field, TIMESTAMP_SYNTAX, text)


def _parse_single(text: str, field: str, allowed: str, original: str) -> Timestamp:
    match = _SINGLE.fullmatch(text)
    if match is None:
        raise ValidationError(field, original, allowed)
    parts = match.groupdict()
    precision = Precision.YEAR
    for name, finer_precision in (("month", Precision.MONTH), ("day", Precision.DAY),
                                  ("hour", Precision.HOUR), ("minute", Precision.MINUTE),
                                  ("second", Precision.SECOND)):
        if parts[name] is not None:
            precision = finer_precision
    try:
        zone = _parse_zone(parts["zone"])
        value = datetime(int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
                         int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
                         tzinfo=zone)
    except ValueError:
        raise ValidationError(field, original, "a real calendar date and time (years 0001-9999), "
                                               "with a UTC offset under 24 hours") from None
    return Timestamp(value=value, precision=precision)


def _parse_zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise ValueError("minutes of a UTC offset must be under 60")
    offset = sign * timedelta(hours=hours, minutes=minutes)
    return timezone.utc if not offset else timezone(offset)  # raises ValueError past 24h


def _format_zone(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        return ""
    if not offset:
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _truncate(value: datetime, precision: Precision) -> datetime:
    if precision is Precision.YEAR:
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if precision is Precision.MONTH:
        return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if precision is Precision.DAY:
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision is Precision.HOUR:
        return value.replace(minute=0, second=0, microsecond=0)
    if precision is Precision.MINUTE:
        return value.replace(second=0, microsecond=0)
    return value.replace(microsecond=0)


def _end_of(start: datetime, precision: Precision) -> datetime:
    # replace() rather than "start + one unit - 1µs" so that 9999-12-31 cannot overflow.
    end = start.replace(microsecond=999_999)
    if precision is Precision.SECOND:
        return end
    end = end.replace(second=59)
    if precision is Precision.MINUTE:
        return end
    end = end.replace(minute=59)
    if precision is Precision.HOUR:
        return end
    end = end.replace(hour=23)
    if precision is Precision.DAY:
        return end
    if precision is Precision.YEAR:
        end = end.replace(month=12)
    return end.replace(day=calendar.monthrange(end.year, end.month)[1])


# ------------------------------------------------------------- comparisons

# UTC offsets in use run from -12:00 to +14:00, so a zone-less local time is
# some instant in [local - 14h, local + 12h] UTC.
_ZONE_SLACK_BEFORE = timedelta(hours=14)
_ZONE_SLACK_AFTER = timedelta(hours=12)


def _utc_window(value: datetime) -> tuple[datetime, datetime]:
    if value.utcoffset() is not None:
        utc = value.astimezone(timezone.utc).replace(tzinfo=None)
        return utc, utc
    low = value - _ZONE_SLACK_BEFORE if value - datetime.min > _ZONE_SLACK_BEFORE else datetime.min
    high = value + _ZONE_SLACK_AFTER if datetime.max - value > _ZONE_SLACK_AFTER else datetime.max
    return low, high


def certainly_after(a: datetime, b: datetime) -> bool:
    """Whether ``a`` is after ``b`` whatever zone a zone-less one of them is in."""
    if (a.utcoffset() is None) == (b.utcoffset() is None):
        return a > b
    return _utc_window(a)[0] > _utc_window(b)[1]


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    # == alone treats 08:00Z and 11:00+03:00 as equal; the stored zone matters too.
    if a is None or b is None:
        return a is b
    return a == b and a.utcoffset() == b.utcoffset()


# --------------------------------------------------------------- DateClaim


class DateKind(str, enum.Enum):
    INSTANT = "instant"
    INTERVAL = "interval"
    UNKNOWN = "unknown"


class AgeUnit(str, enum.Enum):
    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"


_UNIT_DELTA = {AgeUnit.HOURS: timedelta(hours=1), AgeUnit.DAYS: timedelta(days=1),
               AgeUnit.WEEKS: timedelta(weeks=1)}
_UNIT_PRECISION = {AgeUnit.HOURS: Precision.HOUR, AgeUnit.DAYS: Precision.DAY,
                   AgeUnit.WEEKS: Precision.DAY}
_MAX_AGE = re.compile(r"max-age:\s*(?P<amount>[0-9]{1,6})\s*(?P<unit>[hdw])", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class MaxAge:
    """How a date claim was derived: "at most N units before ``anchor``".

    ``anchor`` is the ``posted_at`` of the appearance the claim was read in,
    kept here so that the interval can be checked (and explained) later even
    if the appearance's own record is corrected.
    """

    amount: int
    unit: AgeUnit
    anchor: Timestamp

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or not 0 <= self.amount <= 999_999:
            raise ValidationError("derivation.amount", self.amount, "a whole number from 0 to 999999")
        object.__setattr__(self, "unit", check_enum("derivation.unit", AgeUnit, self.unit))
        if not isinstance(self.anchor, Timestamp):
            raise ValidationError("derivation.anchor", self.anchor, "a Timestamp (the appearance's posted_at)")

    @property
    def text(self) -> str:
        return f"max-age:{self.amount}{self.unit.value}"

    @property
    def delta(self) -> timedelta:
        return self.amount * _UNIT_DELTA[self.unit]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": "max-age", "amount": self.amount, "unit": self.unit.value,
                "anchor": self.anchor.to_dict()}

    @classmethod
    def from_dict(cls, data: Any, where: str = "derivation") -> MaxAge:
        reader = DictReader(data, where)
        rule = reader.value("rule", str)
        if rule != "max-age":
            reader.fail(f"unknown rule {rule!r}; this vidprov knows 'max-age'", "rule")
        amount = reader.value("amount", int)
        unit = reader.value("unit", str)
        anchor = reader.nested("anchor", Timestamp.from_dict)
        reader.finish()
        return cls(amount=amount, unit=unit, anchor=anchor)  # type: ignore[arg-type]


class _Bounds(NamedTuple):
    kind: DateKind
    earliest: datetime | None
    latest: datetime | None
    precision: Precision | None
    edtf: str | None


_UNKNOWN = _Bounds(DateKind.UNKNOWN, None, None, None, None)


@dataclass(frozen=True, kw_only=True)
class DateClaim:
    """When footage is said to have been filmed.

    ``earliest`` and ``latest`` bound the claim (both inclusive; None is an
    open end), ``precision`` is the coarsest precision of the stated ends and
    ``edtf`` the canonical text. All of them must agree with ``edtf`` (or, for
    a derived claim, with ``derivation``): build one with
    :func:`parse_date_claim` or the class methods rather than by hand.
    """

    kind: DateKind
    earliest: datetime | None = None
    latest: datetime | None = None
    precision: Precision | None = None
    edtf: str | None = None
    derivation: MaxAge | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", check_enum("date.kind", DateKind, self.kind))
        if self.precision is not None:
            object.__setattr__(self, "precision", check_enum("date.precision", Precision, self.precision))
        check_optional("date.derivation", self.derivation, MaxAge)
        if self.kind is DateKind.UNKNOWN and self.derivation is None:
            expected = _UNKNOWN
        elif self.derivation is not None:
            expected = _bounds_of_max_age(self.derivation, "date.derivation")
        elif isinstance(self.edtf, str):
            expected = _bounds_of_text(self.edtf, "date.edtf", self.edtf)
        else:
            raise ValidationError("date.edtf", self.edtf, f"an EDTF string ({DATE_SYNTAX})")
        for name in _Bounds._fields:
            have, want = getattr(self, name), getattr(expected, name)
            same = _same_time(have, want) if name in ("earliest", "latest") else have == want
            if not same:
                source = self.derivation.text if self.derivation else self.edtf or "unknown"
                shown = want.isoformat() if isinstance(want, datetime) else getattr(want, "value", want)
                raise ValidationError(f"date.{name}", getattr(have, "value", have),
                                      f"{shown!r}, which is what {source!r} means")

    @classmethod
    def unknown(cls) -> DateClaim:
        return cls(kind=DateKind.UNKNOWN)

    @classmethod
    def instant(cls, when: Timestamp) -> DateClaim:
        """A single value: the span of its precision."""
        return cls(**_bounds_of_instant(when)._asdict())

    @classmethod
    def between(cls, start: Timestamp | None, end: Timestamp | None) -> DateClaim:
        """An interval; None is an open end."""
        return cls(**_bounds_of_interval(start, end, "date", None)._asdict())

    @classmethod
    def max_age(cls, amount: int, unit: AgeUnit | str, anchor: Timestamp) -> DateClaim:
        """``[anchor - amount·unit, anchor]``: "at most N units before posting"."""
        derivation = MaxAge(amount=amount, unit=unit, anchor=anchor)  # type: ignore[arg-type]
        return cls(**_bounds_of_max_age(derivation, "date")._asdict(), derivation=derivation)

    def __str__(self) -> str:
        text = self.edtf or "unknown"
        return f"{text} ({self.derivation.text})" if self.derivation else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "earliest": format_datetime(self.earliest),
            "latest": format_datetime(self.latest),
            "precision": None if self.precision is None else self.precision.value,
            "edtf": self.edtf,
            "derivation": nested_dict(self.derivation),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "date") -> DateClaim:
        reader = DictReader(data, where)
        claim = cls(
            kind=reader.value("kind", str),  # type: ignore[arg-type]
            earliest=reader.datetime("earliest", optional=True),
            latest=reader.datetime("latest", optional=True),
            precision=reader.optional("precision", str),  # type: ignore[arg-type]
            edtf=reader.optional("edtf", str),
            derivation=reader.nested("derivation", MaxAge.from_dict, optional=True),
        )
        reader.finish()
        return claim


def parse_date_claim(text: str, *, posted_at: Timestamp | None = None, field: str = "date") -> DateClaim:
    """Parse what someone said about when footage was filmed.

    ``posted_at`` is the ``posted_at`` of the appearance the claim was read
    in; only ``max-age:`` needs it.
    """
    if not isinstance(text, str):
        raise ValidationError(field, text, DATE_SYNTAX)
    stripped = text.strip()
    if stripped.casefold() == "unknown":
        return DateClaim.unknown()
    age = _MAX_AGE.fullmatch(stripped)
    if age is not None:
        if posted_at is None:
            raise ValidationError(field, text, "max-age together with the appearance's posted_at "
                                               "(the interval is anchored on it)")
        if not isinstance(posted_at, Timestamp):
            raise ValidationError("posted_at", posted_at, "a Timestamp")
        return DateClaim.max_age(int(age["amount"]), age["unit"].lower(), posted_at)
    return DateClaim(**_bounds_of_text(stripped, field, text)._asdict())


def _bounds_of_text(text: str, field: str, original: str) -> _Bounds:
    if text.count("/") > 1:
        raise ValidationError(field, original, DATE_SYNTAX)
    if "/" not in text:
        return _bounds_of_instant(_parse_single(text, field, DATE_SYNTAX, original))
    start_text, end_text = text.split("/")
    start = None if start_text == ".." else _parse_single(start_text, field, DATE_SYNTAX, original)
    end = None if end_text == ".." else _parse_single(end_text, field, DATE_SYNTAX, original)
    return _bounds_of_interval(start, end, field, original)


def _bounds_of_instant(when: Timestamp) -> _Bounds:
    if not isinstance(when, Timestamp):
        raise ValidationError("date", when, "a Timestamp")
    return _Bounds(DateKind.INSTANT, when.earliest, when.latest, when.precision, when.edtf)


def _bounds_of_interval(start: Timestamp | None, end: Timestamp | None, field: str,
                        original: str | None) -> _Bounds:
    for end_value in (start, end):
        if end_value is not None and not isinstance(end_value, Timestamp):
            raise ValidationError(field, end_value, "a Timestamp or None for an open end")
    if start is None and end is None:
        raise ValidationError(field, original or "../..", "an interval with at least one end "
                                                          "(use 'unknown' when neither is known)")
    edtf = f"{start.edtf if start else '..'}/{end.edtf if end else '..'}"
    if start is not None and end is not None:
        if certainly_after(start.earliest, end.latest):
            raise ValidationError(field, original or edtf, "an interval whose earliest time is not after "
                                                           "its latest")
        precision = coarser(start.precision, end.precision)
    else:
        precision = (start or end).precision  # type: ignore[union-attr]
    return _Bounds(DateKind.INTERVAL, start.earliest if start else None, end.latest if end else None,
                   precision, edtf)


def _bounds_of_max_age(derivation: MaxAge, field: str) -> _Bounds:
    anchor = derivation.anchor
    try:
        start_value = anchor.earliest - derivation.delta
    except OverflowError:
        raise ValidationError(field, derivation.text, "an age that reaches back no further than year 1") from None
    start = Timestamp(value=start_value, precision=finer(anchor.precision, _UNIT_PRECISION[derivation.unit]))
    return _bounds_of_interval(start, anchor, field, derivation.text)


__all__ = [
    "AgeUnit", "DATE_SYNTAX", "DateClaim", "DateKind", "MaxAge", "Precision", "TIMESTAMP_SYNTAX",
    "Timestamp", "certainly_after", "coarser", "finer", "parse_date_claim", "parse_timestamp",
]
