"""Fuzzing the parsers of outside input: only VidprovError subclasses may escape, and what parses round-trips.

Dates, places, ISO 6709, record JSON and info.json have their own property
tests beside their unit tests (test_records_*.py, test_metadata.py). This file
adds the fingerprint's JSON and vPDQ forms and manifests, each mangled from a
valid value as well as drawn at random, and one sweep that hands every parser
the same arbitrary input.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vidprov.errors import VidprovError
from vidprov.fingerprint import Fingerprint, FrameRecord
from vidprov.hashing import FrameHash
from vidprov.manifest import COLUMNS, read_manifest
from vidprov.metadata.iso6709 import parse_iso6709
from vidprov.records import (
    appearance_from_info_json,
    from_json,
    parse_date_claim,
    parse_point,
    parse_timestamp,
    record_from_dict,
)

SHA = "ab" * 32
#: No deadline and no health checks on generation speed: the machines that run this are shared.
FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck))

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
#: Text with the characters parsers trip on: digits, signs, separators, exponents, non-finite words.
parser_text = st.text(alphabet=st.sampled_from(list("0123456789abcdefABCDEF+-.,:/ _eEnNaIifT\n\t\x00é٣")),
                      max_size=40) | st.text(max_size=40)


def only_vidprov_errors(function: Callable[..., Any], *args: Any) -> Any:
    """The call's value, or None when it raised a VidprovError (anything else fails the test)."""
    try:
        return function(*args)
    except VidprovError:
        return None


def a_fingerprint(frames: int = 3, **changes: Any) -> Fingerprint:
    records = tuple(FrameRecord(0.5 * number, FrameHash(bytes([number]) * 32, 256), 100, 15 * number)
                    for number in range(frames))
    values = dict(sha256=SHA, algorithm="pdq", params=(("input", "gray64"),), duration=1.5, fps=30.0,
                  width=640, height=360, codec="h264", crop=None, frames=records, size=1234)
    values.update(changes)
    return Fingerprint(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------- fingerprint JSON


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that a mangled copy may change."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_of(value, prefix + (key,))
    elif isinstance(data, list):
        for number, value in enumerate(data):
            found += paths_of(value, prefix + (number,))
    return found


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], value)
    return copy


def check_fingerprint_json(text: str) -> None:
    parsed = only_vidprov_errors(Fingerprint.from_json, text)
    if parsed is not None:
        again = Fingerprint.from_json(parsed.to_json())
        assert again == parsed
        assert again.to_json() == parsed.to_json()


@given(data=st.data())
@FUZZ
def test_mangled_fingerprint_json_is_refused_or_round_trips(data: st.DataObject) -> None:
    valid = a_fingerprint(frames=data.draw(st.integers(0, 3))).to_dict()
    path = data.draw(st.sampled_from(paths_of(valid)))
    mangled = replaced(valid, path, data.draw(json_values))
    check_fingerprint_json(json.dumps(mangled))


@given(text=st.text(max_size=60) | json_values.map(json.dumps))
@FUZZ
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1, "height": 1, "frames": [], "duration": NaN}')
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1, "height": 1, "frames": [], "fps": Infinity}')
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1, "height": 1, '
         '"frames": [{"t": NaN, "hash": "' + "00" * 32 + '", "quality": 1}]}')
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1, "height": 1, "frames": [], '
         '"params": {"x": NaN}}')
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1, "height": 1, "frames": [], "windows": {}}')
@example('{"sha256": "' + SHA + '", "algorithm": "pdq", "width": 1e400, "height": 1, "frames": []}')
def test_any_text_as_fingerprint_json_is_refused_or_round_trips(text: str) -> None:
    check_fingerprint_json(text)


# ------------------------------------------------------------------- vPDQ


vpdq_lines = st.lists(st.one_of(
    st.tuples(st.integers(-5, 10**6), st.integers(-5, 105), st.binary(min_size=32, max_size=32),
              st.floats(-1, 1e6, allow_nan=False)).map(lambda v: f"{v[0]},{v[1]},{v[2].hex()},{v[3]:.3f}"),
    st.lists(parser_text, min_size=1, max_size=5).map(",".join),
), max_size=6).map("\n".join)


