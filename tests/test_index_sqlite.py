"""The SQLite index file: where it is, and what happens when it is missing, foreign or too new."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidprov import samples
from vidprov.cli import main
from vidprov.errors import CorruptIndexError, IndexNotFoundError, SchemaVersionError
from vidprov.index import DEFAULT_LOCATION, open_index, resolve_location
from vidprov.index.base import SCHEMA_VERSION


def test_location_comes_from_argument_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDPROV_INDEX", raising=False)
    assert resolve_location(None) == DEFAULT_LOCATION == "vidprov.db"
    monkeypatch.setenv("VIDPROV_INDEX", "/data/desk.db")
    assert resolve_location(None) == "/data/desk.db"
    assert resolve_location("other.db") == "other.db"


def test_missing_index_is_not_created_by_readers(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(IndexNotFoundError, match="no index here yet"):
        open_index(path)
    assert not path.exists()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"\x00" * 4096])
def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(content)
    with pytest.raises(CorruptIndexError, match="left untouched"):
        open_index(path, create=True)
    assert path.read_bytes() == content


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(CorruptIndexError, match="not a vidprov index"):
        open_index(path, create=True)
    assert path.read_bytes() == before


def test_newer_schema_is_refused_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_index(path, create=True).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 1}"):
        open_index(path)


def test_cli_errors_are_one_line(tmp_path: Path, footage: tuple[Path, object]) -> None:
    broken = tmp_path / "broken.db"
    broken.write_text("not an index")
    result = CliRunner().invoke(main, ["match", str(footage[0]), "--index", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"vidprov: error: {broken}: is not a vidprov index (not an SQLite file); " \
                                    "it was left untouched"
    result = CliRunner().invoke(main, ["index", "info", "--index", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no index here yet" in result.stderr


def test_migrate_reports_the_version(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = CliRunner().invoke(main, ["index", "migrate", "--index", str(path)])
    assert result.exit_code == 0
    assert f"schema version {SCHEMA_VERSION} is current" in result.stdout
    info = CliRunner().invoke(main, ["index", "info", "--json", "--index", str(path)])
    assert '"clips":0' in info.stdout and '"backend":"sqlite"' in info.stdout


def _version_2_index(path: Path, fingerprints: list) -> None:
    """An index as versions 1-2 wrote it: fingerprints in five columns, one BLOB of 14-byte postings per list."""
    import json

    import numpy as np

    from vidprov.index import keys
    from vidprov.index.sqlite import MIGRATIONS

    with sqlite3.connect(path) as db:
        for version in (1, 2):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
            ("algorithm", "pdq"), ("created_at", "2024-01-01T00:00:00+00:00"), ("runs", "1"),
            ("schema_version", "2")])
        postings = []
        for clip_id, fp in enumerate(fingerprints, start=1):
            db.execute("INSERT INTO clips (id, sha256, record, added_at) VALUES (?, ?, ?, ?)",
                       (clip_id, fp.sha256, json.dumps({"type": "clip", "schema_version": 1, "sha256": fp.sha256}),
                        "2024-01-01T00:00:00+00:00"))
            header = fp.to_dict()
            del header["frames"]
            db.execute("INSERT INTO fingerprints VALUES (?, ?, ?, ?, ?, ?)", (
                clip_id, json.dumps(header), fp.times().astype("<f8").tobytes(), fp.hashes().tobytes(),
                np.array([f.quality for f in fp.frames], dtype=np.uint8).tobytes(),
                np.array([f.index for f in fp.frames], dtype="<i4").tobytes()))
            postings.append(keys.clip_postings(clip_id, fp.hashes(), "pdq"))
        entries = np.concatenate(postings)
        for run, part in ((1, entries[::2]), (2, entries[1::2])):  # two runs, as unmerged adds leave them
            for chunk, value in sorted({(int(c), int(v)) for c, v in zip(part["chunk"], part["value"])}):
                chosen = part[(part["chunk"] == chunk) & (part["value"] == value)]
                db.execute("INSERT INTO postings VALUES (?, ?, ?, ?)",
                           (chunk, value, run, chosen[["clip", "frame", "key"]].astype(keys.POSTING).tobytes()))


def test_a_version_2_index_migrates_to_the_packed_layout(tmp_path: Path,
                                                         footage: tuple[Path, object], other_footage: Path) -> None:
    from vidprov import match
    from vidprov.fingerprint import fingerprint

    made = [fingerprint(footage[0]), fingerprint(other_footage)]  # type: ignore[index]
    path = tmp_path / "old.db"
    _version_2_index(path, made)
    with open_index(path) as old:
        with pytest.raises(SchemaVersionError, match="run vidprov index migrate"):
            old.fingerprints([1])
    result = CliRunner().invoke(main, ["index", "migrate", "--index", str(path)])
    assert result.exit_code == 0, result.output
    with open_index(path) as index:
        assert index.schema_version() == SCHEMA_VERSION
        stored = index.fingerprints([1, 2])
        assert [stored[1], stored[2]] == made
        import numpy as np

        from vidprov.index import keys

        entries = np.concatenate([keys.clip_postings(n, fp.hashes(), "pdq") for n, fp in enumerate(made, start=1)])
        wanted = sorted({(int(c), int(v)) for c, v in zip(entries["chunk"], entries["value"])})
        lists = index.postings(wanted)
        assert sorted(lists) == wanted
        for chunk, value in wanted:
            expected = entries[(entries["chunk"] == chunk) & (entries["value"] == value)][["clip", "frame", "key"]]
            assert sorted(lists[(chunk, value)].tolist()) == sorted(expected.astype(keys.POSTING).tolist())
        found = match.search(index, made[0])
        assert [m.clip_id for m in found] == [1] and found[0].score > 0.9
        tables = {row[0] for row in index._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"frames", "lists"} <= tables and not {"fingerprints", "postings"} & tables


def test_inner_pictures_raise_the_schema_version_so_older_readers_refuse(
        tmp_path: Path, footage: tuple[Path, samples.ClipSpec], other_footage: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.fingerprint import fingerprint
    from vidprov.index import sqlite as backend
    from vidprov.index.base import INNER_PICTURES
    from vidprov.records import Clip

    location = tmp_path / "index.db"
    with open_index(location, create=True) as index:
        with index.transaction():
            index._db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")  # as made before
        plain = fingerprint(other_footage)
        index.add_clip(Clip(sha256=plain.sha256, size=plain.size, media_type="video/mp4"), plain)
        assert index.schema_version() == 3  # nothing a version-3 reader cannot read
        inner = fingerprint(footage[0], inner=True)
        index.add_clip(Clip(sha256=inner.sha256, size=inner.size, media_type="video/mp4"), inner)
        assert index.schema_version() == INNER_PICTURES
    monkeypatch.setattr(backend, "SCHEMA_VERSION", 3)  # a vidprov from before inner pictures
    with pytest.raises(SchemaVersionError, match=f"version {INNER_PICTURES} is newer"):
        open_index(location)


@pytest.mark.parametrize("damage", [b"\x00\x11\x22\x33", "truncated"])
def test_damaged_packed_frames_are_one_line_errors(tmp_path: Path, footage: tuple[Path, object],
                                                   damage: bytes | str) -> None:
    from vidprov import ingest, match

    path = footage[0]
    location = tmp_path / "index.db"
    with open_index(location, create=True) as index:
        clip_id = ingest.add(index, path).clip.id
    with sqlite3.connect(location) as db:
        (packed,) = db.execute("SELECT packed FROM frames WHERE clip_id = ?", (clip_id,)).fetchone()
        bad = packed[:len(packed) // 2] if damage == "truncated" else damage
        db.execute("UPDATE frames SET packed = ? WHERE clip_id = ?", (bad, clip_id))
    with open_index(location) as index:
        with pytest.raises(CorruptIndexError, match="packed frames are damaged"):
            index.fingerprint(clip_id)
        with pytest.raises(CorruptIndexError, match="packed frames are damaged"):
            index.frame_arrays([clip_id])
        with pytest.raises(CorruptIndexError):
            match.search(index, match.fingerprint_query(path))
    result = CliRunner().invoke(main, ["match", str(path), "--index", str(location)])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"vidprov: error: {location}: a fingerprint's packed frames are damaged")


def test_large_reads_split_over_a_second_connection_give_the_same_rows(
        tmp_path: Path, footage: tuple[Path, object], other_footage: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search's large reads (posting lists, candidates' frames) are split between the index's connection and
    a second one on a thread of its own; the rows are the same as one connection reads, and a read inside a
    transaction, which only the index's own connection sees, is never split."""
    import threading
    from dataclasses import replace

    import numpy as np

    from vidprov import ingest
    from vidprov.index import sqlite as backend
    from vidprov.records import Clip

    def reader_threads() -> int:
        return sum(t.name.startswith("vidprov-sqlite-reader") for t in threading.enumerate())

    location = tmp_path / "index.db"
    before = reader_threads()
    with open_index(location, create=True) as index:
        ids = [ingest.add(index, path).clip.id for path in (footage[0], other_footage)]
        index.optimize()  # the postings written out as lists
        with sqlite3.connect(location) as db:
            stored = [row[0] for row in db.execute("SELECT DISTINCT list FROM lists")]
        wanted = sorted(stored + [max(stored) + 1, max(stored) + 7])  # two lists that hold nothing
        assert len(wanted) >= 2 * backend.SPLIT_ROWS

        def read() -> tuple[list[np.ndarray], dict[int, list[np.ndarray]]]:
            lists = index.posting_lists(wanted)
            frames = index.frame_arrays(ids)
            return ([lists.lists, lists.bounds, lists.rests, lists.clips, lists.frames],
                    {c: [a.frame_times, a.frame_hashes, a.frame_qualities] for c, a in frames.items()})

        monkeypatch.setattr(backend, "SPLIT_ROWS", 10**9)
        alone = read()
        assert index._reader is None  # pylint: disable=protected-access
        monkeypatch.setattr(backend, "SPLIT_ROWS", 1)
        split = read()
        assert index._reader is not None and reader_threads() == before + 1  # pylint: disable=protected-access
        assert all(np.array_equal(a, b) for a, b in zip(alone[0], split[0]))
        assert alone[1].keys() == split[1].keys() == set(ids)
        assert all(np.array_equal(a, b) for c in ids for a, b in zip(alone[1][c], split[1][c]))
        # Inside a transaction, only the index's own connection sees a clip just added: nothing is split.
        copy = replace(index.fingerprint(ids[0]), sha256="f" * 64)
        with index.transaction():
            added = index.add_clip(Clip(sha256=copy.sha256, size=1, media_type="video/mp4"), copy).id
            assert set(index.frame_arrays([*ids, added])) == {*ids, added}
            assert index._second_reader() is None  # pylint: disable=protected-access
    assert reader_threads() == before  # closing the index ends its reader thread
