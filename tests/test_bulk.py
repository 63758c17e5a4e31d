"""Bulk ingest: ``vidprov add PATH...`` over a folder of tiny clips with sidecars, a manifest and bad files.

The archive is made here: two-second clips of 64x48 pixels (sixteen frames hashed
each, the index's densest sampling), each with the ``.info.json`` yt-dlp would write beside it, and a few
files that must fail on their own (cut short and random bytes, made by
``broken_media.py``). Other processes do the fingerprinting, so the tests
look at what reached the index, and at the one line each failure gets.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

import broken_media
from vidprov import ingest, samples
from vidprov.cli import main
from vidprov.errors import FormatError
from vidprov.fingerprint import file_sha256, index_sampling
from vidprov.index import SCHEMA_VERSION, open_index
from vidprov.manifest import read_manifest

REPO = Path(__file__).resolve().parents[1]
#: Clips in the generated archive (one of them copied twice under another name).
CLIPS = 8
#: Frames the index holds of each 2-s, 10-fps clip: sampled more densely than twice a second, being short.
INDEXED_FRAMES = len(index_sampling(2.0).select([n / 10 for n in range(20)]))
#: Seconds a child ``vidprov add`` may take on a loaded 2-core machine.
CHILD_TIMEOUT = 120


def make_clip(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples.write_clip(path, samples.ClipSpec(samples.scenes(1, 2.0, seed=seed), width=64, height=48, fps=10))
    return path


def info_json(number: int) -> dict[str, Any]:
    """What yt-dlp writes for post ``number`` of a Telegram channel (its documented fields only)."""
    return {"id": str(number), "title": f"Post {number}", "channel": "Example channel",
            "channel_id": "example_channel", "timestamp": 1729001203 + 3600 * number,
            "webpage_url": f"https://t.me/example_channel/{number}", "extractor_key": "Telegram"}


def make_archive(folder: Path, clips: int = CLIPS, *, first_seed: int = 0) -> list[Path]:
    """``clips`` clips in ``folder`` and ``folder/sub``, each with its sidecar; the clip paths."""
    paths = []
    for number in range(clips):
        place = folder / "sub" if number % 2 else folder
        path = make_clip(place / f"clip{number:03d}.mp4", first_seed + number)
        (place / f"clip{number:03d}.info.json").write_text(json.dumps(info_json(first_seed + number)))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clips, their sidecars, a thumbnail and a subtitle file, a copy of one clip, and three bad files."""
    folder = tmp_path_factory.mktemp("archive")
    make_archive(folder)
    (folder / "clip000.webp").write_bytes(b"RIFF....WEBP")  # yt-dlp's thumbnail: not a clip
    (folder / "clip000.en.vtt").write_text("WEBVTT\n")
    (folder / ".hidden.mp4").write_bytes(b"\0" * 10)
    shutil.copyfile(folder / "clip000.mp4", folder / "sub" / "copy_of_clip000.mp4")
    broken_media.random_bytes(folder / "random.mp4")
    source = broken_media.mp4(tmp_path_factory.mktemp("whole") / "whole.mp4", faststart=False, seconds=1)
    broken_media.truncated(source, folder / "cut.mp4", 0.5)
    (folder / "sub" / "empty.mkv").write_bytes(b"")
    return folder


def run(*args: str, index: Path | None = None) -> Result:
    extra = ["--index", str(index)] if index is not None else []
    return CliRunner().invoke(main, [*args, *extra])


def stored(index: Path | str) -> dict[str, Any]:
    """Everything in the index that a batch writes, by clip sha256, for comparing two indexes."""
    with open_index(index) as opened:
        bundle = opened.records()
        clips = opened.list_clips()
        prints = opened.fingerprints([item.id for item in clips])
        return {item.sha256: {
            "frames": [str(frame.hash) for frame in prints[item.id].frames] if item.id in prints else None,
            "appearances": sorted(json.dumps({k: v for k, v in a.to_dict().items() if k != "id"}, sort_keys=True)
                                  for a in bundle.appearances_of(item.sha256)),
            "claims": len([c for c in bundle.claims if c.clip_sha256 == item.sha256 or
                           any(c.appearance_id == a.id for a in bundle.appearances_of(item.sha256))]),
        } for item in clips}


