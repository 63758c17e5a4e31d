"""Crash safety: ``vidprov add DIR --jobs 2`` killed with SIGKILL midway leaves an index that is whole.

At each of several points, drawn from a seeded generator, the whole process
group (the command and its worker processes) is killed once the index holds a
given number of clips, a few milliseconds later than that. After every kill
the index must open cleanly and show no half-written clip: each clip has its
fingerprint, its metadata and the appearance and claim the batch gives it, and
no record points at something missing. Running the command once more must
finish the job, with each clip once.

Runs on SQLite, and on PostgreSQL when ``$VIDPROV_TEST_POSTGRES`` names a
server (a fresh database per run).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from test_bulk import CHILD_TIMEOUT, INDEXED_FRAMES, cli, make_archive
from vidprov.errors import IndexNotFoundError
from vidprov.fingerprint import file_sha256
from vidprov.index import open_index

POSTGRES = os.environ.get("VIDPROV_TEST_POSTGRES")
#: Clips in the archive: enough that every kill lands with clips still to go.
CLIPS = 16
KILLS = 3
SEED = 20241018


def fresh_postgres() -> str:
    """A new, empty database on the test server."""
    psycopg = pytest.importorskip("psycopg")
    assert POSTGRES
    name = f"vidprov_crash_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        pytest.skip(f"cannot make a database on $VIDPROV_TEST_POSTGRES ({error})")
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}"


def location(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "crash.db")
    try:
        from vidprov.index.postgres import PostgresIndex  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the PostgreSQL backend cannot be imported ({error})")
    return fresh_postgres()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The clips with their sidecars, and a manifest that gives each a claim made in its post."""
    folder = tmp_path_factory.mktemp("crash_archive")
    clips = make_archive(folder, CLIPS, first_seed=500)
    manifest = folder.parent / "claims.csv"
    manifest.write_text("path,claimed_date,claim_text\n" + "".join(
        f"{path},max-age:1d,Filmed the day it was posted ({path.stem})\n" for path in clips), encoding="utf-8")
    return folder, manifest


def clip_count(where: str) -> int:
    try:
        with open_index(where) as index:
            return index.count_clips()
    except IndexNotFoundError:
        return 0


def check_whole(where: str, backend: str) -> int:
    """Open the index and check that nothing in it is half-written; the number of clips."""
    if backend == "sqlite" and os.path.exists(where):
        with sqlite3.connect(where) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_index(where) as index:
        clips = index.list_clips()
        assert len({item.sha256 for item in clips}) == len(clips) == index.count_clips()
        prints = index.fingerprints([item.id for item in clips])
        bundle = index.records()
        shas = {item.sha256 for item in clips}
        appearances = {item.id: item for item in bundle.appearances}
        for item in clips:
            assert len(prints[item.id].frames) == INDEXED_FRAMES, item
            assert index.metadata(item.id) is not None, item
            (appearance,) = bundle.appearances_of(item.sha256)
            (claim,) = [claim for claim in bundle.claims if claim.appearance_id == appearance.id]
            assert claim.date is not None and claim.date.derivation is not None
        assert all(item.clip_sha256 in shas for item in bundle.appearances)
        assert all(claim.appearance_id in appearances for claim in bundle.claims)
        assert len(bundle.claims) == len(bundle.appearances) == len(clips)
    return len(clips)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES, reason="$VIDPROV_TEST_POSTGRES names no server"))])
def test_killed_midway_the_index_is_whole_and_a_rerun_finishes(tmp_path: Path, archive: tuple[Path, Path],
                                                               backend: str) -> None:
    folder, manifest = archive
    where = location(backend, tmp_path)
    command = ("add", str(folder), "--manifest", str(manifest), "--jobs", "2", "--index", where)
    rng = random.Random(SEED)
    done = 0
    for _ in range(KILLS):
        target = min(done + rng.randint(1, 4), CLIPS - 1)
        child = cli(*command, start_new_session=True)
        deadline = time.monotonic() + CHILD_TIMEOUT
        while clip_count(where) < target and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.05))
        finished = child.poll() is not None
        if not finished:
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate(timeout=CHILD_TIMEOUT)
        done = check_whole(where, backend)
        if finished or done == CLIPS:
            # On a loaded machine the last clips can land before the kill: the
            # index was still checked whole, and nothing is left to interrupt.
            break
    child = cli(*command)
    out, err = child.communicate(timeout=CHILD_TIMEOUT)
    assert child.returncode == 0 and err == "", err
    assert out.startswith(f"added {CLIPS - done}, skipped {done} (indexed already), failed 0 of {CLIPS} in ")
    assert check_whole(where, backend) == CLIPS
    with open_index(where) as index:
        assert {item.sha256 for item in index.list_clips()} == {
            file_sha256(path)[0] for path in folder.rglob("*.mp4")}


def test_workers_die_with_the_command(tmp_path: Path, archive: tuple[Path, Path]) -> None:
    """Killing only the command leaves no worker behind: they see it gone and stop."""
    folder, manifest = archive
    where = str(tmp_path / "orphans.db")
    child = cli("add", str(folder), "--manifest", str(manifest), "--jobs", "2", "--index", where, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while clip_count(where) < 1 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = children_of(child.pid)
    child.kill()
    child.wait(timeout=CHILD_TIMEOUT)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(alive(pid) for pid in workers)
    assert 0 < check_whole(where, "sqlite") <= CLIPS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
