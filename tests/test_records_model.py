"""The records themselves: validation when built, verbatim text and exact round trips."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidprov.errors import FormatError, ValidationError, VidprovError
from vidprov.records import (
    SCHEMA_VERSION,
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Clip,
    PlaceClaim,
    Platform,
    Relay,
    RelayKind,
    Verdict,
    VerdictStatus,
    parse_date_claim,
    parse_point,
    parse_timestamp,
    record_from_dict,
)

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64
NOW = datetime(2024, 10, 20, 14, 30, tzinfo=timezone.utc)


def make_clip(**overrides: object) -> Clip:
    fields: dict = dict(sha256=SHA_A, size=1_048_576, media_type="video/mp4", duration_s=37.5,
                        source_url="https://x.com/example_reporter/status/1846123456789012345",
                        archive_urls=("https://web.archive.org/web/20241015000000/https://x.com/e",),
                        captured_at=NOW, captured_by="desk@example.org", fingerprint_ref="fp-0001",
                        metadata_ref=SHA_A)
    fields.update(overrides)
    return Clip(**fields)


def make_appearance(**overrides: object) -> Appearance:
    fields: dict = dict(id="app-1", platform="telegram", url="https://t.me/example_channel/613",
                        clip_sha256=SHA_A, publisher="Пример канала", handle="example_channel", post_id="613",
                        posted_at=parse_timestamp("2024-10-15T14:06:43Z"), title="t", description="d")
    fields.update(overrides)
    return Appearance(**fields)


def make_claim(**overrides: object) -> Claim:
    posted = parse_timestamp("2024-10-15T14:06:43Z")
    fields: dict = dict(id="claim-1", appearance_id="app-1", text="Filmed this morning in Ussuriysk",
                        date=parse_date_claim("max-age:12h", posted_at=posted),
                        place=PlaceClaim(name="Ussuriysk", subdivision="RU-PRI", basis="stated by publisher"))
    fields.update(overrides)
    return Claim(**fields)


def make_assessment(**overrides: object) -> Assessment:
    fields: dict = dict(id="geo-1", kind="geolocation", clip_sha256s=(SHA_B, SHA_C), made_by="Geo team",
                        made_at=NOW, result="Matches the station square in Ussuriysk",
                        evidence_url="https://example.org/geolocation/1",
                        place=PlaceClaim(point=parse_point("43.80,131.95", radius_m=50), basis="geolocated"))
    fields.update(overrides)
    return Assessment(**fields)


def make_verdict(**overrides: object) -> Verdict:
    fields: dict = dict(id="verdict-1", clip_sha256=SHA_A, status="recycled", reviewer="Desk editor",
                        decided_at=NOW, note="Same footage posted in 2022")
    fields.update(overrides)
    return Verdict(**fields)


RECORDS = [make_clip, make_appearance, make_claim, make_assessment, make_verdict]


# --------------------------------------------------------------- round trips


@pytest.mark.parametrize("make", RECORDS)
def test_every_record_round_trips_through_json(make) -> None:  # type: ignore[no-untyped-def]
    record = make()
    data = json.loads(json.dumps(record.to_dict()))
    assert type(record).from_dict(data) == record
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert list(data)[:2] == ["type", "schema_version"]


@pytest.mark.parametrize("make", RECORDS)
def test_a_newer_schema_version_is_refused_with_advice(make) -> None:  # type: ignore[no-untyped-def]
    data = make().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(FormatError, match="newer vidprov.*upgrade"):
        type(make()).from_dict(data)


@pytest.mark.parametrize("make", RECORDS)
def test_an_unknown_key_is_refused_rather_than_dropped(make) -> None:  # type: ignore[no-untyped-def]
    data = {**make().to_dict(), "colour": "blue"}
    with pytest.raises(FormatError, match="unknown key.*'colour'"):
        type(make()).from_dict(data)


@pytest.mark.parametrize("make", RECORDS)
def test_record_from_dict_picks_the_class_by_type(make) -> None:  # type: ignore[no-untyped-def]
    record = make()
    assert record_from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_record_from_dict_refuses_an_unknown_type() -> None:
    with pytest.raises(FormatError, match="unknown record type 'tweet'; expected one of: clip, appearance"):
        record_from_dict({"type": "tweet", "schema_version": 1})


def test_the_wrong_record_type_is_refused() -> None:
    with pytest.raises(FormatError, match="expected a 'clip' record, got 'verdict'"):
        Clip.from_dict(make_verdict().to_dict())


def test_the_wrong_value_type_names_the_key() -> None:
    data = make_clip().to_dict()
    data["size"] = "1 MB"
    with pytest.raises(FormatError, match=r"clip\.size: expected an integer, got str"):
        Clip.from_dict(data)
    data["size"] = True
    with pytest.raises(FormatError, match=r"clip\.size: expected an integer, got bool"):
        Clip.from_dict(data)


def test_pinned_dict_form_of_a_verdict() -> None:
    assert make_verdict().to_dict() == {
        "type": "verdict", "schema_version": 1, "id": "verdict-1", "clip_sha256": SHA_A,
        "status": "recycled", "reviewer": "Desk editor", "decided_at": "2024-10-20T14:30:00+00:00",
        "note": "Same footage posted in 2022",
    }


def test_pinned_dict_form_of_an_appearance() -> None:
    assert make_appearance(relay_of=Relay(kind="quote", appearance_id="app-0")).to_dict() == {
        "type": "appearance", "schema_version": 1, "id": "app-1", "platform": "telegram",
        "url": "https://t.me/example_channel/613", "clip_sha256": SHA_A, "publisher": "Пример канала",
        "handle": "example_channel", "post_id": "613",
        "posted_at": {"value": "2024-10-15T14:06:43+00:00", "precision": "second"},
        "title": "t", "description": "d", "archive_urls": [],
        "relay_of": {"kind": "quote", "appearance_id": "app-0"},
    }


# ---------------------------------------------------------------- free text

NASTY = "<script>alert('x')</script> \"quoted\" 'single' \\ back\nnew line\ttab \u202eRTL \U0001F4F9 \x1b[31m"


def test_free_text_is_stored_verbatim() -> None:
    claim = make_claim(text=NASTY, claimant=NASTY)
    assert claim.text == NASTY
    assert Claim.from_dict(json.loads(json.dumps(claim.to_dict()))).text == NASTY


@pytest.mark.parametrize("bad", ["before\x00after", "lone \ud800 surrogate"])
def test_nul_bytes_and_lone_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_claim(text=bad)
    assert caught.value.field == "claim.text"
    assert "NUL" in str(caught.value) or "surrogate" in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_any_text_is_either_refused_clearly_or_kept_exactly(text: str) -> None:
    try:
        verdict = make_verdict(note=text)
    except ValidationError as error:
        assert error.field == "verdict.note"
        assert "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
        return
    encoded = json.dumps(verdict.to_dict(), ensure_ascii=False).encode("utf-8")
    assert Verdict.from_dict(json.loads(encoded)).note == text


# ---------------------------------------------------------------- Clip


@pytest.mark.parametrize(("overrides", "field"), [
    ({"sha256": "abc"}, "clip.sha256"),
    ({"sha256": "g" * 64}, "clip.sha256"),
    ({"size": 0}, "clip.size"),
    ({"size": 1.5}, "clip.size"),
    ({"media_type": "mp4"}, "clip.media_type"),
    ({"duration_s": -1}, "clip.duration_s"),
    ({"source_url": "ftp://example.org/a.mp4"}, "clip.source_url"),
    ({"source_url": "https://example.org/a b.mp4"}, "clip.source_url"),
    ({"archive_urls": "https://archive.org/x"}, "clip.archive_urls"),
    ({"archive_urls": ("https://a.example/1", "https://a.example/1")}, "clip.archive_urls"),
    ({"captured_at": datetime(2024, 10, 20)}, "clip.captured_at"),
    ({"fingerprint_ref": "has space"}, "clip.fingerprint_ref"),
])
def test_clip_refusals_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_clip(**overrides)
    assert caught.value.field == field


def test_clip_normalises_case_and_numbers() -> None:
    clip = make_clip(sha256="A" * 64, media_type="Video/MP4", duration_s=12, archive_urls=[])
    assert (clip.sha256, clip.media_type, clip.duration_s, clip.archive_urls) == (SHA_A, "video/mp4", 12.0, ())


# --------------------------------------------------------------- Appearance


def test_platform_must_be_one_of_the_known_values() -> None:
    with pytest.raises(ValidationError) as caught:
        make_appearance(platform="myspace")
    assert caught.value.field == "appearance.platform"
    assert "x, telegram, youtube, tiktok, facebook, instagram, web, other" in str(caught.value)
    assert make_appearance(platform=Platform.X).platform is Platform.X


def test_an_appearance_cannot_relay_itself() -> None:
    with pytest.raises(ValidationError, match="another appearance"):
        make_appearance(relay_of=Relay(kind=RelayKind.RELAY, appearance_id="app-1"))
    with pytest.raises(ValidationError, match="quote, relay"):
        Relay(kind="retweet", appearance_id="app-0")  # type: ignore[arg-type]


def test_appearances_get_distinct_ids_unless_given() -> None:
    first = Appearance(platform="web", url="https://example.org/v")
    second = Appearance(platform="web", url="https://example.org/v")
    assert first.id != second.id and first != second


def test_posted_at_must_be_a_timestamp() -> None:
    with pytest.raises(ValidationError, match="appearance.posted_at"):
        make_appearance(posted_at="2024-10-15")


# ------------------------------------------------------------------- Claim


def test_a_claim_needs_an_appearance_or_a_clip() -> None:
    with pytest.raises(ValidationError) as caught:
        make_claim(appearance_id=None, date=None)
    assert caught.value.field == "claim.appearance_id"
    assert make_claim(appearance_id=None, date=None, clip_sha256=SHA_A).clip_sha256 == SHA_A


def test_a_claim_must_say_something() -> None:
    with pytest.raises(ValidationError, match="claim text, a date or a place"):
        make_claim(text="  ", date=None, place=None)
    assert make_claim(text=None, place=None).date is not None


def test_a_max_age_claim_needs_the_appearance_that_anchors_it() -> None:
    with pytest.raises(ValidationError, match="anchors 'max-age:12h'"):
        make_claim(appearance_id=None, clip_sha256=SHA_A)
    assert make_claim().derived_from_posting


# -------------------------------------------------------------- Assessment


def test_an_assessment_applies_only_to_the_clips_it_lists() -> None:
    geolocation = make_assessment()
    assert geolocation.applies_to(SHA_B) and geolocation.applies_to(SHA_C.upper())
    # A geolocation of earlier copies is not a geolocation of the new clip.
    assert not geolocation.applies_to(SHA_A)
    assert not geolocation.applies_to("not a digest")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"clip_sha256s": ()}, "assessment.clip_sha256s"),
    ({"clip_sha256s": (SHA_B, SHA_B)}, "assessment.clip_sha256s"),
    ({"clip_sha256s": SHA_B}, "assessment.clip_sha256s"),
    ({"kind": "vibes"}, "assessment.kind"),
    ({"made_by": ""}, "assessment.made_by"),
    ({"made_at": datetime(2024, 10, 20)}, "assessment.made_at"),
    ({"result": None}, "assessment.result"),
    ({"evidence_url": "see slack"}, "assessment.evidence_url"),
])
def test_assessment_refusals_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_assessment(**overrides)
    assert caught.value.field == field


def test_assessment_kinds() -> None:
    assert {kind.value for kind in AssessmentKind} == {"geolocation", "chronolocation", "source_check", "other"}
    chrono = make_assessment(kind="chronolocation", place=None, date=parse_date_claim("2022-03"))
    assert Assessment.from_dict(chrono.to_dict()) == chrono


# ----------------------------------------------------------------- Verdict


def test_verdict_statuses() -> None:
    assert [status.value for status in VerdictStatus] == [
        "unverified", "verified", "disputed", "false", "misattributed", "recycled"]
    with pytest.raises(ValidationError, match="unverified, verified, disputed, false, misattributed, recycled"):
        make_verdict(status="fake")


def test_verdict_keeps_its_time_zone() -> None:
    kyiv = timezone(timedelta(hours=3))
    verdict = make_verdict(decided_at=datetime(2024, 10, 20, 17, 30, tzinfo=kyiv))
    again = Verdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert again.decided_at.utcoffset() == timedelta(hours=3)


# --------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_reading_mangled_dicts_raises_only_vidprov_errors(data: st.DataObject) -> None:
    make = data.draw(st.sampled_from(RECORDS))
    record_dict = make().to_dict()
    key = data.draw(st.sampled_from(sorted(record_dict)))
    record_dict[key] = data.draw(json_values)
    try:
        record = type(make()).from_dict(record_dict)
    except VidprovError:
        return
    assert type(record).from_dict(json.loads(json.dumps(record.to_dict()))) == record