FAILURES = {
    "cut.mp4": "the file is truncated (it stops ",
    "random.mp4": "not a video file FFmpeg can read (unrecognised or damaged container)",
    "sub/empty.mkv": "file is empty (0 bytes)",
}


# --------------------------------------------------------------- folders


def test_a_folder_is_added_whole_and_bad_files_fail_on_their_own(tmp_path: Path, archive: Path) -> None:
    index = tmp_path / "desk.db"
    result = run("add", str(archive), "--jobs", "2", index=index)
    assert result.exit_code == 1
    total = CLIPS + 1 + len(FAILURES)
    assert result.stdout.startswith(f"added {CLIPS}, skipped 1 (indexed already), failed {len(FAILURES)} of "
                                    f"{total} in ")
    errors = result.stderr.splitlines()
    assert len(errors) == len(FAILURES)
    for line, (name, reason) in zip(errors, sorted(FAILURES.items())):
        assert line.startswith(f"vidprov: error: {archive / name}: {reason}")
    contents = stored(index)
    assert len(contents) == CLIPS
    for number in range(CLIPS):
        sha256, _ = file_sha256(next(archive.rglob(f"clip{number:03d}.mp4")))
        (appearance,) = contents[sha256]["appearances"]
        assert json.loads(appearance)["url"] == f"https://t.me/example_channel/{number}"
        assert len(contents[sha256]["frames"]) == INDEXED_FRAMES


