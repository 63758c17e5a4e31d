"""The PostgreSQL backend beyond the shared contract: connecting, failing, migrating, planning, agreeing with SQLite.

Runs when ``$VIDPROV_TEST_POSTGRES`` names a server (``.ci/run`` starts one);
under CI (``$CI`` set) a missing or unreachable server is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from click.testing import CliRunner

from vidprov import match
from vidprov.cli import main
from vidprov.errors import (
    CorruptIndexError,
    IndexNotFoundError,
    IndexStoreError,
    SchemaVersionError,
    ValidationError,
)
from vidprov.fingerprint import Fingerprint, FrameRecord
from vidprov.hashing import FrameHash
from vidprov.index import keys as K
from vidprov.index import open_index
from vidprov.index.base import SCHEMA_VERSION, Index
from vidprov.records import (
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Clip,
    Platform,
    Verdict,
    VerdictStatus,
    parse_timestamp,
)

POSTGRES = os.environ.get("VIDPROV_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="$VIDPROV_TEST_POSTGRES names no server")

FRAMES = 24
BITS = 256


# ------------------------------------------------------------------ helpers


def fresh_url() -> str:
    """A new, empty database on the test server (one per test keeps tests apart)."""
    import psycopg

    assert POSTGRES
    name = f"vidprov_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}"


def admin_execute(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def synthetic_hashes(rng: np.random.Generator, frames: int = FRAMES) -> np.ndarray:
    """Packed 256-bit hashes that drift a few bits a frame, as footage does, with a cut or two."""
    flips = np.zeros((frames, BITS), dtype=bool)
    rows = np.repeat(np.arange(frames), 6)
    flips[rows, rng.integers(0, BITS, size=len(rows))] = True
    bits = np.logical_xor.accumulate(flips, axis=0) ^ (rng.random(BITS) < 0.5)
    for cut in rng.choice(np.arange(3, frames - 3), size=int(rng.integers(0, 3)), replace=False):
        bits[cut:] ^= rng.random(BITS) < 0.5
    return np.packbits(bits, axis=1)


def noisy(hashes: np.ndarray, rng: np.random.Generator, flips: int = 16) -> np.ndarray:
    bits = np.unpackbits(hashes, axis=1).astype(bool)
    positions = np.argsort(rng.random(bits.shape), axis=1)[:, :flips]
    np.put_along_axis(bits, positions, ~np.take_along_axis(bits, positions, axis=1), axis=1)
    return np.packbits(bits, axis=1)


def synthetic_fingerprint(sha256: str, hashes: np.ndarray) -> Fingerprint:
    frames = tuple(FrameRecord(i * 0.5, FrameHash(hashes[i].tobytes(), BITS), 100, i * 15)
                   for i in range(len(hashes)))
    return Fingerprint(sha256=sha256, algorithm="pdq", params=(("input", "gray64"),), duration=len(hashes) * 0.5,
                       fps=30.0, width=640, height=360, codec="h264", crop=None, frames=frames, size=1000)


def sha_of(number: int) -> str:
    return f"{number:064x}"


def clip_of(fp: Fingerprint) -> Clip:
    return Clip(sha256=fp.sha256, size=max(1, fp.size), media_type="video/mp4", duration_s=fp.duration)


@pytest.fixture
def pg_url() -> str:
    if not POSTGRES:
        pytest.skip("$VIDPROV_TEST_POSTGRES names no server")
    return fresh_url()


@pytest.fixture
def pg(pg_url: str) -> Iterator[Index]:
    with open_index(pg_url, create=True) as index:
        yield index


# ------------------------------------------------------------------ CI


def test_ci_runs_against_a_server() -> None:
    """Under CI the PostgreSQL half of the suite must run: a missing server fails here instead of skipping."""
    if not os.environ.get("CI"):
        pytest.skip("not CI; export VIDPROV_TEST_POSTGRES=postgresql://... to test PostgreSQL")
    assert POSTGRES, "CI is set but VIDPROV_TEST_POSTGRES is not: .ci/run should have started a server"
    assert admin_execute(POSTGRES, "SELECT 1") == [(1,)]


# ------------------------------------------------------------------ connecting


@pytest.fixture
def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_one_line_naming_host_port_and_database(closed_port: int) -> None:
    url = f"postgresql://desk:s3cret-pw@127.0.0.1:{closed_port}/newsroom"
    with pytest.raises(IndexStoreError) as caught:
        open_index(url)
    message = str(caught.value)
    assert message == (f"cannot connect to PostgreSQL at host 127.0.0.1, port {closed_port}, database newsroom: "
                       "connection refused (is the server running and listening there?)")
    result = CliRunner().invoke(main, ["index", "info", "--index", url])
    assert result.exit_code == 1
    assert result.stderr == f"vidprov: error: {message}\n"
    assert "s3cret" not in result.output + result.stderr


@needs_postgres
def test_unknown_user_and_database_are_named_without_the_password() -> None:
    assert POSTGRES
    base = POSTGRES.rsplit("/", 1)[0]
    server = base.split("@", 1)[1]
    host, port = server.rsplit(":", 1)
    with pytest.raises(IndexStoreError) as caught:
        open_index(f"postgresql://nobody_here:hunter2@{server}/vidprov_test")
    assert str(caught.value) == (f"cannot connect to PostgreSQL at host {host}, port {port}, database vidprov_test: "
                                 "the server has no user nobody_here")
    with pytest.raises(IndexStoreError) as caught:
        open_index(f"{base}/no_such_db?password=hunter2")
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).endswith(f"port {port}, database no_such_db: database no_such_db does not exist "
                                      "(create it first: createdb)")


@needs_postgres
def test_wrong_password_is_named_as_such_and_never_shown() -> None:
    """Needs the server to ask this one user for a password (.ci/run sets that up)."""
    import psycopg

    assert POSTGRES
    user = "vidprov_password_check"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone():
            admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'right-one'")
    server = POSTGRES.rsplit("/", 1)[0].split("@", 1)[1]
    host, port = server.rsplit(":", 1)
    wrong = f"postgresql://{user}:wrong-one@{server}/vidprov_test"
    try:
        open_index(wrong).close()
    except IndexNotFoundError:
        pytest.skip("the server lets this user in without a password")
    except IndexStoreError as error:
        assert str(error) == (f"cannot connect to PostgreSQL at host {host}, port {port}, database vidprov_test: "
                              f"the server refused user {user} or its password")
        result = CliRunner().invoke(main, ["index", "info", "--index", wrong])
        assert result.exit_code == 1 and result.stderr == f"vidprov: error: {error}\n"
        assert "wrong-one" not in result.output + result.stderr
    else:
        pytest.skip("the server lets this user in without a password")
    psycopg.connect(f"postgresql://{user}:right-one@{server}/vidprov_test").close()  # the right one gets in


def test_location_never_shows_the_password() -> None:
    from vidprov.index.postgres import safe_location

    assert safe_location("postgresql://desk:pa:ss@db.example:5433/vp") == "postgresql://desk@db.example:5433/vp"
    assert safe_location("postgresql://db.example/vp?password=x&sslmode=require") == \
        "postgresql://db.example/vp?sslmode=require"
    assert safe_location("postgres://u@h/d") == "postgres://u@h/d"


@needs_postgres
def test_opened_index_location_has_no_password(pg_url: str) -> None:
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:topsecret@")
    with open_index(with_password, create=True) as index:
        assert index.location == pg_url
        assert "topsecret" not in json.dumps(index.__dict__, default=str).replace(with_password, "")
    for command in (["index", "info"], ["index", "imports"], ["index", "export-hashes"]):
        result = CliRunner().invoke(main, [*command, "--index", with_password])
        assert result.exit_code == 0 and "topsecret" not in result.output, command


# ------------------------------------------------------------------ what is in the database


@needs_postgres
def test_readers_do_not_create_and_foreign_databases_are_left_alone(pg_url: str) -> None:
    with pytest.raises(IndexNotFoundError, match="no index in this database yet"):
        open_index(pg_url)
    admin_execute(pg_url, "CREATE TABLE photos (id integer)")
    with pytest.raises(CorruptIndexError, match="not a vidprov index; it was left untouched"):
        open_index(pg_url, create=True)
    assert [row[0] for row in admin_execute(
        pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")] == ["photos"]


@needs_postgres
def test_newer_schema_is_refused(pg_url: str) -> None:
    open_index(pg_url, create=True).close()
    admin_execute(pg_url, "UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 1} is newer"):
        open_index(pg_url)


@needs_postgres
def test_inner_pictures_raise_the_schema_version(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 footage: tuple[Path, Any], other_footage: Path) -> None:
    from vidprov.fingerprint import fingerprint
    from vidprov.index import postgres as backend
    from vidprov.index.base import INNER_PICTURES

    open_index(pg_url, create=True).close()
    admin_execute(pg_url, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")  # as made before
    with open_index(pg_url) as index:
        plain = fingerprint(other_footage)
        index.add_clip(Clip(sha256=plain.sha256, size=plain.size, media_type="video/mp4"), plain)
        assert index.schema_version() == 3  # nothing a version-3 reader cannot read
        inner = fingerprint(footage[0], inner=True)
        index.add_clips([(Clip(sha256=inner.sha256, size=inner.size, media_type="video/mp4"), inner, None)])
        assert index.schema_version() == INNER_PICTURES
        assert index.fingerprint(index.clip_by_sha256(inner.sha256).id) == inner
    monkeypatch.setattr(backend, "SCHEMA_VERSION", 3)  # a vidprov from before inner pictures
    with pytest.raises(SchemaVersionError, match=f"version {INNER_PICTURES} is newer"):
        open_index(pg_url)


@needs_postgres
def test_strips_raise_the_schema_version(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov import ingest, samples
    from vidprov.index import postgres as backend
    from vidprov.index.base import INNER_PICTURES, STRIPS

    path = tmp_path / "landscape.mp4"
    samples.write_clip(path, samples.ClipSpec(samples.scenes(2, 2.0, seed=3), width=320, height=180))
    striped = ingest.index_fingerprint(path, "pdq")
    assert striped.strips and striped.strip_hashes() is not None
    open_index(pg_url, create=True).close()
    admin_execute(pg_url, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")  # as made before
    with open_index(pg_url) as index:
        index.add_clips([(Clip(sha256=striped.sha256, size=striped.size, media_type="video/mp4"), striped, None)])
        assert index.schema_version() == STRIPS  # 4, then 5, in the one transaction
        stored_id = index.clip_by_sha256(striped.sha256).id
        assert index.fingerprint(stored_id) == striped
        first, second = index.frame_arrays([stored_id])[stored_id].strip_arrays()
        assert np.array_equal(second.hashes(), striped.strip_hashes()[:, 1])
    monkeypatch.setattr(backend, "SCHEMA_VERSION", INNER_PICTURES)  # a vidprov from before strips
    with pytest.raises(SchemaVersionError, match=f"version {STRIPS} is newer"):
        open_index(pg_url)


@needs_postgres
def test_damaged_packed_frames_are_refused(pg_url: str, tmp_path: Path) -> None:
    from vidprov import ingest, samples

    path = tmp_path / "clip.mp4"
    samples.write_clip(path, samples.ClipSpec(samples.scenes(2, 2.0, seed=5), width=320, height=180))
    with open_index(pg_url, create=True) as index:
        clip_id = ingest.add(index, path).clip.id
    admin_execute(pg_url, "UPDATE fingerprints SET frames = %s WHERE clip_id = %s", (b"\x00\x11\x22", clip_id))
    with open_index(pg_url) as index:
        with pytest.raises(CorruptIndexError, match="packed frames are damaged"):
            index.fingerprint(clip_id)
        with pytest.raises(CorruptIndexError, match="packed frames are damaged"):
            index.frame_arrays([clip_id])


def _make_version_1(url: str) -> None:
    """Turn a new index back into one made before schema version 2."""
    open_index(url, create=True).close()
    admin_execute(url, "DROP TABLE record_origins, hash_imports")
    admin_execute(url, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")


@needs_postgres
def test_migrate_while_other_clients_are_connected(pg_url: str) -> None:
    _make_version_1(pg_url)
    import psycopg

    with open_index(pg_url) as reader, psycopg.connect(pg_url) as busy:
        busy.execute("SELECT count(*) FROM clips")  # an open transaction reading the index
        assert reader.schema_version() == 1 and reader.hash_imports() == []
        from vidprov.index.base import HashImport

        entry = HashImport(sha_of(7), "desk", "bundle", datetime.now(timezone.utc), {})
        with pytest.raises(SchemaVersionError, match="run vidprov index migrate"):
            reader.log_import(entry, [])
        results: list[list[int]] = []

        def migrate() -> None:
            with open_index(pg_url) as index:
                results.append(index.migrate())

        threads = [threading.Thread(target=migrate) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(results) == [[], [], list(range(2, SCHEMA_VERSION + 1))]  # one applied them, the others found them done
        assert reader.schema_version() == SCHEMA_VERSION
        assert reader.log_import(entry, [("clip", sha_of(1))]) is True
    result = CliRunner().invoke(main, ["index", "migrate", "--index", pg_url])
    assert result.exit_code == 0 and result.stdout.endswith(f"schema version {SCHEMA_VERSION} is current\n")


# ------------------------------------------------------------------ bad input


MALICIOUS = ["quote ' double \" backslash \\ semicolon ;", "'; DROP TABLE clips; --", "\"); DELETE FROM claims; --",
             "%s %(x)s {0} $1 ? :name", "emoji 🎥 RTL \u202e text", "x" * (1 << 20)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hostile_text_is_stored_verbatim_or_refused(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql" and not POSTGRES:
        pytest.skip("$VIDPROV_TEST_POSTGRES names no server")
    location = fresh_url() if backend == "postgresql" else str(tmp_path / "index.db")
    fp = synthetic_fingerprint(sha_of(1), synthetic_hashes(np.random.default_rng(1)))
    metadata = {"title": "nul \x00 inside", "big": "y" * (1 << 20), "'; DROP TABLE metadata; --": MALICIOUS}
    with open_index(location, create=True) as index:
        index.add_clip(clip_of(fp), fp, metadata)
        for number, text in enumerate(MALICIOUS):
            appearance = Appearance(id=f"a{number}", platform=Platform("x"), clip_sha256=fp.sha256, publisher=text,
                                    title=text, description=text)
            index.add_appearance(appearance)
            index.add_claim(Claim(id=f"c{number}", appearance_id=appearance.id, text=text, claimant=text))
        with pytest.raises(ValidationError, match="NUL"):
            Claim(clip_sha256=fp.sha256, text="before \x00 after")
        with pytest.raises(ValidationError, match="NUL"):
            Appearance(platform=Platform("x"), publisher="nul\x00publisher")
    with open_index(location) as index:
        bundle = index.records([fp.sha256])
        assert [a.publisher for a in bundle.appearances] == MALICIOUS
        assert [c.text for c in bundle.claims] == MALICIOUS
        assert index.metadata(1) == metadata
        assert index.count_clips() == 1
        assert [c.sha256 for c in index.list_clips()] == [fp.sha256]


# ------------------------------------------------------------------ losing the connection


@needs_postgres
def test_connection_dropped_mid_write_rolls_back_and_a_rerun_completes(pg_url: str) -> None:
    rng = np.random.default_rng(3)
    fps = [synthetic_fingerprint(sha_of(n), synthetic_hashes(rng)) for n in (1, 2)]
    with open_index(pg_url, create=True) as index:
        def add_all() -> None:
            with index.transaction():
                index.add_clip(clip_of(fps[0]), fps[0])
                index.add_appearance(Appearance(id="seen", platform=Platform("x"), clip_sha256=fps[0].sha256))
                # Another connection ends this one mid-transaction, as a server restart or a network cut would.
                if not killed:
                    killed.append(admin_execute(pg_url, "SELECT pg_terminate_backend(%s)", (index.backend_pid,)))
                index.add_clip(clip_of(fps[1]), fps[1])

        killed: list[Any] = []
        with pytest.raises(IndexStoreError, match="lost the connection.*rolled back: run the command again"):
            add_all()
        assert killed == [[(True,)]]
        assert index.count_clips() == 0  # the index reconnects; nothing of the transaction was kept
        assert index.records().appearances == ()
        add_all()  # the rerun completes
        assert [c.sha256 for c in index.list_clips()] == [fp.sha256 for fp in fps]
        assert [m.reference for m in match.search(index, fps[1])] == [fps[1].sha256]


@needs_postgres
def test_connection_dropped_during_a_bulk_load_leaves_nothing(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.index import postgres

    rng = np.random.default_rng(4)
    fps = [synthetic_fingerprint(sha_of(n), synthetic_hashes(rng)) for n in range(1, 201)]
    encode = postgres.encode_lists
    with open_index(pg_url, create=True) as index:
        def cut_then_encode(entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # Clips and fingerprints are written by now; the posting lists are next.
            admin_execute(pg_url, "SELECT pg_terminate_backend(%s)", (index.backend_pid,))
            return encode(entries)

        monkeypatch.setattr(postgres, "encode_lists", cut_then_encode)
        with pytest.raises(IndexStoreError, match="lost the connection"):
            index.add_clips([(clip_of(fp), fp, None) for fp in fps])
        monkeypatch.setattr(postgres, "encode_lists", encode)
        assert index.count_clips() == 0 and index.fingerprints(list(range(1, 400))) == {}
        stored = index.add_clips([(clip_of(fp), fp, None) for fp in fps])
        assert all(s.created for s in stored) and index.count_clips() == len(fps)
        assert [m.reference for m in match.search(index, fps[-1])] == [fps[-1].sha256]


# ------------------------------------------------------------------ posting lists


def _load(index: Index, count: int, seed: int, first: int = 1) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    kept = {}
    items = []
    for number in range(first, first + count):
        hashes = synthetic_hashes(rng)
        kept[number] = hashes
        fp = synthetic_fingerprint(sha_of(number), hashes)
        items.append((clip_of(fp), fp, None))
    index.add_clips(items)
    return kept


def _all_postings(index: Index) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    wanted = [(chunk, value) for chunk in range(K.CHUNKS) for value in range(1 << K.CHUNK_BITS)]
    return {key: sorted(zip(v["clip"].tolist(), v["frame"].tolist(), v["key"].tolist()))
            for key, v in index.postings(wanted).items()}


@needs_postgres
def test_runs_merge_in_tiers_and_pending_postings_are_written_out(pg: Index, pg_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.index import postgres

    monkeypatch.setattr(postgres, "FANOUT", 3)
    monkeypatch.setattr(postgres, "PENDING_LIMIT", 5 * FRAMES * K.CHUNKS)
    for batch in range(7):
        _load(pg, 4, seed=batch, first=1 + 4 * batch)
    rng = np.random.default_rng(99)
    for number in range(100, 112):  # one at a time: through the pending table
        fp = synthetic_fingerprint(sha_of(number), synthetic_hashes(rng))
        pg.add_clip(clip_of(fp), fp)
    tiers = admin_execute(pg_url, "SELECT tier, count(*) FROM posting_runs GROUP BY tier ORDER BY tier")
    assert all(count < 3 for _, count in tiers) and max(tier for tier, _ in tiers) >= 1
    pending = admin_execute(pg_url, "SELECT count(*) FROM pending")[0][0]
    assert pending <= 5 * FRAMES * K.CHUNKS
    before = _all_postings(pg)
    assert sum(len(v) for v in before.values()) == (28 + 12) * FRAMES * K.CHUNKS
    pg.optimize()  # type: ignore[attr-defined]
    assert admin_execute(pg_url, "SELECT count(*) FROM posting_runs")[0][0] == 1
    assert admin_execute(pg_url, "SELECT count(*) FROM pending")[0][0] == 0
    assert _all_postings(pg) == before


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@needs_postgres
def test_candidate_search_reads_posting_lists_through_an_index(pg: Index, pg_url: str) -> None:
    """EXPLAIN the real postings query, with real statistics: an index lookup, never a sequential scan.

    (The pending table, a few hundred rows here and never more than PENDING_LIMIT, may be scanned.)
    """
    from vidprov.index.postgres import POSTINGS_QUERY

    kept = _load(pg, 3000, seed=5)
    pg.optimize()  # type: ignore[attr-defined]  # one row per list; VACUUM ANALYZE
    rng = np.random.default_rng(6)
    for number in range(5000, 5010):
        fp = synthetic_fingerprint(sha_of(number), synthetic_hashes(rng))
        pg.add_clip(clip_of(fp), fp)  # some postings pending too
    admin_execute(pg_url, "ANALYZE")  # the statistics autovacuum keeps
    rows = admin_execute(pg_url, "SELECT count(*) FROM postings")[0][0]
    assert rows > 50_000
    query = synthetic_fingerprint(sha_of(10**9), noisy(kept[17], rng))
    chunks = K.chunk_values(K.frame_keys(query.hashes(), "pdq"))
    lists = sorted({(chunk << 16) | int(value) for row in chunks for chunk, value in enumerate(row)})
    import psycopg
    import psycopg.sql

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("PREPARE candidates(integer[]) AS " + POSTINGS_QUERY.replace("%(lists)s", "$1"))
        for mode in ("force_custom_plan", "force_generic_plan"):  # as first run, and once prepared
            conn.execute(f"SET plan_cache_mode = {mode}")
            explain = psycopg.sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE candidates({}::integer[])").format(
                psycopg.sql.Literal("{" + ",".join(map(str, lists)) + "}"))  # EXECUTE takes no parameters
            plan = conn.execute(explain).fetchone()[0]
            nodes = list(_plan_nodes(plan[0]["Plan"]))
            scans = {(n["Node Type"], n.get("Relation Name")) for n in nodes if n.get("Relation Name")}
            assert ("Seq Scan", "postings") not in scans, (mode, scans)
            assert scans & {("Index Scan", "postings"), ("Bitmap Heap Scan", "postings")}, (mode, scans)
    found = match.search(pg, query)
    assert [m.reference for m in found] == [sha_of(17)]


# ------------------------------------------------------------------ the same answers as SQLite


@needs_postgres
def test_same_matches_and_verdicts_as_sqlite(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    hashes = {n: synthetic_hashes(rng) for n in range(1, 61)}
    fps = {n: synthetic_fingerprint(sha_of(n), h) for n, h in hashes.items()}
    # Copies of footage 1 and 2 under other sha256s, so that a query matches several clips.
    for n, source in ((61, 1), (62, 1), (63, 2)):
        fps[n] = synthetic_fingerprint(sha_of(n), noisy(hashes[source], rng, flips=8))
    posted = parse_timestamp("2024-03-01T10:00:00+02:00")

    def fill(index: Index) -> None:
        index.add_clips([(clip_of(fps[n]), fps[n], {"n": n}) for n in range(1, 41)])
        for n in range(41, 64):
            index.add_clip(clip_of(fps[n]), fps[n])
        index.add_appearance(Appearance(id="first", platform=Platform("telegram"), clip_sha256=sha_of(61),
                                        publisher="Early channel", posted_at=posted))
        index.add_appearance(Appearance(id="later", platform=Platform("x"), clip_sha256=sha_of(1),
                                        publisher="Later", posted_at=parse_timestamp("2024-05-01")))
        index.add_claim(Claim(id="claim", clip_sha256=sha_of(1), text="filmed yesterday",
                              date=None))
        index.add_assessment(Assessment(id="geo", kind=AssessmentKind("geolocation"), clip_sha256s=(sha_of(62),),
                                        made_by="desk", made_at=datetime(2024, 5, 2, tzinfo=timezone.utc),
                                        result="somewhere"))
        index.add_verdict(Verdict(id="v", clip_sha256=sha_of(1), status=VerdictStatus("recycled"), reviewer="desk",
                                  decided_at=datetime(2024, 5, 3, tzinfo=timezone.utc)))

    answers = []
    for location in (str(tmp_path / "same.db"), fresh_url()):
        with open_index(location, create=True) as index:
            fill(index)
            results = []
            for source in (1, 2, 5, 33, 50):
                query = synthetic_fingerprint(sha_of(10**6 + source), noisy(hashes[source], rng=np.random.default_rng(source)))
                found = match.search(index, query)
                verdict = match.provenance(index, query.sha256, found)
                results.append(([m.to_dict() for m in found], verdict.to_dict(), match.candidate_votes(index, query)))
            answers.append(results)
    assert answers[0] == answers[1]
    assert [len(found) for found, _, _ in answers[0]] == [3, 2, 1, 1, 1]


# ------------------------------------------------------------------ storage formats


def test_posting_segments_round_trip_exactly() -> None:
    """Groups of consecutive frames, long runs, gaps, extreme keys, runs concatenated as merges do."""
    from vidprov.index.packing import decode_lists, pending_lists
    from vidprov.index.packing import encode_lists as _encode

    rng = np.random.default_rng(21)
    parts = []
    for clip, frames in ((1, np.arange(600)), (2, np.array([0, 2, 3, 65533, 65534])), (7, np.arange(10, 20))):
        part = np.empty(len(frames) * K.CHUNKS, dtype=K.CHUNKED)
        part["chunk"] = np.tile(np.arange(K.CHUNKS), len(frames))
        # Clip 1 stays in one list per chunk (groups longer than a group holds); the others scatter.
        part["value"] = 1 if clip == 1 else rng.integers(0, 3, size=len(part))
        part["clip"] = clip
        part["frame"] = np.repeat(frames, K.CHUNKS)
        part["key"] = rng.integers(0, 2**63, size=len(part), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        part["key"][:8] = [0, 2**64 - 1] * 4
        parts.append(part)
    entries = np.concatenate(parts)
    # Set each key's chunk to the list it is filed under, as keys.clip_postings does.
    shift = (48 - 16 * entries["chunk"].astype(np.uint64))
    entries["key"] = (entries["key"] & ~(np.uint64(0xFFFF) << shift)) | (entries["value"].astype(np.uint64) << shift)
    first, second = entries[: len(entries) // 2], entries[len(entries) // 2:]
    rows: dict[int, tuple[bytes, bytes]] = {}
    for half in (first, second):
        for list_id, groups, keys in zip(*_encode(half)):
            before = rows.get(list_id, (b"", b""))
            rows[list_id] = (before[0] + groups, before[1] + keys)  # string_agg of two runs
    decoded = decode_lists([(list_id, *columns) for list_id, columns in rows.items()]).join(
        pending_lists([(5, 9, 4, (5 << 48) | (2**48 - 1))])).as_dict()  # and a pending posting of list (0, 5)
    got = sorted((c, v, int(p["clip"]), int(p["frame"]), int(p["key"])) for (c, v), ps in decoded.items() for p in ps)
    want = sorted((int(e["chunk"]), int(e["value"]), int(e["clip"]), int(e["frame"]), int(e["key"])) for e in entries)
    assert got == sorted(want + [(0, 5, 9, 4, (5 << 48) | (2**48 - 1))])
    steady = sum(len(groups) + len(keys) for _, groups, keys in zip(*_encode(parts[0])))
    assert steady < 6.2 * len(parts[0])  # consecutive frames in one list: little more than their key bits


def test_fingerprint_columns_round_trip_exactly() -> None:
    from vidprov.index.postgres import _fingerprint_columns, _fingerprint_from_columns

    rng = np.random.default_rng(3)
    hashes = synthetic_hashes(rng, 7)
    times = [0.0, 1e-300, 0.0333667, 0.5005, 1.0, 3600.25, 1e9]
    frames = tuple(FrameRecord(t, FrameHash(h.tobytes(), BITS), q, n)
                   for t, h, q, n in zip(times, hashes, [0, 100, 7, 55, 100, 1, 100], [-1, 0, 2**40, 3, 3, 9, 2]))
    fp = Fingerprint(sha256=sha_of(5), algorithm="pdq", params=(("input", "native"),), duration=None, fps=29.97,
                     width=1, height=1, codec="vp9", crop=None, frames=frames, size=12)
    header, packed = _fingerprint_columns(fp)
    assert sha_of(5) not in header
    assert _fingerprint_from_columns(sha_of(5), header, packed) == fp
    for algorithm, bits in (("phash", 64), ("phash256", 256)):
        other = replace(fp, algorithm=algorithm, frames=tuple(
            replace(f, hash=FrameHash(f.hash.data[:bits // 8], bits)) for f in fp.frames))
        assert _fingerprint_from_columns(sha_of(5), *_fingerprint_columns(other)) == other
    empty = synthetic_fingerprint(sha_of(6), hashes[:0])
    assert _fingerprint_from_columns(sha_of(6), *_fingerprint_columns(empty)) == empty
