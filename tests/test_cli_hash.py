"""``vidprov hash``: output forms, options and files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from vidprov import samples
from vidprov.cli import main
from vidprov.fingerprint import Fingerprint


def run(*args: str) -> "object":
    return CliRunner().invoke(main, list(args))


def test_summary(footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    result = run("hash", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"{path}\n")
    assert "duration   9.00 s (25.00 fps, 320x240, h264)" in out
    assert "hashed     18 frames, every 0.5 s" in out
    assert "algorithm  pdq" in out
    assert out.count(" q") >= 5  # the first hashes with their quality
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_json_is_one_fingerprint_per_line(footage: tuple[Path, samples.ClipSpec], other_footage: Path) -> None:
    path, _ = footage
    result = run("hash", "--json", "--fps", "1", str(path), str(other_footage))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert {"sha256", "duration", "algorithm", "frames"} <= set(first)
    assert set(first["frames"][0]) >= {"t", "hash", "quality"}
    assert len(first["frames"]) == 9
    assert Fingerprint.from_json(lines[1]).frames


def test_algorithm_and_sampling_options(footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    result = run("hash", "--format", "json", "--algorithm", "phash", "--fps", "keyframes", str(path))
    data = json.loads(result.stdout)
    assert data["algorithm"] == "phash"
    assert len(data["frames"][0]["hash"]) == 16
    assert data["params"]["sampling"] == {"mode": "keyframes"}


def test_vpdq_format_to_file(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    target = tmp_path / "clip.vpdq.txt"
    result = run("hash", "--format", "vpdq", "--fps", "all", str(path), "-o", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    lines = target.read_text().splitlines()
    assert len(lines) == round(spec.duration * spec.fps)
    assert lines[25].startswith("25,") and lines[25].endswith(",1.000")
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_usage_errors() -> None:
    result = run("hash", "--format", "vpdq", "--algorithm", "phash", "x.mp4")
    assert result.exit_code == 2 and "needs --algorithm pdq" in result.stderr
    result = run("hash", "--fps", "fast", "x.mp4")
    assert result.exit_code == 2 and "fps" in result.stderr
    assert run("hash").exit_code == 2


def test_help_lists_commands() -> None:
    result = run("--help")
    assert "hash" in result.stdout and "keyframes" in result.stdout
    assert "--format" in run("hash", "--help").stdout