def test_running_again_decodes_nothing_and_adds_nothing(tmp_path: Path, archive: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "desk.db"
    with open_index(index, create=True) as opened:
        first = ingest.add_many(opened, [archive], jobs=1)
    before = stored(index)

    def no_decoding(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a clip indexed already was decoded")

    monkeypatch.setattr(ingest, "make_fingerprint", no_decoding)
    monkeypatch.setattr(ingest, "read_metadata", no_decoding)
    with open_index(index) as opened:
        again = ingest.add_many(opened, [archive], jobs=1)
    assert [item.status for item in again.files if item.status != "failed"] == ["skipped"] * (CLIPS + 1)
    assert all(item.records_added == 0 for item in again.files)
    assert [item.path for item in again.failed] == [item.path for item in first.failed]
    assert stored(index) == before


def test_one_or_two_worker_processes_store_the_same(tmp_path: Path, archive: Path) -> None:
    indexes = {}
    for jobs in (1, 2):
        indexes[jobs] = tmp_path / f"jobs{jobs}.db"
        with open_index(indexes[jobs], create=True) as opened:
            result = ingest.add_many(opened, [archive], jobs=jobs)
        assert (len(result.added), len(result.skipped), len(result.failed)) == (CLIPS, 1, len(FAILURES))
    assert stored(indexes[1]) == stored(indexes[2])


def test_files_named_are_taken_whatever_their_name(tmp_path: Path, archive: Path) -> None:
    odd = tmp_path / "clip.video"
    shutil.copyfile(archive / "clip000.mp4", odd)
    with open_index(tmp_path / "desk.db", create=True) as opened:
        result = ingest.add_many(opened, [odd, archive / "sub" / "clip001.mp4"], jobs=1)
    assert [item.status for item in result.files] == ["added", "added"]
    assert ingest.collect_files([archive]) == sorted(
        str(path) for path in archive.rglob("*") if path.suffix in (".mp4", ".mkv") and
        not path.name.startswith("."))


def test_progress_counts_every_file(tmp_path: Path, archive: Path) -> None:
    seen: list[ingest.BatchProgress] = []
    with open_index(tmp_path / "desk.db", create=True) as opened:
        ingest.add_many(opened, [archive / "sub"], jobs=1, progress=seen.append)
    files = len(ingest.collect_files([archive / "sub"]))
    assert [state.done for state in seen] == list(range(files + 1))
    assert {state.total for state in seen} == {files}
    last = seen[-1]
    assert (last.added, last.skipped, last.failed) == (CLIPS // 2 + 1, 0, 1)
    assert last.rate > 0 and last.eta == 0


def test_json_summary(tmp_path: Path, archive: Path) -> None:
    result = run("add", str(archive / "sub"), "--json", "--jobs", "1", index=tmp_path / "desk.db")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["added"], data["skipped"], data["failed"]) == (CLIPS // 2 + 1, 0, 1)
    by_name = {Path(item["path"]).name: item for item in data["files"]}
    assert by_name["empty.mkv"]["error"] == "file is empty (0 bytes)"
    assert by_name["clip001.mp4"]["status"] == "added" and by_name["clip001.mp4"]["frames_hashed"] == INDEXED_FRAMES
    assert by_name["clip001.mp4"]["records_added"] == 1
    assert by_name["copy_of_clip000.mp4"]["status"] == "added"  # clip000 itself is not in sub/
    assert result.stderr == f"vidprov: error: {archive / 'sub' / 'empty.mkv'}: file is empty (0 bytes)\n"


def test_several_paths_refuse_the_options_of_one_clip(tmp_path: Path, archive: Path) -> None:
    index = tmp_path / "desk.db"
    result = run("add", str(archive), "--publisher", "CSCIS", index=index)
    assert result.exit_code == 2
    assert ("--publisher describes a single CLIP; with several paths or a folder, give each file's records in a "
            ".info.json beside it or in --manifest") in result.stderr
    result = run("add", str(archive / "clip000.mp4"), str(archive / "sub"), "--claimed-coords", "1,2", index=index)
    assert result.exit_code == 2 and "--claimed-coords describes a single CLIP" in result.stderr
    result = run("add", str(archive), "--jobs", "2", "--dask", "tcp://127.0.0.1:1", index=index)
    assert result.exit_code == 2 and "--jobs and --dask do not go together" in result.stderr
    result = run("add", str(archive), str(tmp_path / "typo"), index=index)
    assert result.exit_code == 1 and result.stderr == f"vidprov: error: {tmp_path / 'typo'}: no such file or folder\n"
    assert not index.exists()


def test_copies_are_fingerprinted_once_and_each_keeps_its_own_records(tmp_path: Path, archive: Path) -> None:
    for name in ("a", "b", "c", "d"):
        shutil.copyfile(archive / "clip000.mp4", tmp_path / f"{name}.mp4")
    (tmp_path / "b.info.json").write_text("{not json")
    (tmp_path / "c.info.json").write_text(json.dumps(info_json(30)))
    (tmp_path / "d.info.json").write_text(json.dumps(info_json(40)))
    with open_index(tmp_path / "desk.db", create=True) as opened:
        result = ingest.add_many(opened, [tmp_path], jobs=2)
        urls = sorted(item.url for item in opened.records().appearances)
    statuses = {Path(item.path).name: item.status for item in result.files}
    assert statuses.pop("b.mp4") == "failed"
    assert sorted(statuses.values()) == ["added", "skipped", "skipped"]  # whichever was hashed first is added
    assert result.failed[0].error.startswith(f"{tmp_path / 'b.info.json'}: not a yt-dlp .info.json: not valid JSON")
    assert urls == ["https://t.me/example_channel/30", "https://t.me/example_channel/40"]


def test_a_worker_that_dies_fails_its_file_only(tmp_path: Path, archive: Path) -> None:
    """A pool whose worker dies on one file: that file fails, the rest are added."""

    class DyingOnOne(concurrent.futures.Executor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            if args[0].endswith("clip001.mp4"):
                future.set_exception(concurrent.futures.process.BrokenProcessPool("a child died"))
            else:
                future.set_result(fn(*args, **kwargs))
            return future

    with open_index(tmp_path / "desk.db", create=True) as opened:
        result = ingest.add_many(opened, [archive / "sub"], executor=DyingOnOne(), workers=2)
    (failed, empty) = result.failed
    assert failed.path.endswith("clip001.mp4")
    assert failed.error == "the worker process decoding it died (1 times); it may be a file that crashes FFmpeg"
    assert len(result.added) == CLIPS // 2


# -------------------------------------------------------------- manifests


def test_a_manifest_gives_each_file_its_records(tmp_path: Path, archive: Path) -> None:
    sha256, _ = file_sha256(archive / "sub" / "clip003.mp4")
    manifest = tmp_path / "archive.csv"
    manifest.write_text(
        "Path,SHA256,Publisher,Platform,URL,Posted-At,Claimed Date,Claimed Place,Claimed Coords,Radius M,Text\n"
        f"{archive / 'clip000.mp4'},,CSCIS,x,https://x.com/cscis/status/1,2024-10-18,2024-10-15/2024-10-18,"
        "Sergeevka training ground,\"44.34,131.66\",5000,Troops at Sergeevka\n"
        f",{sha256},,,,,max-age:3d,,,,\n",
        encoding="utf-8")
    index = tmp_path / "desk.db"
    result = run("add", str(archive / "sub" / "clip003.mp4"), "--manifest", str(manifest), "--jobs", "1",
                 index=index)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 2, skipped 0 (indexed already), failed 0 of 2 in ")
    with open_index(index) as opened:
        bundle = opened.records()
    first = next(a for a in bundle.appearances if a.publisher == "CSCIS")
    (claim,) = [c for c in bundle.claims if c.appearance_id == first.id]
    assert (first.platform.value, str(first.posted_at)) == ("x", "2024-10-18")
    assert (str(claim.date), claim.text, claim.place.point.radius_m) == (
        "2024-10-15/2024-10-18", "Troops at Sergeevka", 5000)
    # A row with no appearance columns makes its claim in the appearance of the file's .info.json.
    telegram = next(a for a in bundle.appearances if a.clip_sha256 == sha256)
    (anchored,) = [c for c in bundle.claims if c.appearance_id == telegram.id]
    assert anchored.date.derivation.anchor == telegram.posted_at

    again = run("add", str(archive / "sub" / "clip003.mp4"), "--manifest", str(manifest), "--json", index=index)
    assert json.loads(again.stdout)["skipped"] == 2
    assert all(item["records_added"] == 0 for item in json.loads(again.stdout)["files"])


def test_a_json_manifest_overrides_the_sidecar(tmp_path: Path, archive: Path) -> None:
    manifest = tmp_path / "archive.json"
    manifest.write_text(json.dumps([
        {"path": str(archive / "clip002.mp4"), "publisher": "Relay desk", "coords": [44.34, 131.66],
         "radius_m": 500, "claimed_date": "max-age:1d"},
    ]))
    with open_index(tmp_path / "desk.db", create=True) as opened:
        result = ingest.add_many(opened, [], manifest=manifest, jobs=1)
        (appearance,) = opened.records().appearances
        (claim,) = opened.records().claims
    assert [item.status for item in result.files] == ["added"]
    assert (appearance.publisher, appearance.handle, appearance.url) == (
        "Relay desk", "example_channel", "https://t.me/example_channel/2")
    assert (claim.place.point.lat, claim.place.point.radius_m, claim.appearance_id) == (44.34, 500, appearance.id)


BAD_ROWS = [
    ('claimed_coords\n"95,131.66"', 'row 2: claimed_coords: lat: 95.0 is not allowed; expected a number from -90 to 90'),
    ("posted_at\nyesterday", "row 2: posted_at: 'yesterday' is not allowed; expected YYYY, YYYY-MM, YYYY-MM-DD or "
                             "an ISO 8601 datetime"),
    ("platform\nmyspace", "row 2: platform: 'myspace' is not allowed; expected one of: x, telegram"),
    ("radius_m\nfive", "row 2: radius_m: 'five' is not allowed; expected a number"),
    ("radius_m\n5", "row 2: radius_m: 5.0 is not allowed; expected a radius together with coordinates"),
    ("claimed_date\nlast week", "row 2: claimed_date: 'last week' is not allowed; expected "),
    ("country\nXX", "row 2: country: 'XX' is not allowed; expected "),
]


@pytest.mark.parametrize("columns, message", BAD_ROWS, ids=[row.split("\n")[0] for row, _ in BAD_ROWS])
def test_a_bad_row_fails_its_file_only_and_names_row_and_column(tmp_path: Path, archive: Path, columns: str,
                                                                message: str) -> None:
    header, cells = columns.split("\n")
    manifest = tmp_path / "archive.csv"
    manifest.write_text(f"path,{header}\nclip000.mp4,{cells}\nclip002.mp4,\n", encoding="utf-8")
    for name in ("clip000.mp4", "clip002.mp4"):
        os.symlink(archive / name, tmp_path / name)
    result = run("add", "--manifest", str(manifest), "--jobs", "1", index=tmp_path / "desk.db")
    assert result.exit_code == 1
    assert result.stdout.startswith("added 1, skipped 0 (indexed already), failed 1 of 2 in ")
    assert result.stderr.startswith(f"vidprov: error: {tmp_path / 'clip000.mp4'}: {manifest}: {message}")
    assert result.stderr.count("\n") == 1


def test_rows_that_cannot_name_a_file_fail_and_unknown_sha256s_warn(tmp_path: Path, archive: Path) -> None:
    manifest = tmp_path / "archive.csv"
    manifest.write_text(f"path,sha256,publisher\n,zz,\n,,CSCIS\n,{'ab' * 32},\nmissing.mp4,,\n", encoding="utf-8")
    result = run("add", str(archive / "clip000.mp4"), "--manifest", str(manifest), "--jobs", "1",
                 index=tmp_path / "desk.db")
    assert result.exit_code == 1
    assert result.stdout.startswith("added 1, skipped 0 (indexed already), failed 3 of 4 in ")
    assert result.stderr.splitlines() == [
        f"vidprov: warning: {manifest}: row 4: sha256 {'ab' * 32} is not the sha256 of any file of the batch",
        f"vidprov: error: {tmp_path / 'missing.mp4'}: no such file",
        f"vidprov: error: {manifest}: row 2: sha256: 'zz' is not a sha256 (64 hex digits)",
        f"vidprov: error: {manifest}: row 3: neither a path nor a sha256 says which file it is about",
    ]


@pytest.mark.parametrize("text, message", [
    ("path,publisher,colour\n", "column 'colour' is not one vidprov knows; the columns are: path, sha256, "),
    ("publisher,url\n", "the manifest needs a path or a sha256 column to say which file each row is about"),
    ("path,file\n", "column 'file' is given twice (as path)"),
    ("", "the manifest is empty: expected a header row naming its columns"),
    ('path\n"unclosed\n', "not a readable CSV manifest (line 2: unexpected end of data)"),
    ("[1, 2", "not a valid JSON manifest (Expecting"),
    ('{"path": "a.mp4"}', "a JSON manifest must be an array of objects, one per file, not dict"),
    ('[{"path": "a.mp4", "colour": "red"}]', "item 1: key 'colour' is not one vidprov knows"),
])
def test_a_manifest_that_cannot_be_read_refuses_the_batch(tmp_path: Path, archive: Path, text: str,
                                                          message: str) -> None:
    manifest = tmp_path / ("archive.json" if text.startswith(("[", "{")) else "archive.csv")
    manifest.write_text(text, encoding="utf-8")
    index = tmp_path / "desk.db"
    result = run("add", str(archive), "--manifest", str(manifest), index=index)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"vidprov: error: {manifest}: {message}")
    assert result.stderr.count("\n") == 1
    assert not index.exists()
    with pytest.raises(FormatError):
        read_manifest(manifest)


# --------------------------------------------------- several processes


#: ``vidprov`` in a child process, with this interpreter.
VIDPROV = [sys.executable, "-c", "from vidprov.cli import main; main()"]


def cli(*args: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([*VIDPROV, *args], text=True, cwd=REPO,
                            **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen})


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_adding_to_one_sqlite_index_at_once_lose_nothing(tmp_path: Path, archive: Path,
                                                                   processes: int) -> None:
    """Each process adds its own clips and the shared archive, all at once, to one new index file."""
    index = tmp_path / "desk.db"
    own = [make_archive(tmp_path / f"own{number}", 2, first_seed=100 + 10 * number) for number in range(processes)]
    running = [cli("add", str(tmp_path / f"own{number}"), str(archive / "sub"), "--jobs", "1", "--index", str(index))
               for number in range(processes)]
    outputs = [child.communicate(timeout=CHILD_TIMEOUT) for child in running]
    for child, (out, err) in zip(running, outputs):
        assert "locked" not in err and "Traceback" not in err, err
        assert child.returncode == 1 and err.splitlines() == [
            f"vidprov: error: {archive / 'sub' / 'empty.mkv'}: file is empty (0 bytes)"], err
    contents = stored(index)
    expected = {file_sha256(path)[0] for paths in own for path in paths}
    expected |= {file_sha256(path)[0] for path in (archive / "sub").glob("*.mp4")}
    assert set(contents) == expected
    assert all(len(content["frames"]) == INDEXED_FRAMES for content in contents.values())
    with open_index(index) as opened:
        assert opened.count_clips() == len(expected)
        assert len(opened.records().appearances) == len(expected) - 1  # the copy has no sidecar of its own


def test_an_index_made_by_another_process_meanwhile_is_used(tmp_path: Path) -> None:
    """A second ``add`` finds the new file empty, and another makes the index before it can: it uses that one."""
    reference = tmp_path / "reference.db"
    open_index(reference, create=True).close()
    with sqlite3.connect(reference) as db:
        schema = [row[0] for row in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
        meta = db.execute("SELECT key, value FROM meta").fetchall()
    where = tmp_path / "desk.db"
    other = sqlite3.connect(where, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other process is about to make the index
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        opening = pool.submit(lambda: open_index(where, create=True))
        time.sleep(0.5)  # this one found no tables and now waits to write
        for statement in schema:
            other.execute(statement)
        other.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta)
        other.execute("COMMIT")
        with opening.result(timeout=CHILD_TIMEOUT) as index:
            assert index.count_clips() == 0 and index.schema_version() == SCHEMA_VERSION
    other.close()


# ------------------------------------------------------------------- Dask


def test_dask_workers_fingerprint_and_this_process_writes(tmp_path: Path, archive: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        result = run("add", str(archive), "--dask", cluster.scheduler_address, "--json", index=tmp_path / "dask.db")
    data = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert (data["added"], data["skipped"], data["failed"]) == (CLIPS, 1, len(FAILURES))
    with open_index(tmp_path / "jobs.db", create=True) as opened:
        ingest.add_many(opened, [archive], jobs=1)
    assert stored(tmp_path / "dask.db") == stored(tmp_path / "jobs.db")


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, archive: Path) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = run("add", str(archive), "--dask", "tcp://127.0.0.1:9", index=tmp_path / "desk.db")
    assert result.exit_code == 1
    assert result.stderr.startswith("vidprov: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 (")
    assert result.stderr.count("\n") == 1
