"""Date claims and timestamps: the parser, its precisions and what max-age means."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidprov.errors import FormatError, ValidationError, VidprovError
from vidprov.records import (
    DateClaim,
    DateKind,
    MaxAge,
    Precision,
    Timestamp,
    parse_date_claim,
    parse_timestamp,
)

UTC = timezone.utc
PLUS3 = timezone(timedelta(hours=3))


def naive(*args: int) -> datetime:
    return datetime(*args)  # type: ignore[arg-type]


# ------------------------------------------------------------ single values


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "precision"),
    [
        ("2024", naive(2024, 1, 1), naive(2024, 12, 31, 23, 59, 59, 999999), Precision.YEAR),
        ("2024-02", naive(2024, 2, 1), naive(2024, 2, 29, 23, 59, 59, 999999), Precision.MONTH),
        ("2023-02", naive(2023, 2, 1), naive(2023, 2, 28, 23, 59, 59, 999999), Precision.MONTH),
        ("2024-10-15", naive(2024, 10, 15), naive(2024, 10, 15, 23, 59, 59, 999999), Precision.DAY),
        ("2024-10-15T08Z", datetime(2024, 10, 15, 8, tzinfo=UTC),
         datetime(2024, 10, 15, 8, 59, 59, 999999, tzinfo=UTC), Precision.HOUR),
        ("2024-10-15T08:00Z", datetime(2024, 10, 15, 8, tzinfo=UTC),
         datetime(2024, 10, 15, 8, 0, 59, 999999, tzinfo=UTC), Precision.MINUTE),
        ("2024-10-15T08:00:05+03:00", datetime(2024, 10, 15, 8, 0, 5, tzinfo=PLUS3),
         datetime(2024, 10, 15, 8, 0, 5, 999999, tzinfo=PLUS3), Precision.SECOND),
        ("9999", naive(9999, 1, 1), naive(9999, 12, 31, 23, 59, 59, 999999), Precision.YEAR),
    ],
)
def test_a_single_value_spans_its_precision(text: str, earliest: datetime, latest: datetime,
                                            precision: Precision) -> None:
    claim = parse_date_claim(text)
    assert claim.kind is DateKind.INSTANT
    assert (claim.earliest, claim.latest, claim.precision) == (earliest, latest, precision)
    assert claim.edtf == text


def test_a_date_only_value_has_no_time_zone() -> None:
    claim = parse_date_claim("2024-10-15")
    assert claim.earliest is not None and claim.earliest.tzinfo is None


def test_the_time_zone_given_is_kept() -> None:
    claim = parse_date_claim("2024-10-15T08:00+03:00")
    assert claim.earliest is not None and claim.earliest.utcoffset() == timedelta(hours=3)
    assert claim.edtf == "2024-10-15T08:00+03:00"


def test_a_datetime_without_a_zone_stays_without_one() -> None:
    claim = parse_date_claim("2024-10-15T08:00")
    assert claim.earliest == naive(2024, 10, 15, 8)
    assert claim.edtf == "2024-10-15T08:00"


@pytest.mark.parametrize(("text", "canonical"), [
    ("2024-10-15T08:00+00:00", "2024-10-15T08:00Z"),
    ("2024-10-15T08:00-0000", "2024-10-15T08:00Z"),
    ("2024-10-15t08:00z", "2024-10-15T08:00Z"),
    ("2024-10-15T08:00:05.250Z", "2024-10-15T08:00:05Z"),
    ("2024-10-15T08:00+0530", "2024-10-15T08:00+05:30"),
    ("2024-10-15T08:00-07", "2024-10-15T08:00-07:00"),
    ("  2024-10  ", "2024-10"),
])
def test_equivalent_spellings_have_one_canonical_form(text: str, canonical: str) -> None:
    assert parse_date_claim(text).edtf == canonical


# ---------------------------------------------------------------- intervals


def test_an_interval_runs_from_the_start_of_one_day_to_the_end_of_the_other() -> None:
    claim = parse_date_claim("2024-10-15/2024-10-18")
    assert claim.kind is DateKind.INTERVAL
    assert claim.earliest == naive(2024, 10, 15)
    assert claim.latest == naive(2024, 10, 18, 23, 59, 59, 999999)
    assert claim.precision is Precision.DAY
    assert claim.edtf == "2024-10-15/2024-10-18"


def test_an_interval_takes_the_coarser_precision_of_its_ends() -> None:
    assert parse_date_claim("2024-10/2024-11-03").precision is Precision.MONTH
    assert parse_date_claim("2024-10-15T08:00Z/2024-10-16").precision is Precision.DAY


@pytest.mark.parametrize(("text", "earliest", "latest"), [
    ("../2024-10-18", None, naive(2024, 10, 18, 23, 59, 59, 999999)),
    ("2024-10-15/..", naive(2024, 10, 15), None),
])
def test_open_ends(text: str, earliest: datetime | None, latest: datetime | None) -> None:
    claim = parse_date_claim(text)
    assert (claim.kind, claim.earliest, claim.latest, claim.edtf) == (DateKind.INTERVAL, earliest, latest, text)


def test_earliest_after_latest_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_date_claim("2024-10-18/2024-10-15")
    assert caught.value.field == "date"
    assert "2024-10-18/2024-10-15" in str(caught.value)
    assert "not after its latest" in str(caught.value)


def test_an_interval_within_one_instant_is_allowed() -> None:
    assert parse_date_claim("2024-10-15/2024-10-15").kind is DateKind.INTERVAL


def test_mixing_zoned_and_floating_ends_refuses_only_what_is_impossible_in_every_zone() -> None:
    # 23:00 UTC on the 15th can be the 16th somewhere (UTC+1 and east).
    assert parse_date_claim("2024-10-16/2024-10-15T23:00Z").kind is DateKind.INTERVAL
    with pytest.raises(ValidationError):
        parse_date_claim("2024-10-17/2024-10-15T23:00Z")


def test_both_ends_open_is_not_an_interval() -> None:
    with pytest.raises(ValidationError, match="unknown"):
        parse_date_claim("../..")


def test_unknown() -> None:
    for text in ("unknown", "Unknown", " UNKNOWN "):
        claim = parse_date_claim(text)
        assert claim == DateClaim.unknown()
        assert (claim.kind, claim.earliest, claim.latest, claim.precision, claim.edtf) == (
            DateKind.UNKNOWN, None, None, None, None)


# ------------------------------------------------------------------ max-age


POSTED = parse_timestamp("2024-10-18T09:15:30Z")


def test_max_age_becomes_an_interval_ending_at_posting() -> None:
    claim = parse_date_claim("max-age:3d", posted_at=POSTED)
    assert claim.kind is DateKind.INTERVAL
    assert claim.earliest == datetime(2024, 10, 15, 9, 15, 30, tzinfo=UTC)
    assert claim.latest == datetime(2024, 10, 18, 9, 15, 30, 999999, tzinfo=UTC)
    assert claim.precision is Precision.SECOND
    assert claim.edtf == "2024-10-15T09:15:30Z/2024-10-18T09:15:30Z"
    assert claim.derivation == MaxAge(amount=3, unit="d", anchor=POSTED)  # type: ignore[arg-type]
    assert claim.derivation is not None and claim.derivation.text == "max-age:3d"


@pytest.mark.parametrize(("text", "delta"), [
    ("max-age:12h", timedelta(hours=12)),
    ("max-age:2w", timedelta(weeks=2)),
    ("MAX-AGE: 5 D", timedelta(days=5)),
    ("max-age:0d", timedelta(0)),
])
def test_max_age_units(text: str, delta: timedelta) -> None:
    claim = parse_date_claim(text, posted_at=POSTED)
    assert claim.earliest == POSTED.earliest - delta
    assert claim.latest == POSTED.latest


def test_max_age_on_a_day_precision_posting_covers_whole_days() -> None:
    posted = parse_timestamp("2024-10-18")
    claim = parse_date_claim("max-age:3d", posted_at=posted)
    assert claim.edtf == "2024-10-15/2024-10-18"
    assert claim.earliest == naive(2024, 10, 15)
    assert claim.latest == naive(2024, 10, 18, 23, 59, 59, 999999)
    assert claim.precision is Precision.DAY


def test_max_age_in_hours_on_a_day_precision_posting_reaches_into_the_day_before() -> None:
    claim = parse_date_claim("max-age:5h", posted_at=parse_timestamp("2024-10-18"))
    assert claim.edtf == "2024-10-17T19/2024-10-18"
    assert claim.precision is Precision.DAY


def test_max_age_needs_posted_at() -> None:
    with pytest.raises(ValidationError, match="posted_at") as caught:
        parse_date_claim("max-age:3d")
    assert caught.value.field == "date"


def test_max_age_past_year_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="year 1"):
        parse_date_claim("max-age:999999w", posted_at=parse_timestamp("0005"))


def test_a_derived_claim_round_trips_with_its_anchor() -> None:
    claim = parse_date_claim("max-age:3d", posted_at=POSTED)
    data = json.loads(json.dumps(claim.to_dict()))
    assert data["derivation"] == {"rule": "max-age", "amount": 3, "unit": "d",
                                  "anchor": {"value": "2024-10-18T09:15:30+00:00", "precision": "second"}}
    assert DateClaim.from_dict(data) == claim


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize("text", [
    "", "yesterday", "15/10/2024", "2024-1-5", "24-10-15", "2024-10-15 08:00", "2024-13", "2024-02-30",
    "0000", "2024-10-15T24:00Z", "2024-10-15T08:60Z", "2024-10-15T08:00+24:00", "2024-10-15T08:00+05:60",
    "2024/2025/2026", "max-age:3y", "max-age:-3d", "2024-10-15T08:00Z/", "/2024", "٢٠٢٤",
    "2024-10-15Z",
])
def test_unparseable_text_names_the_field_and_the_syntax(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_date_claim(text)
    assert caught.value.field == "date"
    assert caught.value.value == text


def test_not_a_string() -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        parse_date_claim(20241015)  # type: ignore[arg-type]


def test_the_field_name_can_be_chosen() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_date_claim("soon", field="claim.date")
    assert caught.value.field == "claim.date"


# ---------------------------------------------------------- consistency


def test_a_hand_built_claim_must_agree_with_its_edtf() -> None:
    good = parse_date_claim("2024-10-15")
    with pytest.raises(ValidationError) as caught:
        DateClaim(kind=DateKind.INSTANT, earliest=good.earliest, latest=naive(2024, 10, 16),
                  precision=Precision.DAY, edtf="2024-10-15")
    assert caught.value.field == "date.latest"
    assert "2024-10-15" in str(caught.value)


def test_a_tampered_dict_is_refused() -> None:
    data = parse_date_claim("2024-10-15T08:00+03:00").to_dict()
    data["earliest"] = "2024-10-15T05:00:00+00:00"  # the same instant, another zone
    with pytest.raises(ValidationError, match="date.earliest"):
        DateClaim.from_dict(data)


def test_a_dict_of_the_wrong_shape_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"date\.kind: is missing"):
        DateClaim.from_dict({})
    with pytest.raises(FormatError, match="unknown key"):
        DateClaim.from_dict({**DateClaim.unknown().to_dict(), "extra": 1})
    with pytest.raises(FormatError, match="ISO 8601"):
        DateClaim.from_dict({**parse_date_claim("2024").to_dict(), "earliest": "last year"})


def test_class_methods_build_the_same_claims_as_the_parser() -> None:
    start, end = parse_timestamp("2024-10-15"), parse_timestamp("2024-10-18")
    assert DateClaim.between(start, end) == parse_date_claim("2024-10-15/2024-10-18")
    assert DateClaim.between(None, end) == parse_date_claim("../2024-10-18")
    assert DateClaim.instant(start) == parse_date_claim("2024-10-15")
    assert DateClaim.max_age(3, "d", POSTED) == parse_date_claim("max-age:3d", posted_at=POSTED)


def test_str_reads_well() -> None:
    assert str(parse_date_claim("2024-10")) == "2024-10"
    assert str(DateClaim.unknown()) == "unknown"
    assert str(parse_date_claim("max-age:1w", posted_at=parse_timestamp("2024-10-18"))) == (
        "2024-10-11/2024-10-18 (max-age:1w)")


# --------------------------------------------------------------- Timestamp


def test_timestamp_precisions() -> None:
    assert parse_timestamp("2024-10-15T08:00:05Z").precision is Precision.SECOND
    assert parse_timestamp("2024-10-15").precision is Precision.DAY
    assert parse_timestamp("2024").latest == naive(2024, 12, 31, 23, 59, 59, 999999)


def test_timestamp_from_epoch_is_second_precision_utc() -> None:
    stamp = Timestamp.from_epoch(1729012345.75)
    assert stamp == Timestamp(value=datetime(2024, 10, 15, 17, 12, 25, tzinfo=UTC), precision=Precision.SECOND)
    assert stamp.edtf == "2024-10-15T17:12:25Z"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "1729012345", 1e300])
def test_timestamp_from_epoch_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        Timestamp.from_epoch(bad)  # type: ignore[arg-type]


def test_timestamp_must_not_hold_more_than_its_precision() -> None:
    with pytest.raises(ValidationError, match="precision"):
        Timestamp(value=naive(2024, 10, 15, 8), precision=Precision.DAY)
    assert Timestamp.truncated(naive(2024, 10, 15, 8, 30), "day") == parse_timestamp("2024-10-15")


def test_a_day_precision_utc_timestamp_keeps_its_zone_in_the_dict_form() -> None:
    stamp = Timestamp(value=datetime(2024, 10, 16, tzinfo=UTC), precision=Precision.DAY)
    assert stamp.edtf == "2024-10-16"  # EDTF has no zone on a date alone
    assert stamp.to_dict() == {"value": "2024-10-16T00:00:00+00:00", "precision": "day"}
    assert Timestamp.from_dict(stamp.to_dict()).value.tzinfo is not None


def test_timestamp_refuses_an_interval_or_max_age() -> None:
    for text in ("2024/2025", "max-age:3d", "unknown"):
        with pytest.raises(ValidationError) as caught:
            parse_timestamp(text, field="posted_at")
        assert caught.value.field == "posted_at"


def test_a_time_outside_years_1_to_9999_in_utc_is_refused() -> None:
    with pytest.raises(ValidationError, match="1-9999"):
        parse_timestamp("0001-01-01T00:00+05:00")


# ----------------------------------------------------------------- properties

digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
zones = st.one_of(st.just(""), st.just("Z"), st.just("z"),
                  st.builds(lambda sign, h, m, colon: f"{sign}{h:02d}{':' if colon else ''}{m:02d}",
                            st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 61), st.booleans()))
singles = st.one_of(
    st.integers(0, 9999).map(lambda y: f"{y:04d}"),
    st.builds(lambda y, m: f"{y:04d}-{m}", st.integers(0, 9999), digits),
    st.builds(lambda y, m, d: f"{y:04d}-{m}-{d}", st.integers(0, 9999), digits, digits),
    st.builds(lambda y, m, d, h, mi, s, z: f"{y:04d}-{m:02d}-{d:02d}T{h}{mi}{s}{z}",
              st.integers(1, 9999), st.integers(1, 12), st.integers(1, 31), digits,
              st.one_of(st.just(""), digits.map(lambda v: ":" + v)),
              st.one_of(st.just(""), digits.map(lambda v: ":" + v)), zones),
)
ends = st.one_of(st.just(".."), singles)
date_texts = st.one_of(
    singles,
    st.builds(lambda a, b: f"{a}/{b}", ends, ends),
    st.just("unknown"),
    st.builds(lambda n, u: f"max-age:{n}{u}", st.integers(0, 10**7), st.sampled_from("hdwHDWy")),
    st.text(max_size=40),
    st.text(alphabet="0123456789-T:Z+/.", max_size=30),
)
posted = st.one_of(st.none(), singles.map(lambda text: _maybe_timestamp(text)))


def _maybe_timestamp(text: str) -> Timestamp | None:
    try:
        return parse_timestamp(text)
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None)
@given(text=date_texts, posted_at=posted)
def test_parser_raises_only_vidprov_errors_and_what_parses_round_trips(text: str,
                                                                      posted_at: Timestamp | None) -> None:
    try:
        claim = parse_date_claim(text, posted_at=posted_at)
    except VidprovError:
        return
    assert DateClaim.from_dict(json.loads(json.dumps(claim.to_dict()))) == claim
    if claim.kind is DateKind.UNKNOWN:
        assert parse_date_claim("unknown") == claim
        return
    assert claim.edtf is not None
    if claim.derivation is None:
        assert parse_date_claim(claim.edtf) == claim
    if claim.earliest is not None and claim.latest is not None:
        if (claim.earliest.tzinfo is None) == (claim.latest.tzinfo is None):
            assert claim.earliest <= claim.latest


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(singles, st.text(max_size=30)))
def test_timestamp_parser_raises_only_vidprov_errors_and_round_trips(text: str) -> None:
    try:
        stamp = parse_timestamp(text)
    except VidprovError:
        return
    assert parse_timestamp(stamp.edtf) == stamp
    assert Timestamp.from_dict(json.loads(json.dumps(stamp.to_dict()))) == stamp
    assert stamp.earliest <= stamp.latest


@settings(max_examples=200, deadline=None)
@given(data=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                             st.sampled_from(["kind", "earliest", "latest", "precision", "edtf", "derivation",
                                              "rule", "amount", "unit", "anchor", "value"]), inner, max_size=6),
                         max_leaves=12))
def test_reading_any_json_as_a_date_claim_raises_only_vidprov_errors(data: object) -> None:
    try:
        DateClaim.from_dict(data)
    except VidprovError:
        pass
