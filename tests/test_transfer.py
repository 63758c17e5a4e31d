"""Moving an index between SQLite and PostgreSQL, and sharing hashes between desks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_postgres_backend import (
    POSTGRES,
    clip_of,
    fresh_url,
    noisy,
    sha_of,
    synthetic_fingerprint,
    synthetic_hashes,
)

from vidprov import match
from vidprov.cli import main
from vidprov.errors import (
    FileAccessError,
    FormatError,
    ValidationError,
)
from vidprov.fingerprint import Fingerprint
from vidprov.index import open_index
from vidprov.index.base import Index
from vidprov.index.transfer import VPDQ_MEDIA_TYPE, copy_index, import_hashes
from vidprov.records import (
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Platform,
    Verdict,
    VerdictStatus,
    parse_date_claim,
    parse_timestamp,
)
from vidprov.records.places import PlaceClaim

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


def location(backend: str, tmp_path: Path, name: str) -> str:
    return fresh_url() if backend == "postgresql" else str(tmp_path / f"{name}.db")


def fill(index: Index, seed: int = 1, count: int = 30) -> dict[int, np.ndarray]:
    """Clips (bulk and one by one, some with metadata, one without a fingerprint) and every kind of record."""
    rng = np.random.default_rng(seed)
    hashes = {n: synthetic_hashes(rng) for n in range(1, count + 1)}
    fps = {n: synthetic_fingerprint(sha_of(seed * 1000 + n), h) for n, h in hashes.items()}
    half = count // 2
    index.add_clips([(clip_of(fps[n]), fps[n], {"n": n, "text": "nul \x00 and 'quotes'"} if n % 3 else None)
                     for n in range(1, half + 1)])
    for n in range(half + 1, count):
        index.add_clip(clip_of(fps[n]), fps[n])
    index.add_clip(clip_of(fps[count]))  # a record only, not fingerprinted yet
    first, second = sha_of(seed * 1000 + 1), sha_of(seed * 1000 + 2)
    posted = parse_timestamp("2024-10-18T09:30:00+03:00")
    appearance = Appearance(id=f"a{seed}", platform=Platform("telegram"), clip_sha256=first, publisher="Channel",
                            url="https://t.me/channel/1", posted_at=posted)
    index.add_appearance(appearance)
    index.add_appearance(Appearance(id=f"b{seed}", platform=Platform("x"), publisher="no clip yet"))
    index.add_claim(Claim(id=f"c{seed}", appearance_id=appearance.id, text="filmed today'; DROP TABLE claims; --",
                          date=parse_date_claim("max-age:3d", posted_at=posted), place=PlaceClaim(name="Sergeevka")))
    index.add_claim(Claim(id=f"d{seed}", clip_sha256=second, text="x" * 10_000))
    index.add_assessment(Assessment(id=f"g{seed}", kind=AssessmentKind("geolocation"), clip_sha256s=(first, second),
                                    made_by="desk", made_at=datetime(2024, 10, 20, tzinfo=timezone.utc),
                                    result="Sergeevka"))
    for number, day in enumerate((22, 21)):
        index.add_verdict(Verdict(id=f"v{seed}{number}", clip_sha256=first, status=VerdictStatus("unverified"),
                                  reviewer="desk", decided_at=datetime(2024, 10, day, tzinfo=timezone.utc)))
    return hashes


def snapshot(index: Index) -> dict[str, object]:
    """Everything an index holds that a copy must carry, in comparable form."""
    clips = index.list_clips()
    ids = [c.id for c in clips]
    return {
        "clips": [(c.id, c.sha256, c.clip) for c in clips],
        "fingerprints": index.fingerprints(ids),
        "metadata": {i: index.metadata(i) for i in ids},
        "records": index.records(),
        "imports": index.hash_imports(),
        "origins": index.record_origins(),
        "algorithm": index.algorithm,
    }


@pytest.mark.parametrize("middle", BACKENDS)
def test_copy_round_trip_keeps_everything(middle: str, tmp_path: Path) -> None:
    source = str(tmp_path / "source.db")
    with open_index(source, create=True) as index:
        hashes = fill(index)
        bundle = tmp_path / "other.vpdq"
        bundle.write_text(synthetic_fingerprint(sha_of(99), synthetic_hashes(np.random.default_rng(9))).to_vpdq())
        import_hashes(index, bundle, desk="Other desk")
        before = snapshot(index)
    across = location(middle, tmp_path, "middle")
    back = str(tmp_path / "back.db")
    for src, dst in ((source, across), (across, back)):
        result = CliRunner().invoke(main, ["index", "copy", src, dst])
        assert result.exit_code == 0, result.output
        assert "31 clips (31 new), 30 fingerprints, 10 metadata records, 2 appearances, 2 claims, 1 assessments, " \
               "2 verdicts, 1 hash imports" in result.stdout
    for copied in (across, back):
        with open_index(copied) as index:
            assert snapshot(index) == before
            query = synthetic_fingerprint(sha_of(10**6), noisy(hashes[4], np.random.default_rng(4)))
            assert [m.reference for m in match.search(index, query)] == [sha_of(1004)]


def test_copy_refuses_a_busy_destination_the_same_place_and_another_algorithm(tmp_path: Path) -> None:
    first, second = str(tmp_path / "first.db"), str(tmp_path / "second.db")
    for path, seed in ((first, 1), (second, 2)):
        with open_index(path, create=True) as index:
            fill(index, seed, count=4)
    result = CliRunner().invoke(main, ["index", "copy", first, second])
    assert result.exit_code == 1
    assert result.stderr == f"vidprov: error: {second}: already holds 4 clips; copy into an empty index, " \
                            "or merge into this one on purpose (--merge)\n"
    result = CliRunner().invoke(main, ["index", "copy", first, str(tmp_path / "." / "first.db")])
    assert result.exit_code == 1 and "is both the source and the destination" in result.stderr
    result = CliRunner().invoke(main, ["index", "copy", "--merge", first, second])
    assert result.exit_code == 0 and "4 clips (4 new)" in result.stdout
    with open_index(second) as index:
        assert index.count_clips() == 8 and len(index.records().claims) == 4
    with open_index(str(tmp_path / "phash.db"), create=True, algorithm="phash") as other, open_index(first) as src:
        with pytest.raises(ValidationError, match="destination algorithm"):
            copy_index(src, other)


# ------------------------------------------------------------------ hash bundles


@pytest.mark.parametrize("backend", BACKENDS)
def test_hash_bundle_moves_hashes_and_claims_between_desks(backend: str, tmp_path: Path) -> None:
    sender = str(tmp_path / "sender.db")
    with open_index(sender, create=True) as index:
        hashes = fill(index, seed=3, count=6)
    bundle = tmp_path / "bundle.jsonl"
    result = CliRunner().invoke(main, ["index", "export-hashes", "--index", sender, "-o", str(bundle)])
    assert result.exit_code == 0
    assert result.stderr == f"wrote {bundle}: 6 clips, 5 fingerprints, 2 appearances, 2 claims\n"
    lines = [json.loads(line) for line in bundle.read_text().splitlines()]
    assert lines[0]["type"] == "vidprov-hashes" and lines[0]["format_version"] == 1
    assert [line["type"] for line in lines[1:]].count("fingerprint") == 5
    assert {line["type"] for line in lines[1:]} == {"clip", "fingerprint", "appearance", "claim"}

    receiver = location(backend, tmp_path, "receiver")
    with open_index(receiver, create=True) as index:
        fill(index, seed=4, count=3)
        before = snapshot(index)
    args = ["index", "import-hashes", str(bundle), "--desk", "Kyiv desk", "--index", receiver]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported {bundle} from desk Kyiv desk (bundle): 6 clips (6 new), 5 fingerprints, " \
                            "2 appearances (2 new), 2 claims (2 new)\n"
    with open_index(receiver) as index:
        after = snapshot(index)
        assert index.count_clips() == 3 + 6
        records = index.records([sha_of(3001), sha_of(3002)])
        assert {a.id for a in records.appearances} == {"a3"} and {c.id for c in records.claims} == {"c3", "d3"}
        assert records.assessments == () and records.verdicts == ()  # the sender's conclusions stay home
        [entry] = index.hash_imports()
        assert (entry.desk, entry.format, entry.bundle_sha256) == \
            ("Kyiv desk", "bundle", hashlib.sha256(bundle.read_bytes()).hexdigest())
        origins = index.record_origins()
        assert sorted(origins) == sorted([("clip", sha_of(3000 + n)) for n in range(1, 7)]
                                         + [("appearance", "a3"), ("appearance", "b3"), ("claim", "c3"),
                                            ("claim", "d3")])
        assert set(origins.values()) == {entry.bundle_sha256}
        query = synthetic_fingerprint(sha_of(10**6), noisy(hashes[2], np.random.default_rng(2)))
        assert [m.reference for m in match.search(index, query)] == [sha_of(3002)]

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert again.stdout.startswith(f"{bundle}: already imported from desk Kyiv desk on ")
    assert again.stdout.endswith("; nothing changed\n")
    with open_index(receiver) as index:
        assert snapshot(index) == after != before
        listed = CliRunner().invoke(main, ["index", "imports", "--index", receiver, "--json"])
        assert [json.loads(line)["desk"] for line in listed.stdout.splitlines()] == ["Kyiv desk"]


def test_bundle_back_into_its_own_index_brings_nothing_new(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.db")
    bundle = tmp_path / "mine.jsonl"
    with open_index(path, create=True) as index:
        fill(index, seed=5, count=4)
        before = snapshot(index)
        with bundle.open("w") as out:
            from vidprov.index.transfer import export_hashes

            export_hashes(index, out)
        outcome = import_hashes(index, bundle, desk="Ourselves")
        assert outcome.imported and outcome.new == {"clips": 0, "appearances": 0, "claims": 0}
        assert index.record_origins() == {}
        after = snapshot(index)
        assert {k: v for k, v in after.items() if k != "imports"} == {k: v for k, v in before.items()
                                                                       if k != "imports"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_vpdq_file_from_another_tool_is_filed_under_its_own_sha256(backend: str, tmp_path: Path) -> None:
    hashes = synthetic_hashes(np.random.default_rng(12))
    text = synthetic_fingerprint(sha_of(77), hashes).to_vpdq()
    vpdq = tmp_path / "from-other-tool.txt"
    vpdq.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    where = location(backend, tmp_path, "vpdq")
    result = CliRunner().invoke(main, ["index", "import-hashes", str(vpdq), "--desk", "Partner", "--index", where,
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["imported"], data["format"], data["bundle_sha256"], data["new"]) == (True, "vpdq", digest,
                                                                                      {"clips": 1})
    with open_index(where) as index:
        stored = index.clip_by_sha256(digest)
        assert stored is not None and stored.clip.media_type == VPDQ_MEDIA_TYPE
        fp = index.fingerprint(stored.id)
        assert fp is not None and fp.hashes().tobytes() == hashes.tobytes()
        assert fp.parameters == {"input": "vpdq"}
        assert index.record_origins() == {("clip", digest): digest}
        query = synthetic_fingerprint(sha_of(10**6), noisy(hashes, np.random.default_rng(1)))
        assert [m.reference for m in match.search(index, query)] == [digest]
        outcome = import_hashes(index, vpdq, desk="Someone else")
        assert not outcome.imported and outcome.entry.desk == "Partner"
        assert index.count_clips() == 1 and len(index.hash_imports()) == 1


def test_bad_hash_files_are_refused_whole(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    with open_index(path, create=True) as index:
        fill(index, seed=6, count=2)
        before = snapshot(index)
        bundle = tmp_path / "good.jsonl"
        with bundle.open("w") as out:
            from vidprov.index.transfer import export_hashes

            export_hashes(index, out)
    good = bundle.read_text().splitlines()
    cases = {
        "broken.jsonl": (good[:2] + ["{not json"], FormatError, "line 3: not valid JSON"),
        "newer.jsonl": ([json.dumps({**json.loads(good[0]), "format_version": 9})] + good[1:], FormatError,
                        "bundle format 9 was written by a newer vidprov"),
        "phash.jsonl": ([json.dumps({**json.loads(good[0]), "algorithm": "phash"})] + good[1:], ValidationError,
                        "bundle algorithm: 'phash' is not allowed; expected pdq"),
        "headless.jsonl": (good[1:], FormatError, "line 1: expected the header of a vidprov hash bundle"),
        "stranger.jsonl": (good[:2] + ['{"type": "verdict"}'], FormatError, "line 3: unknown line type 'verdict'"),
        "badclaim.jsonl": (good + [json.dumps({**json.loads(good[-1]), "id": "x y"})], ValidationError,
                           "claim.id"),
        "vpdq.txt": (["0,100,zz,0.0"], FormatError, "vPDQ line 1"),
        "empty.txt": ([""], FormatError, "is empty"),
    }
    for name, (lines, error, message) in cases.items():
        target = tmp_path / name
        target.write_text("\n".join(lines) + "\n")
        with open_index(path) as index:
            with pytest.raises(error, match=message) as caught:
                import_hashes(index, target, desk="desk")
            assert str(caught.value).startswith(str(target)), name
            assert snapshot(index) == before, name
    with open_index(path) as index:
        with pytest.raises(FileAccessError, match="cannot read"):
            import_hashes(index, tmp_path / "missing.jsonl", desk="desk")
        with pytest.raises(ValidationError, match="import.desk"):
            import_hashes(index, bundle, desk="  ")
        assert snapshot(index) == before
    result = CliRunner().invoke(main, ["index", "import-hashes", str(tmp_path / "broken.jsonl"), "--desk", "d",
                                       "--index", path])
    assert result.exit_code == 1
    assert result.stderr == f"vidprov: error: {tmp_path / 'broken.jsonl'}: line 3: not valid JSON " \
                            "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))\n"


def test_fingerprint_of_vpdq_is_what_other_tools_wrote(tmp_path: Path) -> None:
    """The vPDQ text a stand-in clip is made from is what that clip exports again."""
    text = "0,100,{},0.000\n15,80,{},0.500\n".format("ab" * 32, "cd" * 32)
    path = tmp_path / "two.vpdq"
    path.write_text(text)
    with open_index(str(tmp_path / "index.db"), create=True) as index:
        import_hashes(index, path, desk="desk")
        fp: Fingerprint | None = index.fingerprint(1)
        assert fp is not None and fp.to_vpdq() == text
