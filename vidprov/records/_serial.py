"""Reading the dict forms back: type checks with a path to the bad key.

A dict that is the wrong shape (a missing key, a number where text belongs,
a key nobody writes) raises :class:`~vidprov.errors.FormatError`; a dict of
the right shape whose values are not allowed raises the record's own
:class:`~vidprov.errors.ValidationError` when the object is built.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, TypeVar, cast

from ..errors import FormatError, VidprovError

T = TypeVar("T")

#: Version of every record's dict form. Bump it when a dict form changes in a
#: way an older reader would misread, and teach ``from_dict`` the old form.
SCHEMA_VERSION = 1

_MISSING = object()

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a JSON array", dict: "a JSON object"}


def envelope(record_type: str) -> dict[str, Any]:
    """The first keys of every top-level record's dict form."""
    return {"type": record_type, "schema_version": SCHEMA_VERSION}


def attach_path(error: VidprovError, path: str | None) -> VidprovError:
    """Name the file an error came from, unless it already names one."""
    if path is not None and error.path is None:
        error.path = str(path)
    return error


def nested_dict(value: Any) -> dict[str, Any] | None:
    """The dict form of an optional nested value object."""
    return None if value is None else cast("dict[str, Any]", value.to_dict())


def format_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class DictReader:
    """Pulls typed values out of one dict and complains about keys left over."""

    def __init__(self, data: Any, where: str, *, record_type: str | None = None,
                 path: str | None = None) -> None:
        self.where = where
        self.path = path
        if not isinstance(data, dict):
            self.fail(f"expected a JSON object, got {_describe(data)}")
        self.data: dict[str, Any] = data
        self.used: set[str] = set()
        if record_type is not None:
            self._check_envelope(record_type)

    def fail(self, message: str, key: str | None = None) -> None:
        where = self.where if key is None else f"{self.where}.{key}"
        raise FormatError(f"{where}: {message}", self.path)

    def _check_envelope(self, record_type: str) -> None:
        found = self.value("type", str)
        if found != record_type:
            self.fail(f"expected a {record_type!r} record, got {found!r}", "type")
        version = self.value("schema_version", int)
        if version > SCHEMA_VERSION:
            self.fail(f"schema_version {version} was written by a newer vidprov; this one "
                      f"reads up to {SCHEMA_VERSION}: upgrade vidprov", "schema_version")
        if version < 1:
            self.fail(f"schema_version must be 1 or more, got {version}", "schema_version")

    def value(self, key: str, kind: type[T], *, default: Any = _MISSING) -> T:
        """The value under ``key``; ``default`` makes the key optional and allows null."""
        self.used.add(key)
        found = self.data.get(key, _MISSING)
        if found is _MISSING or (found is None and default is not _MISSING):
            if default is _MISSING:
                self.fail("is missing", key)
            return cast(T, default)
        # bool is an int in Python but never a count, a size or a number here.
        wrong_bool = isinstance(found, bool) and kind is not bool
        if kind is float and isinstance(found, int) and not wrong_bool:
            return cast(T, float(found))
        if wrong_bool or not isinstance(found, kind):
            self.fail(f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(found)}", key)
        return cast(T, found)

    def optional(self, key: str, kind: type[T]) -> T | None:
        return self.value(key, kind, default=None)

    def datetime(self, key: str, *, optional: bool = False) -> datetime | None:
        text = self.value(key, str, default=None) if optional else self.value(key, str)
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"expected an ISO 8601 datetime, got {text!r}", key)
            raise  # pragma: no cover - fail() always raises

    def nested(self, key: str, build: Callable[[Any, str], T], *, optional: bool = False) -> T | None:
        """A nested object, read by ``build(data, where)``."""
        found = self.value(key, dict, default=None) if optional else self.value(key, dict)
        if found is None:
            return None
        return build(found, f"{self.where}.{key}")

    def strings(self, key: str) -> tuple[str, ...]:
        items = self.value(key, list, default=[])
        for index, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"expected a string, got {_describe(item)}", f"{key}[{index}]")
        return tuple(items)

    def objects(self, key: str, build: Callable[[Any, str], T]) -> tuple[T, ...]:
        items = self.value(key, list, default=[])
        return tuple(build(item, f"{self.where}.{key}[{index}]") for index, item in enumerate(items))

    def finish(self) -> None:
        """Refuse keys nobody writes: silently dropping them would lose data."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(f"unknown key(s) {', '.join(map(repr, unknown))}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{type(value).__name__} {shown}"
