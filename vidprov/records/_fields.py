"""Checks shared by every record: text, identifiers, URLs, hashes and times.

Each check returns the value to store (sometimes normalised, such as a
lower-cased hash) or raises :class:`~vidprov.errors.ValidationError` naming
the field, the value and what is allowed.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from datetime import datetime
from typing import Any, Iterable, Literal, TypeVar, overload
from urllib.parse import urlsplit

from ..errors import ValidationError

E = TypeVar("E", bound=enum.Enum)

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")

RECORD_ID_ALLOWED = "1-128 characters from A-Z a-z 0-9 . _ : - starting with a letter or digit"


def new_record_id() -> str:
    """A fresh random record id; the index may assign its own instead."""
    return uuid.uuid4().hex


def check_text(field: str, value: Any, *, required: bool = False) -> str | None:
    """Free text, kept verbatim.

    NUL bytes are refused because PostgreSQL text columns cannot hold them,
    and lone surrogates because they cannot be written as UTF-8: either would
    make a record that the index or a JSON export cannot store.
    """
    if value is None:
        if required:
            raise ValidationError(field, value, "text (it is required)")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, value, "text (a string)")
    if "\x00" in value:
        raise ValidationError(field, value, "text without NUL bytes (\\x00)")
    if _SURROGATE.search(value):
        raise ValidationError(field, value, "text that is valid Unicode (no lone surrogates)")
    if required and not value.strip():
        raise ValidationError(field, value, "non-blank text")
    return value


def check_optional_text(field: str, value: Any) -> str | None:
    """Optional free text where an empty string would only mean "not given"."""
    text = check_text(field, value)
    if text is not None and not text.strip():
        raise ValidationError(field, value, "non-blank text, or None when not known")
    return text


def check_record_id(field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _RECORD_ID.fullmatch(value):
        raise ValidationError(field, value, RECORD_ID_ALLOWED)
    return value


def check_sha256(field: str, value: Any, *, required: bool = True) -> str | None:
    """A SHA-256 hex digest, stored lower-case so that lookups compare equal."""
    if value is None and not required:
        return None
    if isinstance(value, str):
        lowered = value.lower()
        if _SHA256.fullmatch(lowered):
            return lowered
    raise ValidationError(field, value, "a SHA-256 digest: 64 hexadecimal digits")


def check_sha256_tuple(field: str, values: Any, *, non_empty: bool = False) -> tuple[str, ...]:
    digests = tuple(check_sha256(field, value) for value in _as_tuple(field, values))
    if non_empty and not digests:
        raise ValidationError(field, values, "at least one SHA-256 digest")
    _refuse_duplicates(field, digests)
    return digests  # type: ignore[return-value]


def check_url(field: str, value: Any, *, required: bool = False) -> str | None:
    """An absolute http(s) URL, stored verbatim (no normalisation)."""
    if value is None and not required:
        return None
    allowed = "an absolute http:// or https:// URL without spaces"
    if not isinstance(value, str) or not value or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValidationError(field, value, allowed)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValidationError(field, value, allowed) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(field, value, allowed)
    return value


def check_url_tuple(field: str, values: Any) -> tuple[str, ...]:
    urls = tuple(check_url(field, value, required=True) for value in _as_tuple(field, values))
    _refuse_duplicates(field, urls)
    return urls  # type: ignore[return-value]


def check_aware_datetime(field: str, value: Any, *, required: bool = True) -> datetime | None:
    """A time the desk itself records: it must say which time zone it is in."""
    if value is None and not required:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError(field, value, "a datetime with a time zone")
    return value


def check_optional(field: str, value: Any, kind: type) -> None:
    """A nested value object of one type, or None."""
    if value is not None and not isinstance(value, kind):
        raise ValidationError(field, value, f"a {kind.__name__} or None")


def check_enum(field: str, enum_type: type[E], value: Any) -> E:
    """Accept a member or its string value; refuse anything else listing the values."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        allowed = ", ".join(member.value for member in enum_type)
        raise ValidationError(field, value, f"one of: {allowed}") from None


@overload
def check_number(field: str, value: Any, *, minimum: float | None = None,
                 maximum: float | None = None, required: Literal[True] = True) -> float: ...


@overload
def check_number(field: str, value: Any, *, minimum: float | None = None,
                 maximum: float | None = None, required: bool) -> float | None: ...


def check_number(field: str, value: Any, *, minimum: float | None = None,
                 maximum: float | None = None, required: bool = True) -> float | None:
    """A finite number in range, stored as float so that 3 and 3.0 serialise alike."""
    if value is None and not required:
        return None
    if minimum is not None and maximum is not None:
        allowed = f"a number from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        allowed = f"a number of at least {minimum:g}"
    else:
        allowed = "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field, value, allowed)
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(field, value, allowed) from None
    if not math.isfinite(number):
        raise ValidationError(field, value, allowed)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValidationError(field, value, allowed)
    return number


def _as_tuple(field: str, values: Any) -> tuple[Any, ...]:
    # A bare string is iterable too; taking it letter by letter would be a silent bug.
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(field, values, "a tuple of values")
    return tuple(values)


def _refuse_duplicates(field: str, values: tuple[Any, ...]) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValidationError(field, value, "each value once (this one is repeated)")
        seen.add(value)
