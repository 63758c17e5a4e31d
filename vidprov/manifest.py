"""Manifests: what was said about each file of an archive, one row per file, in CSV or JSON.

A desk that ingests an archive often has a spreadsheet of it: which file,
where it was posted, by whom, and what was claimed. :func:`read_manifest`
reads such a table so that ``vidprov add DIR --manifest FILE`` can record it
with each clip.

Each row names its file by ``path`` (relative to the manifest's folder, or
absolute) or by ``sha256`` (of the file's bytes), or both, and may give:

* where it was posted: ``url``, ``platform``, ``publisher``, ``handle``,
  ``posted_at``;
* what was claimed there: ``claim_text``, ``claimant``, ``claimed_date``,
  ``claimed_place``, ``claimed_coords`` (``"lat,lon"``, or the two columns
  ``latitude`` and ``longitude``), ``radius_m``, ``country``, ``subdivision``.

Column names are read like the options of ``vidprov add``: case and the
difference between ``-``, ``_`` and spaces do not matter, and ``text``,
``date``, ``place`` and ``coords`` are short for the ``claim...`` columns.
An empty cell (or ``null`` in JSON) says nothing.

A CSV manifest has a header row; a JSON manifest is an array of objects. A
column vidprov does not know refuses the whole manifest, since a misspelt
column would otherwise be dropped from every row. A bad value refuses only
the row it is in: its file fails and the error names the row and the column
(CSV rows are numbered as a spreadsheet shows them, the header being row 1;
JSON items from 1).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import FileAccessError, FormatError, ValidationError, VidprovError
from .records import Appearance, Claim, parse_point, parse_timestamp

#: Every column a manifest may have.
COLUMNS = ("path", "sha256", "url", "platform", "publisher", "handle", "posted_at", "claim_text", "claimant",
           "claimed_date", "claimed_place", "claimed_coords", "latitude", "longitude", "radius_m", "country",
           "subdivision")

#: Short names, as ``vidprov add`` spells its options.
ALIASES = {"text": "claim_text", "date": "claimed_date", "place": "claimed_place", "coords": "claimed_coords",
           "lat": "latitude", "lon": "longitude", "file": "path"}

APPEARANCE_COLUMNS = ("url", "platform", "publisher", "handle", "posted_at")
CLAIM_COLUMNS = ("claim_text", "claimant", "claimed_date", "claimed_place", "claimed_coords", "latitude",
                 "longitude", "radius_m", "country", "subdivision")

#: Largest manifest read, in bytes: a row per file of a very large archive fits many times over.
MAX_BYTES = 256 * 1024 * 1024

#: Columns named by the fields of the records a row makes, where their names differ.
_FIELD_COLUMNS = {"name": "claimed_place"}

_SHA256 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-_]+")


def column_name(header: str) -> str | None:
    """The column a header names, or None when it names none."""
    name = _SEPARATORS.sub("_", header.strip().lower()).strip("_")
    name = ALIASES.get(name, name)
    return name if name in COLUMNS else None


@dataclass(frozen=True)
class ManifestRow:
    """One row: the file it is about, and what it says about it, as text.

    ``label`` names the row in messages (``row 3`` in a CSV file, ``item 3``
    in a JSON one). ``path`` is absolute; ``problem`` is the error that refuses
    the row, when the row could not even be read.
    """

    label: str
    path: str | None = None
    sha256: str | None = None
    cells: Mapping[str, Any] = field(default_factory=dict)
    problem: VidprovError | None = None

    def records(self, sha256: str, *, base: Appearance | None = None,
                source: str | None = None) -> tuple[Appearance | None, tuple[Claim, ...]]:
        """The appearance and claim this row gives the file whose bytes have ``sha256``.

        ``base`` is the appearance the file's ``.info.json`` gives: the row's
        columns override what it says, and a row without appearance columns
        makes its claim in it. Raises :class:`~vidprov.errors.FormatError`
        naming ``source`` (the manifest), this row and the column.
        """
        from .ingest import ClaimDraft, appearance_with, place_from_parts

        if self.problem is not None:
            raise self.problem
        if self.sha256 is not None and self.sha256 != sha256:
            raise FormatError(f"{self.label}: sha256: {self.sha256} is not the sha256 of this file ({sha256})",
                              source)
        column: str | None = None
        try:
            given: dict[str, Any] = {}
            for column in APPEARANCE_COLUMNS:
                value = self._text(column)
                if value is not None:
                    given[column] = parse_timestamp(value, field=column) if column == "posted_at" else value
            column = None  # the record's own checks name the column
            appearance = appearance_with(base, given, sha256)
            column = "latitude" if "latitude" in self.cells or "longitude" in self.cells else "claimed_coords"
            coords = self._coords()
            if coords is not None:
                parse_point(coords)
            column = "radius_m"
            radius = self._number("radius_m")
            column = None
            place = place_from_parts(name=self._text("claimed_place"), coords=coords, radius_m=radius,
                                     country=self._text("country"), subdivision=self._text("subdivision"))
            claim_text, claimant, date = self._text("claim_text"), self._text("claimant"), self._text("claimed_date")
            claims: tuple[Claim, ...] = ()
            if claim_text is not None or claimant is not None or date is not None or place is not None:
                draft = ClaimDraft(text=claim_text, claimant=claimant, date=date, place=place)
                claims = (draft.build(appearance=appearance, clip_sha256=sha256),)
        except ValidationError as error:
            raise FormatError(f"{self.label}: {_in_column(column, error)}", source) from None
        except VidprovError as error:
            raise FormatError(f"{self.label}: {column or 'value'}: {error.message}", source) from None
        return appearance, claims

    def _text(self, column: str) -> str | None:
        value = self.cells.get(column)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError(column, value, "text")
        return value if value.strip() else None

    def _number(self, column: str) -> float | None:
        value = self.cells.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValidationError(column, value, "a number")
        try:
            return float(value)
        except (ValueError, OverflowError):
            raise ValidationError(column, value, "a number") from None

    def _coords(self) -> str | None:
        coords = self.cells.get("claimed_coords")
        latitude, longitude = self._number("latitude"), self._number("longitude")
        if latitude is not None or longitude is not None:
            if coords not in (None, "") or latitude is None or longitude is None:
                raise ValidationError("latitude", latitude, "latitude and longitude together, "
                                      "and not beside claimed_coords")
            return f"{latitude!r},{longitude!r}"
        if isinstance(coords, list) and len(coords) == 2 and all(
                isinstance(item, (int, float)) and not isinstance(item, bool) for item in coords):
            return f"{float(coords[0])!r},{float(coords[1])!r}"
        return self._text("claimed_coords")


def _in_column(column: str | None, error: ValidationError) -> str:
    """The error's message, led by the column it is about (``column``, else the one the field names)."""
    named = error.field.rsplit(".", 1)[-1]
    named = _FIELD_COLUMNS.get(named) or ALIASES.get(named, named)
    if column is None and named in COLUMNS:
        column = named
    if column == named:
        return f"{column}: {error.message[len(error.field) + 2:]}"
    return f"{column or 'value'}: {error.message}"


