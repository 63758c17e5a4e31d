"""Every example runs, as a reader would run it, on the footage it generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, workdir: Path) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name), str(workdir)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_every_example_is_tested() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == ["quickstart.py", "sergeevka.py"]


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
