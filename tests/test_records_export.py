"""Bundles and their exports: lossless JSON, CSV tables and schema.org JSON-LD."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidprov.errors import FormatError, ValidationError, VidprovError
from vidprov.records import (
    MEDIA_AUTHENTICITY_CATEGORY,
    Appearance,
    Assessment,
    Claim,
    Clip,
    Geometry,
    PlaceClaim,
    RecordBundle,
    Relay,
    Verdict,
    VerdictStatus,
    appearance_from_info_json,
    appearances_csv,
    claims_csv,
    from_json,
    jsonld_script,
    parse_date_claim,
    parse_point,
    to_json,
    to_jsonld,
)
from vidprov.records.export import APPEARANCE_COLUMNS, CLAIM_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "ytdlp"
SHA_NEW = "1" * 64
SHA_OLD = "2" * 64
T0 = datetime(2024, 10, 20, 9, 0, tzinfo=timezone.utc)


def make_bundle(status: str = "recycled") -> RecordBundle:
    telegram = appearance_from_info_json(FIXTURES / "telegram_post.info.json", appearance_id="tg-613",
                                         clip_sha256=SHA_NEW)
    relay = appearance_from_info_json(FIXTURES / "x_status.info.json", appearance_id="x-1846", clip_sha256=SHA_NEW)
    relay = dataclasses.replace(relay, relay_of=Relay(kind="quote", appearance_id="tg-613"))
    old = Appearance(id="yt-2022", platform="youtube", url="https://www.youtube.com/watch?v=OldOldOld01",
                     clip_sha256=SHA_OLD, publisher="Archive Channel")
    claims = (
        Claim(id="c-1", appearance_id="tg-613", text="=HYPERLINK(\"http://evil.example\") filmed this morning",
              date=parse_date_claim("max-age:12h", posted_at=telegram.posted_at),
              place=PlaceClaim(name="Ussuriysk", subdivision="RU-PRI", point=parse_point("43.8,131.95", radius_m=2000),
                               basis="stated by publisher")),
        Claim(id="c-2", clip_sha256=SHA_NEW, claimant="A source, by phone", text="Shot in 2022 </script><b>",
              date=parse_date_claim("2022"),
              place=PlaceClaim(geometry=Geometry(type="Point", coordinates=(131.95, 43.8)))),
        Claim(id="c-3", appearance_id="yt-2022", date=parse_date_claim("2022-03-01/2022-03-04")),
    )
    assessments = (
        Assessment(id="geo-old", kind="geolocation", clip_sha256s=(SHA_OLD,), made_by="Geo team", made_at=T0,
                   result="Station square, Ussuriysk", evidence_url="https://example.org/geo/old"),
        Assessment(id="chrono-new", kind="chronolocation", clip_sha256s=(SHA_NEW, SHA_OLD), made_by="Geo team",
                   made_at=T0, result="Same footage as the 2022 upload", evidence_url="https://example.org/chrono"),
    )
    verdicts = (
        Verdict(id="v-1", clip_sha256=SHA_NEW, status="unverified", reviewer="Desk", decided_at=T0),
        Verdict(id="v-2", clip_sha256=SHA_NEW, status=status, reviewer="Desk editor",
                decided_at=T0 + timedelta(hours=2), note="Posted on YouTube in March 2022"),
    )
    clips = (
        Clip(sha256=SHA_NEW, size=4_200_000, media_type="video/mp4", duration_s=61, captured_at=T0,
             source_url="https://t.me/example_channel/613"),
        Clip(sha256=SHA_OLD, size=9_100_000, media_type="video/webm"),
    )
    return RecordBundle(clips=clips, appearances=(telegram, relay, old), claims=claims, assessments=assessments,
                        verdicts=verdicts)


# ---------------------------------------------------------------- bundles


def test_bundle_lookups() -> None:
    bundle = make_bundle()
    assert [item.id for item in bundle.appearances_of(SHA_NEW)] == ["tg-613", "x-1846"]
    assert [claim.id for claim in bundle.claims_about(SHA_NEW)] == ["c-1", "c-2"]
    assert [claim.id for claim in bundle.claims_about(SHA_OLD)] == ["c-3"]
    assert [item.id for item in bundle.assessments_of(SHA_NEW)] == ["chrono-new"]
    current = bundle.current_verdict(SHA_NEW)
    assert current is not None and current.id == "v-2"
    assert bundle.current_verdict(SHA_OLD) is None
    assert bundle.dangling() == ()


def test_bundle_reports_references_it_cannot_resolve() -> None:
    bundle = make_bundle()
    partial = RecordBundle(clips=bundle.clips[:1], appearances=bundle.appearances[1:2])
    assert partial.dangling() == ("appearance x-1846 refers to appearance tg-613, which is not in the bundle",)


def test_bundle_refuses_duplicates_and_strangers() -> None:
    bundle = make_bundle()
    with pytest.raises(ValidationError, match="bundle.claims"):
        RecordBundle(claims=bundle.claims + bundle.claims[:1])
    with pytest.raises(ValidationError, match="Clip records only"):
        RecordBundle(clips=bundle.verdicts)


# ------------------------------------------------------------------- JSON


def test_json_export_is_lossless() -> None:
    bundle = make_bundle()
    text = to_json(bundle)
    assert from_json(text) == bundle
    assert from_json(text.encode("utf-8")) == bundle
    assert "</script><b>" in text and "Пример канала" in text  # verbatim, not escaped


def test_json_import_errors_name_the_file() -> None:
    with pytest.raises(FormatError) as caught:
        from_json("{", path="export.json")
    assert str(caught.value).startswith("export.json: not valid JSON")
    data = make_bundle().to_dict()
    data["claims"][0]["date"]["edtf"] = "2024-99"
    with pytest.raises(ValidationError) as refused:
        from_json(json.dumps(data), path="export.json")
    assert refused.value.path == "export.json"
    data = make_bundle().to_dict()
    del data["clips"][1]["size"]
    with pytest.raises(FormatError, match=r"bundle\.clips\[1\]\.size: is missing"):
        from_json(json.dumps(data))


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=50) | st.binary(max_size=30))
def test_json_import_raises_only_vidprov_errors(text: str | bytes) -> None:
    try:
        from_json(text)
    except VidprovError:
        pass


# -------------------------------------------------------------------- CSV


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_claims_csv_has_one_row_per_claim() -> None:
    rows = read_csv(claims_csv(make_bundle()))
    assert [row["claim_id"] for row in rows] == ["c-1", "c-2", "c-3"]
    assert tuple(rows[0]) == CLAIM_COLUMNS
    first = rows[0]
    assert first["clip_sha256"] == SHA_NEW and first["platform"] == "telegram"
    assert first["publisher"] == "Пример канала ✔"
    assert first["date_derivation"] == "max-age:12h"
    assert first["date_edtf"] == "2024-10-15T02:06:43Z/2024-10-15T14:06:43Z"
    assert (first["place_subdivision"], first["place_lat"], first["place_radius_m"]) == ("RU-PRI", "43.8", "2000.0")
    assert json.loads(rows[1]["place_geometry"]) == {"type": "Point", "coordinates": [131.95, 43.8]}
    assert rows[2]["clip_sha256"] == SHA_OLD  # reached through its appearance


def test_csv_defuses_formulas_in_free_text_only() -> None:
    rows = read_csv(claims_csv(make_bundle()))
    assert rows[0]["text"].startswith("'=HYPERLINK(")
    raw = read_csv(claims_csv(make_bundle(), spreadsheet_safe=False))
    assert raw[0]["text"].startswith("=HYPERLINK(")
    assert raw[1]["text"] == "Shot in 2022 </script><b>"


def test_appearances_csv_has_one_row_per_appearance() -> None:
    rows = read_csv(appearances_csv(make_bundle()))
    assert tuple(rows[0]) == APPEARANCE_COLUMNS
    assert [row["appearance_id"] for row in rows] == ["tg-613", "x-1846", "yt-2022"]
    assert (rows[1]["relay_kind"], rows[1]["relay_of"]) == ("quote", "tg-613")
    assert rows[0]["posted_at"] == "2024-10-15T14:06:43Z" and rows[0]["posted_at_precision"] == "second"
    assert rows[0]["description"] == "Видео снято сегодня утром в Уссурийске.\n«Цитата» и 'кавычки'"


# ---------------------------------------------------------------- JSON-LD


def nodes(document: dict, kind: str) -> list[dict]:
    return [node for node in document["@graph"] if node["@type"] == kind]


def test_jsonld_nodes_and_links() -> None:
    document = to_jsonld(make_bundle())
    assert document["@context"] == "https://schema.org"
    videos = nodes(document, "VideoObject")
    assert [video["identifier"]["value"] for video in videos] == [SHA_NEW, SHA_OLD]
    assert videos[0]["duration"] == "PT61S" and videos[0]["encodingFormat"] == "video/mp4"
    long_clip = Clip(sha256=SHA_OLD, size=1, media_type="video/mp4", duration_s=1_000_000.25)
    (video,) = nodes(to_jsonld(RecordBundle(clips=[long_clip])), "VideoObject")
    assert video["duration"] == "PT1000000.25S"
    posts = nodes(document, "SocialMediaPosting")
    assert posts[1]["isBasedOn"] == {"@id": "_:appearance-tg-613"}
    claims = nodes(document, "Claim")
    assert claims[0]["appearance"] == {"@id": "_:appearance-tg-613"}
    assert claims[0]["about"] == {"@id": f"_:clip-{SHA_NEW}"}
    assert claims[0]["temporalCoverage"] == "2024-10-15T02:06:43Z/2024-10-15T14:06:43Z"
    assert claims[0]["spatialCoverage"]["geo"]["geoRadius"] == 2000.0
    assert claims[1]["author"] == {"name": "A source, by phone"}


def test_jsonld_reviews_follow_the_current_verdict() -> None:
    document = to_jsonld(make_bundle("recycled"))
    (media_review,) = nodes(document, "MediaReview")
    assert media_review["mediaAuthenticityCategory"] == "DecontextualizedContent"
    assert media_review["itemReviewed"]["mediaItemAppearance"] == [{"@id": f"_:clip-{SHA_NEW}"}]
    assert media_review["citation"] == ["https://example.org/chrono"]  # not the old clip's geolocation
    reviews = nodes(document, "ClaimReview")
    assert [review["itemReviewed"]["@id"] for review in reviews] == ["_:claim-c-1", "_:claim-c-2"]
    assert reviews[0]["reviewRating"]["alternateName"] == "Recycled: older footage presented as new"


@pytest.mark.parametrize(("status", "category"), [
    ("verified", "OriginalMediaContent"),
    ("false", "TransformedContent"),
    ("misattributed", "DecontextualizedContent"),
    ("recycled", "DecontextualizedContent"),
    ("disputed", None),
    ("unverified", None),
])
def test_media_authenticity_mapping(status: str, category: str | None) -> None:
    assert MEDIA_AUTHENTICITY_CATEGORY[VerdictStatus(status)] == category
    reviews = nodes(to_jsonld(make_bundle(status)), "MediaReview")
    assert [review["mediaAuthenticityCategory"] for review in reviews] == ([category] if category else [])


def test_unverified_clips_get_no_claim_review() -> None:
    assert nodes(to_jsonld(make_bundle("unverified")), "ClaimReview") == []


def test_jsonld_script_cannot_be_closed_by_a_caption() -> None:
    html = jsonld_script(make_bundle())
    body = html.removeprefix('<script type="application/ld+json">\n').removesuffix("\n</script>")
    assert "</script" not in body and "<" not in body
    assert json.loads(body) == to_jsonld(make_bundle())