@dataclass(frozen=True)
class Manifest:
    """The rows of a manifest file, looked up by a file's path or sha256."""

    path: str
    rows: tuple[ManifestRow, ...]

    def rows_for(self, path: str, sha256: str) -> list[ManifestRow]:
        """The rows about the file at ``path`` whose bytes have ``sha256``, in manifest order."""
        real = os.path.realpath(path)
        return [row for row in self.rows if row.problem is None and (
            (row.path is not None and os.path.realpath(row.path) == real) or
            (row.path is None and row.sha256 == sha256))]

    def paths(self) -> list[str]:
        """The files the rows name by path, each once, in manifest order."""
        return list(dict.fromkeys(row.path for row in self.rows if row.path is not None))


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a CSV or JSON manifest (by its name's ending, else by its first character).

    Raises :class:`~vidprov.errors.FormatError` when the file as a whole
    cannot be used (not CSV or JSON, no header, a column vidprov does not
    know, neither a ``path`` nor a ``sha256`` column); a bad row is kept with
    its :attr:`ManifestRow.problem`.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise FileAccessError(f"cannot read the manifest ({error.strerror or error})", name) from None
    if len(data) > MAX_BYTES:
        raise FormatError(f"a manifest of more than {MAX_BYTES // (1024 * 1024)} MB is not read", name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(f"a manifest must be UTF-8 text ({error.reason} at byte {error.start})", name) from None
    folder = os.path.dirname(os.path.abspath(name))
    lowered = name.lower()
    is_json = lowered.endswith(".json") or (not lowered.endswith(".csv") and text.lstrip().startswith(("[", "{")))
    rows = _json_rows(text, name) if is_json else _csv_rows(text, name)
    return Manifest(name, tuple(_row(label, cells, folder, name) for label, cells in rows))


def _csv_rows(text: str, name: str) -> list[tuple[str, dict[str, Any] | VidprovError]]:
    if "\x00" in text:
        raise FormatError("not a CSV manifest (it holds NUL bytes)", name)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise FormatError("the manifest is empty: expected a header row naming its columns, such as "
                              "path,url,publisher,posted_at,claimed_date", name)
        columns = _columns(header, name)
        rows: list[tuple[str, dict[str, Any] | VidprovError]] = []
        start = reader.line_num + 1
        for cells in reader:
            label = f"row {start}"
            start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                rows.append((label, FormatError(f"{label}: {len(cells)} cells, but the header names "
                                                f"{len(columns)} columns", name)))
                continue
            rows.append((label, {column: cell for column, cell in zip(columns, cells) if cell != ""}))
    except csv.Error as error:
        raise FormatError(f"not a readable CSV manifest (line {reader.line_num}: {error})", name) from None
    return rows


def _columns(header: Sequence[str], name: str) -> list[str]:
    columns: list[str] = []
    for cell in header:
        column = column_name(cell)
        if column is None:
            raise FormatError(f"column {cell!r} is not one vidprov knows; the columns are: {', '.join(COLUMNS)}",
                              name)
        if column in columns:
            raise FormatError(f"column {cell!r} is given twice (as {column})", name)
        columns.append(column)
    if "path" not in columns and "sha256" not in columns:
        raise FormatError("the manifest needs a path or a sha256 column to say which file each row is about",
                          name)
    return columns


def _json_rows(text: str, name: str) -> list[tuple[str, dict[str, Any] | VidprovError]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FormatError(f"not a valid JSON manifest ({error})", name) from None
    if not isinstance(data, list):
        raise FormatError(f"a JSON manifest must be an array of objects, one per file, not {type(data).__name__}",
                          name)
    rows: list[tuple[str, dict[str, Any] | VidprovError]] = []
    for number, item in enumerate(data, start=1):
        label = f"item {number}"
        if not isinstance(item, dict):
            rows.append((label, FormatError(f"{label}: expected an object, not {type(item).__name__}", name)))
            continue
        cells: dict[str, Any] = {}
        for key, value in item.items():
            column = column_name(key)
            if column is None:
                raise FormatError(f"{label}: key {key!r} is not one vidprov knows; the keys are: "
                                  f"{', '.join(COLUMNS)}", name)
            if column in cells:
                raise FormatError(f"{label}: key {key!r} is given twice (as {column})", name)
            if value is not None:
                cells[column] = value
        rows.append((label, cells))
    return rows


def _row(label: str, cells: dict[str, Any] | VidprovError, folder: str, name: str) -> ManifestRow:
    if isinstance(cells, VidprovError):
        return ManifestRow(label, problem=cells)
    path, sha256 = cells.get("path"), cells.get("sha256")
    if path is not None and (not isinstance(path, str) or not path.strip() or "\x00" in path):
        return ManifestRow(label, problem=FormatError(f"{label}: path: {path!r} is not a file path", name))
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.strip())):
        return ManifestRow(label, problem=FormatError(f"{label}: sha256: {sha256!r} is not a sha256 "
                                                      "(64 hex digits)", name))
    if path is None and sha256 is None:
        return ManifestRow(label, problem=FormatError(f"{label}: neither a path nor a sha256 says which file "
                                                      "it is about", name))
    full = os.path.normpath(os.path.join(folder, os.path.expanduser(path))) if path is not None else None
    return ManifestRow(label, full, sha256.strip().lower() if sha256 is not None else None,
                       {key: value for key, value in cells.items() if key not in ("path", "sha256")})


__all__ = ["ALIASES", "COLUMNS", "Manifest", "ManifestRow", "column_name", "read_manifest"]