@given(text=vpdq_lines | parser_text)
@FUZZ
@example("0,100," + "00" * 32 + ",nan")
@example("0,100," + "00" * 32 + ",inf")
@example("0,100," + "00" * 32 + ",-1")
@example("1_0,1_00," + "00" * 32 + ",1_0")
@example("0,100,00,0.5")
@example("2,100," + "00" * 32 + ",1.0\n1,100," + "00" * 32 + ",0.5")
def test_vpdq_text_is_refused_or_round_trips(text: str) -> None:
    records = only_vidprov_errors(Fingerprint.parse_vpdq, text)
    if records is None:
        return
    assert all(math.isfinite(record.t) and record.t >= 0 and 0 <= record.quality <= 100 and record.index >= 0
               and record.hash.bits == 256 for record in records), records
    fingerprint = a_fingerprint(frames=0)
    ordered = tuple(sorted(records, key=lambda record: record.t))
    exported = Fingerprint(**{**fingerprint.__dict__, "frames": ordered}).to_vpdq()
    again = Fingerprint.parse_vpdq(exported)
    assert [(r.index, r.quality, r.hash) for r in again] == [(r.index, r.quality, r.hash) for r in ordered]
    assert all(abs(a.t - b.t) <= 0.0005 for a, b in zip(again, ordered))


# -------------------------------------------------------------- manifests


cells = st.one_of(st.none(), st.text(max_size=12), st.sampled_from([
    "2024-10-18", "max-age:3d", "44.34,131.66", "95,1", "5000", "-5", "x", "myspace", "RU", "RU-PRI",
    "https://x.com/a/status/1", "2024-10-18/2024-10-15", "nan", "inf", SHA, "clip.mp4", "../clip.mp4"]),
    st.floats(), st.integers(), st.lists(st.floats(), max_size=3), st.booleans())


def check_manifest(path: Path) -> None:
    manifest = only_vidprov_errors(read_manifest, path)
    if manifest is None:
        return
    for row in manifest.rows:
        appearance_and_claims = only_vidprov_errors(row.records, SHA)
        if appearance_and_claims is not None:
            appearance, claims = appearance_and_claims
            for record in (appearance, *claims):
                if record is not None:
                    assert record_from_dict(json.loads(json.dumps(record.to_dict()))) == record


@given(rows=st.lists(st.dictionaries(st.sampled_from(COLUMNS + ("colour", "Claimed Date", "coords")), cells,
                                     max_size=6), max_size=4))
@settings(FUZZ, max_examples=60)
def test_json_manifests_are_refused_or_give_records_that_round_trip(tmp_path: Path, rows: list[Any]) -> None:
    path = tmp_path / "manifest.json"
    try:
        path.write_text(json.dumps(rows), encoding="utf-8")
    except ValueError:
        return
    check_manifest(path)


@given(text=st.lists(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=10), cells.filter(
    lambda value: isinstance(value, str))), max_size=6).map(",".join), max_size=5).map("\n".join))
@settings(FUZZ, max_examples=60)
def test_csv_manifests_are_refused_or_give_records_that_round_trip(tmp_path: Path, text: str) -> None:
    path = tmp_path / "manifest.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_manifest(path)


@given(data=st.binary(max_size=200))
@FUZZ
def test_any_bytes_as_a_manifest_raise_only_vidprov_errors(tmp_path: Path, data: bytes) -> None:
    for name in ("manifest.csv", "manifest.json", "manifest.txt"):
        (tmp_path / name).write_bytes(data)
        check_manifest(tmp_path / name)


# ------------------------------------------------------- every parser at once


#: Parsers of text from outside (a file, a command line, a container's metadata).
TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "Fingerprint.from_json": Fingerprint.from_json,
    "Fingerprint.parse_vpdq": Fingerprint.parse_vpdq,
    "records.from_json": from_json,
    "parse_iso6709": parse_iso6709,
    "parse_date_claim": parse_date_claim,
    "parse_timestamp": parse_timestamp,
    "parse_point": parse_point,
    "FrameHash.from_hex": FrameHash.from_hex,
}
#: Readers of parsed JSON from outside.
VALUE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "Fingerprint.from_dict": Fingerprint.from_dict,
    "record_from_dict": record_from_dict,
    "appearance_from_info_json": lambda value: appearance_from_info_json(
        value if isinstance(value, dict) else {"webpage_url": value, "timestamp": value, "upload_date": value,
                                               "uploader": value, "extractor_key": value}),
}


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@given(text=parser_text | json_values.map(json.dumps))
@settings(FUZZ, max_examples=50)
def test_every_text_parser_raises_only_vidprov_errors(name: str, text: str) -> None:
    only_vidprov_errors(TEXT_PARSERS[name], text)


@pytest.mark.parametrize("name", sorted(VALUE_PARSERS))
@given(value=json_values)
@settings(FUZZ, max_examples=50)
def test_every_json_reader_raises_only_vidprov_errors(name: str, value: Any) -> None:
    only_vidprov_errors(VALUE_PARSERS[name], value)
