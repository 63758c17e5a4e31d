"""vidprov.ingest: a clip and what is said about it go into the index whole, once, or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

import vidprov
from vidprov import ingest, samples
from vidprov.errors import (
    AmbiguousReferenceError,
    FileAccessError,
    FormatError,
    IndexStoreError,
    NotFoundError,
    ValidationError,
)
from vidprov.fingerprint import INDEX_MIN_FRAMES
from vidprov.index import Index, open_index
from vidprov.records import Appearance, Claim, Clip, RecordBundle, Relay, parse_timestamp

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ytdlp"
SHA_ONE = "abcdef" + "1" * 58
SHA_TWO = "abcdef" + "2" * 58


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with open_index(tmp_path / "test.db", create=True) as opened:
        yield opened


def snapshot(index: Index) -> tuple[int, dict[str, Any]]:
    """Everything a test can see in the index: clip count and every record."""
    return index.count_clips(), index.records().to_dict()


def cscis(**fields: Any) -> Appearance:
    return Appearance(platform="x", publisher="CSCIS", handle="@cscis_example",
                      url="https://x.com/cscis_example/status/1",
                      posted_at=parse_timestamp("2024-10-18T08:30+03:00"), **fields)


def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the clip was decoded again")

    monkeypatch.setattr(ingest, "make_fingerprint", refuse)
    monkeypatch.setattr(ingest, "read_metadata", refuse)


# ------------------------------------------------------------------ add


def test_add_stores_clip_fingerprint_metadata_appearance_and_claims(
        index: Index, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    draft = ingest.ClaimDraft(text="Troops at Sergeevka", date="max-age:3d",
                              place=ingest.place_from_parts(name="Sergeevka", coords="44.34,131.66", radius_m=5000))
    result = ingest.add(index, path, appearance=cscis(), claims=[draft])

    assert result.created and result.clip.id == 1
    assert result.clip.clip == Clip(sha256=result.clip.sha256, size=os.path.getsize(path), media_type="video/mp4",
                                    duration_s=9.0)
    # Nine seconds: sampled more densely than two a second, so as to give INDEX_MIN_FRAMES.
    assert result.fingerprint is not None and len(result.fingerprint.frames) >= INDEX_MIN_FRAMES
    stored_fp = index.fingerprint(result.clip.id)
    assert stored_fp is not None and stored_fp.algorithm == index.algorithm == "pdq"
    metadata = index.metadata(result.clip.id)
    assert metadata is not None and metadata["format"]["container"]["value"] == "mp4"

    bundle = index.records([result.clip.sha256])
    (appearance,) = bundle.appearances
    assert appearance.clip_sha256 == result.clip.sha256 and appearance == result.appearance
    (claim,) = bundle.claims
    assert claim.appearance_id == appearance.id and claim.clip_sha256 is None
    assert claim.date is not None and claim.date.derivation is not None
    assert claim.date.derivation.anchor == appearance.posted_at
    assert claim.date.edtf == "2024-10-15T08:30+03:00/2024-10-18T08:30+03:00"
    assert bundle.claim_clip(claim) == result.clip.sha256


def test_adding_again_decodes_nothing_and_duplicates_nothing(
        index: Index, footage: tuple[Path, samples.ClipSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = footage
    draft = ingest.ClaimDraft(text="Filmed at Sergeevka")
    first = ingest.add(index, path, appearance=cscis(), claims=[draft])
    no_decoding(monkeypatch)

    again = ingest.add(index, path, appearance=cscis(), claims=[draft])  # a fresh id, the same content
    assert not again.created and again.fingerprint is None
    assert again.clip.id == first.clip.id
    assert not again.appearance_created and again.appearance == first.appearance
    assert again.claims == first.claims and again.claims_created == (False,)
    assert len(index.records().appearances) == 1 and len(index.records().claims) == 1

    relay = Appearance(platform="web", publisher="Ukrainska Pravda", url="https://example.org/up/1",
                       posted_at=parse_timestamp("2024-10-18T10:05+03:00"),
                       relay_of=Relay(kind="relay", appearance_id=first.appearance.id))  # type: ignore[union-attr]
    relayed = ingest.add(index, path, appearance=relay, claims=[ingest.ClaimDraft(date="max-age:3d")])
    assert relayed.appearance_created and relayed.claims_created == (True,)
    assert index.count_clips() == 1
    assert len(index.records().appearances) == 2
    assert relayed.claims[0].date.edtf == "2024-10-15T10:05+03:00/2024-10-18T10:05+03:00"  # type: ignore[union-attr]


def test_a_fingerprint_made_already_is_stored_as_is(
        index: Index, footage: tuple[Path, samples.ClipSpec], other_footage: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = footage
    query = vidprov.fingerprint(path, mirror=True)
    other = vidprov.fingerprint(other_footage)
    monkeypatch.setattr(ingest, "make_fingerprint", lambda *a, **k: pytest.fail("fingerprinted twice"))

    with pytest.raises(ValidationError, match=r"^fingerprint\.sha256: '[0-9a-f]{64}' is not allowed; expected "
                                              r"the sha256 of .*footage\.mp4"):
        ingest.add(index, path, fingerprint=other)
    assert snapshot(index) == (0, RecordBundle().to_dict())

    result = ingest.add(index, path, fingerprint=query)
    assert result.fingerprint is query
    assert index.fingerprint(result.clip.id).hashes().tolist() == query.hashes().tolist()  # type: ignore[union-attr]


def test_info_json_gives_the_appearance_and_where_the_file_came_from(
        index: Index, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    result = ingest.add(index, path, info_json=FIXTURES / "x_status.info.json",
                        claims=[ingest.ClaimDraft(date="max-age:3d")])
    appearance = result.appearance
    assert appearance is not None and appearance.platform.value == "x"
    assert result.clip.clip.source_url == appearance.url
    assert result.claims[0].date.derivation.anchor == appearance.posted_at  # type: ignore[union-attr]


def test_build_appearance_lets_options_override_the_info_json() -> None:
    from_file = ingest.build_appearance(info_json=FIXTURES / "x_status.info.json")
    changed = ingest.build_appearance(info_json=FIXTURES / "x_status.info.json", publisher="Desk's name for them",
                                      posted_at="2024-10-18")
    assert from_file is not None and changed is not None
    assert changed.publisher == "Desk's name for them" and changed.url == from_file.url
    assert changed.posted_at == parse_timestamp("2024-10-18")
    assert ingest.build_appearance() is None
    assert ingest.build_appearance(url="https://t.me/example/1").platform.value == "telegram"  # type: ignore[union-attr]
    assert ingest.build_appearance(publisher="Someone").platform.value == "other"  # type: ignore[union-attr]


@pytest.mark.parametrize("given, error, message", [
    (dict(claims=[ingest.ClaimDraft(date="2024-10-18/2024-10-15")]), ValidationError,
     "claim.date: '2024-10-18/2024-10-15' is not allowed; expected an interval whose earliest time is not "
     "after its latest"),
    (dict(claims=[ingest.ClaimDraft(date="last week")]), ValidationError,
     "claim.date: 'last week' is not allowed; expected YYYY, YYYY-MM"),
    (dict(claims=[ingest.ClaimDraft(text="no post to anchor on", date="max-age:3d")]),
     ValidationError, "claim.date: 'max-age:3d' is not allowed; expected max-age together with the "
                      "appearance's posted_at"),
    (dict(appearance=cscis(clip_sha256="0" * 64)), ValidationError,
     "appearance.clip_sha256: '0000"),
    (dict(info_json={"_type": "playlist"}), FormatError,
     "this .info.json describes a playlist, not one video"),
])
def test_bad_input_stores_nothing(index: Index, footage: tuple[Path, samples.ClipSpec],
                                  monkeypatch: pytest.MonkeyPatch, given: dict[str, Any],
                                  error: type[Exception], message: str) -> None:
    path, _ = footage
    ingest.add(index, path, appearance=cscis())
    before = snapshot(index)
    no_decoding(monkeypatch)  # refused before anything is decoded
    with pytest.raises(error) as caught:
        ingest.add(index, path, **given)
    assert str(caught.value).startswith(message)
    assert snapshot(index) == before


def test_bad_places_are_refused_when_built() -> None:
    with pytest.raises(ValidationError, match=r"^lat: 95\.0 is not allowed; expected a number from -90 to 90$"):
        ingest.place_from_parts(coords="95,131.66")
    with pytest.raises(ValidationError, match=r"^lon: 181\.0 is not allowed; expected a number from -180 to 180$"):
        ingest.place_from_parts(coords="44.34,181")
    with pytest.raises(ValidationError, match=r"^radius_m: -1\.0 is not allowed; expected a number of at least 0$"):
        ingest.place_from_parts(coords="44.34,131.66", radius_m=-1.0)
    with pytest.raises(ValidationError, match=r"^radius_m: 5\.0 is not allowed; expected a radius together with"):
        ingest.place_from_parts(radius_m=5.0)
    assert ingest.place_from_parts() is None
    with pytest.raises(ValidationError, match=r"^claim\.text: None is not allowed; expected claim text, a date or"):
        ingest.ClaimDraft(claimant="Nobody in particular")


def test_a_failure_part_way_leaves_nothing_behind(index: Index, footage: tuple[Path, samples.ClipSpec],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = footage

    def broken(claim: Claim) -> str:
        raise IndexStoreError("disk full", index.location)

    monkeypatch.setattr(index, "add_claim", broken)
    with pytest.raises(IndexStoreError, match="disk full"):
        ingest.add(index, path, appearance=cscis(), claims=[ingest.ClaimDraft(text="Filmed at Sergeevka")])
    assert snapshot(index) == (0, RecordBundle().to_dict())
    assert index.fingerprints([1]) == {}


def test_a_missing_file_is_refused_first(index: Index, tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="no such file"):
        ingest.add(index, tmp_path / "missing.mp4", info_json={"_type": "playlist"})


# ---------------------------------------------------------- references


def records_only(index: Index) -> None:
    """Two clips whose sha256s share their first six digits, known from records alone."""
    ingest.import_bundle(index, RecordBundle(clips=(Clip(sha256=SHA_ONE, size=10, media_type="video/mp4"),
                                                    Clip(sha256=SHA_TWO, size=20, media_type="video/mp4"))))


def test_resolve_clip_by_id_prefix_or_file(index: Index, footage: tuple[Path, samples.ClipSpec],
                                           other_footage: Path) -> None:
    path, _ = footage
    added = ingest.add(index, path).clip
    assert ingest.resolve_clip(index, "1").sha256 == added.sha256
    assert ingest.resolve_clip(index, added.sha256[:6].upper()).id == added.id
    assert ingest.resolve_clip(index, added.sha256).id == added.id
    assert ingest.resolve_clip(index, path).id == added.id
    assert [item.id for item in ingest.resolve_clips(index, ["1", str(path)])] == [1]

    with pytest.raises(NotFoundError, match=r"^7: no clip has this id or sha256 prefix, and there is no such file$"):
        ingest.resolve_clip(index, "7")
    with pytest.raises(NotFoundError, match=r"too short for a sha256 prefix \(give 6 or more hex digits\)"):
        ingest.resolve_clip(index, added.sha256[:4] if not added.sha256[:4].isdigit() else "abcd")
    with pytest.raises(NotFoundError, match=r"other\.mp4: this file is not in the index \(sha256 [0-9a-f]{64}\); "
                                            r"add it with: vidprov add$"):
        ingest.resolve_clip(index, other_footage)
    with pytest.raises(NotFoundError, match=r"^nowhere\.mp4: no such file, and not a clip reference; give a clip "
                                            r"id, a sha256 prefix of 6 or more hex digits, or the path of a clip"):
        ingest.resolve_clip(index, "nowhere.mp4")


def test_a_prefix_of_two_clips_is_ambiguous(index: Index) -> None:
    records_only(index)
    with pytest.raises(AmbiguousReferenceError) as caught:
        ingest.resolve_clip(index, "ABCDEF")
    assert str(caught.value) == ("ABCDEF: matches 2 clips (clip 1 abcdef111111, clip 2 abcdef222222); "
                                 "give more digits of the sha256")
    assert ingest.resolve_clip(index, "abcdef2").id == 2


# -------------------------------------------------------- later records


def test_claims_later_in_an_appearance_or_about_the_clip(index: Index,
                                                         footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    added = ingest.add(index, path, appearance=cscis())
    appearance_id = added.appearance.id  # type: ignore[union-attr]

    _, (claim,), created = ingest.add_claims(index, "1", [ingest.ClaimDraft(text="At most 12 hours old",
                                                                            date="max-age:12h")],
                                             appearance=appearance_id[:5])
    assert created == (True,) and claim.appearance_id == appearance_id
    assert claim.date.edtf == "2024-10-17T20:30+03:00/2024-10-18T08:30+03:00"  # type: ignore[union-attr]
    _, (again,), created = ingest.add_claims(index, str(path), [ingest.ClaimDraft(text="At most 12 hours old",
                                                                                  date="max-age:12h")],
                                             appearance=appearance_id)
    assert created == (False,) and again == claim

    _, (elsewhere,), _ = ingest.add_claims(index, "1", [ingest.ClaimDraft(claimant="Source on the phone",
                                                                          text="Filmed in Ussuriysk")])
    assert elsewhere.appearance_id is None and elsewhere.clip_sha256 == added.clip.sha256

    before = snapshot(index)
    with pytest.raises(NotFoundError, match=r"^appearance zz: not an appearance of this clip \(its appearances: "):
        ingest.add_claims(index, "1", [ingest.ClaimDraft(text="x")], appearance="zz")
    with pytest.raises(ValidationError, match=r"^claim: None is not allowed; expected a claim text, date or place"):
        ingest.add_claims(index, "1", [])
    assert snapshot(index) == before


def test_assessments_cover_exactly_the_clips_named(index: Index, footage: tuple[Path, samples.ClipSpec],
                                                   other_footage: Path) -> None:
    path, _ = footage
    earlier = ingest.add(index, path).clip
    later = ingest.add(index, other_footage).clip
    place = ingest.place_from_parts(name="Sergeevka training ground", coords="44.34,131.66", radius_m=500)
    assessment = ingest.assess(index, ["1", str(path)], kind="source-check", made_by="TV team",
                               result="Same source as 2022", place=place, date="2022")
    assert assessment.kind.value == "source_check"
    assert assessment.clip_sha256s == (earlier.sha256,)
    assert assessment.applies_to(earlier.sha256) and not assessment.applies_to(later.sha256)
    assert index.records([later.sha256]).assessments == ()
    assert index.records([earlier.sha256]).assessments == (assessment,)

    with pytest.raises(ValidationError, match=r"^assessment\.kind: 'guess' is not allowed; expected one of: "):
        ingest.assess(index, ["2"], kind="guess", made_by="x", result="y")
    with pytest.raises(ValidationError, match=r"^assessment\.date: 'max-age:3d' is not allowed"):
        ingest.assess(index, ["2"], kind="geolocation", made_by="x", result="y", date="max-age:3d")
    assert len(index.records().assessments) == 1


def test_the_latest_verdict_is_the_status(index: Index, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    stored = ingest.add(index, path).clip
    ingest.decide(index, "1", status="unverified", reviewer="Desk editor")
    latest = ingest.decide(index, stored, status="recycled", reviewer="Desk editor", note="Posted in 2022")
    assert index.records([stored.sha256]).current_verdict(stored.sha256) == latest
    with pytest.raises(ValidationError, match=r"^verdict\.status: 'fake' is not allowed; expected one of: "
                                              r"unverified, verified, disputed, false, misattributed, recycled$"):
        ingest.decide(index, "1", status="fake", reviewer="Desk editor")


# --------------------------------------------------------------- import


def test_import_twice_changes_nothing_and_files_are_fingerprinted_later(
        tmp_path: Path, index: Index, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    ingest.add(index, path, appearance=cscis(), claims=[ingest.ClaimDraft(text="Filmed at Sergeevka")])
    ingest.decide(index, "1", status="unverified", reviewer="Desk editor")
    exported = index.records()

    with open_index(tmp_path / "other.db", create=True) as other:
        first = ingest.import_bundle(other, exported)
        assert first.total == first.new == {"clips": 1, "appearances": 1, "claims": 1, "assessments": 0,
                                            "verdicts": 1}
        after_first = snapshot(other)
        second = ingest.import_bundle(other, exported)
        assert second.new == {"clips": 0, "appearances": 0, "claims": 0, "assessments": 0, "verdicts": 0}
        assert snapshot(other) == after_first
        assert other.records() == exported
        assert other.fingerprint(1) is None and other.metadata(1) is None

        added = ingest.add(other, path)  # the file arrives: now it is fingerprinted
        assert not added.created and added.fingerprint is not None
        assert other.fingerprint(1) is not None and other.metadata(1) is not None
        assert json.loads(json.dumps(other.records().to_dict())) == exported.to_dict()
