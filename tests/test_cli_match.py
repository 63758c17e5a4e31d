"""``vidprov match``, ``vidprov compare`` and ``vidprov index`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidprov import samples
from vidprov.cli import main


@pytest.fixture(scope="module")
def reupload(clip_dir: Path, footage: tuple[Path, samples.ClipSpec]) -> Path:
    import av

    path = clip_dir / "reupload_cli.mp4"
    with av.open(str(footage[0])) as source:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")[::2, ::2]) for f in source.decode(video=0)]
    samples.write_frames(path, frames, fps=25, options={"crf": "32"})
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_match_add_then_match(tmp_path: Path, footage: tuple[Path, samples.ClipSpec], reupload: Path,
                              other_footage: Path) -> None:
    index = str(tmp_path / "desk.db")
    first = run("match", str(footage[0]), "--index", index, "--add", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["matches"] == [] and data["added"]["created"] is True
    assert run("match", str(other_footage), "--index", index, "--add").exit_code == 0
    result = run("match", str(reupload), "--index", index, "--json", "--claimed-date", "2030-01-01")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"]["sha256"] and len(data["matches"]) == 1
    found = data["matches"][0]
    assert {"clip_id", "sha256", "score", "query_coverage", "reference_coverage", "mirrored", "segments"} <= set(found)
    assert found["clip_id"] == data_clip_id(index, footage[0])
    segment = found["segments"][0]
    assert set(segment) == {"query_start", "query_end", "reference_start", "reference_end"}
    assert {"earliest_appearance", "date_conflict", "place_conflict"} <= set(data["verdict"])
    assert data["verdict"]["claimed_date"]["edtf"].startswith("2030-01-01")
    text = run("match", str(reupload), "--index", index)
    assert "matches  1" in text.stdout and "of the query =" in text.stdout and text.stdout.count("score") == 1


def data_clip_id(index: str, path: Path) -> int:
    from vidprov.fingerprint import file_sha256
    from vidprov.index import open_index

    with open_index(index) as opened:
        stored = opened.clip_by_sha256(file_sha256(path)[0])
        assert stored is not None
        return stored.id


def test_compare_verdicts(footage: tuple[Path, samples.ClipSpec], reupload: Path, other_footage: Path) -> None:
    same = run("compare", str(reupload), str(footage[0]))
    assert same.exit_code == 0 and same.stdout.startswith("same footage")
    unrelated = run("compare", "--json", str(other_footage), str(footage[0]))
    data = json.loads(unrelated.stdout)
    assert data["verdict"] == "unrelated" and data["match"] is None
    missing = run("compare", str(footage[0]), "/nonexistent.mp4")
    assert missing.exit_code == 1 and missing.stderr.startswith("vidprov: error: /nonexistent.mp4: no such file")


def test_match_needs_an_index(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    result = run("match", str(footage[0]), "--index", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert "no index here yet" in result.stderr and not (tmp_path / "none.db").exists()


def test_index_from_environment(tmp_path: Path, footage: tuple[Path, samples.ClipSpec],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDPROV_INDEX", str(tmp_path / "env.db"))
    assert run("match", str(footage[0]), "--add").exit_code == 0
    info = json.loads(run("index", "info", "--json").stdout)
    assert info["location"] == str(tmp_path / "env.db") and info["clips"] == 1
