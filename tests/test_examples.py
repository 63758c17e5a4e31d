"""Every example runs, as a reader would run it, on the footage it generates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, workdir: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name), str(workdir)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_every_example_is_tested() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == [
        "detect_reupload.py", "quickstart.py", "record_claims.py", "sergeevka.py", "team_postgres.py"]


@pytest.mark.slow
def test_quickstart(tmp_path: Path) -> None:
    out = run_example("quickstart.py", tmp_path)
    assert "verdict:" in out
    assert (tmp_path / "keyframes" / "contact_sheet.jpg").is_file()


@pytest.mark.slow
def test_sergeevka(tmp_path: Path) -> None:
    out = run_example("sergeevka.py", tmp_path)
    lines = out.splitlines()
    assert "geolocation by TV verification team (stand-in) covers clips 1, 2" in lines
    assert "the geolocation covers the X clip: no (it was made of the earlier clips)" in lines
    assert ("Ukrainska Pravda relays clip 3 (same file), claimed date "
            "2024-10-15T10:05+03:00/2024-10-18T10:05+03:00 (max-age:3d)") in lines
    assert "matches: 2" in lines
    assert sorted(line.split(":")[0] for line in lines if line.startswith("  clip ")) == ["  clip 1", "  clip 2"]
    assert ("earliest appearance: Primorye channel (stand-in) on telegram, 2024-10-09T06:12:40Z, "
            "https://t.me/primorye_example/4411") in lines
    assert "date conflict: first posted 6.0 days before the earliest claimed date" in lines
    assert "place conflicts: none" in lines
    assert "desk verdict on clip 3: recycled" in lines


@pytest.mark.slow
def test_detect_reupload(tmp_path: Path) -> None:
    out = run_example("detect_reupload.py", tmp_path)
    found = {block.split(" (")[0]: block for block in out.split("\n\n")[1:]}
    for name in ("shrunk_reencoded.mp4", "mirrored.mp4", "trimmed_faster.mp4", "inset.mp4", "compilation.mp4"):
        assert "matches clip 1 (score" in found[name], found[name]
    assert "mirrored" in found["mirrored.mp4"].splitlines()[1]
    assert re.search(r"inside \d+x\d+\+\d+\+\d+ of the frame", found["inset.mp4"])
    assert re.search(r"speed x1\.1\d", found["trimmed_faster.mp4"])
    spans = re.search(r"(\d\d):(\d\d\.\d+)-(\d\d):(\d\d\.\d+) of the reupload = "
                      r"(\d\d):(\d\d\.\d+)-(\d\d):(\d\d\.\d+) of the original", found["compilation.mp4"])
    assert spans is not None, found["compilation.mp4"]
    seconds = [60 * float(spans.group(i)) + float(spans.group(i + 1)) for i in (1, 3, 5, 7)]
    assert seconds == pytest.approx([6.0, 14.0, 0.0, 8.0], abs=0.1)
    assert found["unrelated.mp4"].splitlines()[1:] == ["  no match"]
    assert (tmp_path / "compilation_report.html").is_file()


@pytest.mark.slow
def test_record_claims(tmp_path: Path) -> None:
    lines = run_example("record_claims.py", tmp_path).splitlines()
    assert lines[0] == ("clip 1: Primorye channel (stand-in) on telegram, posted 2024-10-15T14:06:43Z, "
                        "https://t.me/primorye_example/613")
    assert "  date:  2024-10-15T02:06:43Z/2024-10-15T14:06:43Z (max-age:12h)" in lines
    assert sum(line.startswith("place conflict: ") for line in lines) == 2
    assert "verdict: verified by Desk editor (stand-in)" in lines
    assert ("exported to desk.json; a second desk imported clips 1, appearances 1, claims 2, assessments 1, "
            "verdicts 1") in lines
    assert "desk.jsonld: schema.org Claim, ClaimReview, MediaReview, SocialMediaPosting, VideoObject" in lines


def _postgres_server() -> str | None:
    for name in ("VIDPROV_TEST_POSTGRES", "VIDPROV_INDEX"):
        value = os.environ.get(name, "")
        if value.startswith(("postgresql://", "postgres://")):
            return value
    return None


@pytest.mark.slow
@pytest.mark.skipif(_postgres_server() is None, reason="no PostgreSQL server named by $VIDPROV_TEST_POSTGRES "
                                                       "or $VIDPROV_INDEX")
def test_team_postgres(tmp_path: Path) -> None:
    import psycopg

    server = _postgres_server()
    assert server is not None
    # The example refuses a database with clips in it: give it a fresh one on the same server.
    name = f"vidprov_example_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {key: value for key, value in os.environ.items() if key != "VIDPROV_TEST_POSTGRES"}
    env["VIDPROV_INDEX"] = f"{server.rsplit('/', 1)[0]}/{name}"
    try:
        lines = run_example("team_postgres.py", tmp_path, env).splitlines()
        lines_again = subprocess.run([sys.executable, str(EXAMPLES / "team_postgres.py"), str(tmp_path)],
                                     capture_output=True, text=True, timeout=120, env=env)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # Which desk wins, and so the clip's id, depends on timing; that the clip is stored once does not.
    stored = [re.fullmatch(r"stored once: clip (\d+) \(1 desk added it, 1 found it already there\)", line)
              for line in lines]
    (clip_id,) = [found.group(1) for found in stored if found]
    assert lines[-5].startswith(f"Warsaw desk: reupload.mp4 matches clip {clip_id} (score ")
    assert lines[-2] == ("  verdict: 1 indexed clip shares footage with this one. This footage was first published "
                         "by Frontline channel (stand-in) on 2024-03-02T05:40Z (https://t.me/frontline_example/77).")
    assert lines_again.returncode == 1 and "holds 1 clips already" in lines_again.stderr
