"""The README's main job: examples/quickstart.py runs end to end and says what the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "indexed original.mp4 as clip 1" in out
    assert "active picture" in out  # the letterbox was found and left out
    assert "matches clip 1" in out and "matches clip 2" not in out
    assert "first published by Old channel on 2022-03-01" in out and "days before the date now claimed" in out
    assert (tmp_path / "keyframes" / "contact_sheet.jpg").is_file()
    assert (tmp_path / "desk.db").is_file()
    assert result.stderr == ""
