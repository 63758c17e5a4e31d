"""Broken media: every case ends in one clear error or a warning, soon, never a hang or a traceback.

The corpus is made on the spot by ``broken_media.py``: files cut short at the
header and mid-stream in three layouts, random bytes, audio only, pictures of
1 to 3 pixels, headers claiming 16000x16000, a single frame, ten hours of one
still picture, symbolic link loops, and files that change while they are read.

The library calls run in a child process with a timeout, so that a hang fails
a test instead of stalling the run, and the child reports its peak memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import broken_media
from vidprov.cli import hash_cmd, main

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(broken_media.__file__).resolve()

#: Seconds a child may run: generous for a 2-core machine, short enough to end a hang.
CHILD_TIMEOUT = 90
#: Seconds any one call may take (the ten-hour clip sampled twice a second has its own bound).
CALL_SECONDS = 10
#: Peak resident memory of a child, after every call it made. Importing the
#: stack costs about 70 MB; one decoded 16000x16000 picture alone is 384 MB.
PEAK_MB = 300


@dataclass(frozen=True)
class Outcome:
    """How a call must end: ``kind`` is ``error``, ``warning`` or ``clean``."""

    kind: str
    text: str = ""
    error: str = ""
    problems: tuple[str, ...] = ()


def error(kind: str, text: str) -> Outcome:
    return Outcome("error", text, kind)


def warning(text: str) -> Outcome:
    return Outcome("warning", text)


def clean(*problems: str) -> Outcome:
    """No error and no warning; metadata reads list ``problems`` (codes) instead."""
    return Outcome("clean", problems=problems)


TRUNCATED = "the file is truncated ("
REDOWNLOAD = "re-download or re-copy it and try again"
#: Both fingerprinting calls (default sampling and keyframes) and the metadata read, per case.
EXPECTED: dict[str, tuple[Outcome, Outcome]] = {
    "empty": (error("EmptyFileError", "file is empty (0 bytes)"),) * 2,
    "first-64-bytes-faststart": (error("NotMediaError", TRUNCATED + "it stops 1"),) * 2,
    "first-512-bytes-faststart": (error("NotMediaError", TRUNCATED + "it stops 1"),) * 2,
    "first-64-bytes-moov-last": (error("NotMediaError", TRUNCATED + "it stops 3"),) * 2,
    "first-512-bytes-moov-last": (error("NotMediaError", TRUNCATED + "it stops 3"),) * 2,
    # 64 bytes do not hold two transport packets, so nothing says what it was meant to be.
    "first-64-bytes-ts": (error("NotMediaError", "not a video file FFmpeg can read"),
                          error("NotMediaError", "not a video or image file vidprov can read")),
    "first-512-bytes-ts": (error("NotMediaError", TRUNCATED + "it ends 136 bytes into a 188-byte transport"),) * 2,
    "ftyp-alone": (error("NotMediaError", TRUNCATED + "it has no 'moov' box"),) * 2,
    "random-bytes": (error("NotMediaError", "not a video file FFmpeg can read"),
                     error("NotMediaError", "not a video or image file vidprov can read")),
    # The index is whole but the first keyframe is not.
    "faststart-cut-at-10%": (error("DecodeError", "no video frame could be decoded: " + TRUNCATED),
                             clean("truncated")),
    "faststart-cut-at-50%": (warning("of the 4.0 s the container states; " + TRUNCATED), clean("truncated")),
    "faststart-cut-at-90%": (warning(TRUNCATED + "it stops"), clean("truncated")),
    # The index comes last, so any cut loses it.
    "moov-last-cut-at-10%": (error("NotMediaError", TRUNCATED + "it stops"),) * 2,
    "moov-last-cut-at-50%": (error("NotMediaError", TRUNCATED + "it stops"),) * 2,
    "moov-last-cut-at-90%": (error("NotMediaError", TRUNCATED + "it stops"),) * 2,
    # A transport stream states no duration: the partial last packet gives the cut away.
    "ts-cut-at-10%": (warning(TRUNCATED + "it ends 56 bytes into a 188-byte"), clean("truncated")),
    "ts-cut-at-50%": (warning(TRUNCATED + "it ends 94 bytes into a 188-byte"), clean("truncated")),
    "ts-cut-at-90%": (warning(TRUNCATED + "it ends 131 bytes into a 188-byte"), clean("truncated")),
    "audio-only": (error("NoVideoStreamError", "has no video stream (audio)"), clean()),
    "1x1": (clean(), clean()),
    "2x2": (clean(), clean()),
    "3x3": (clean(), clean()),
    "single-frame": (clean(), clean()),
    # The container lies, the H.264 parameter set inside says 64x48 and wins.
    "huge-in-mp4-boxes": (clean(), clean()),
    # FFmpeg's JPEG decoder refuses the picture while probing, so the read reports no size.
    "huge-in-jpeg-headers": (error("DecodeError", "no video frame could be decoded"), clean()),
    "huge-in-h264-sps": (error("DecodeError", "claims frames of 16000x16000 pixels, more than the 67 megapixels"),
                         clean("implausible_size")),
    "symlink-loop": (error("FileAccessError", "is a symbolic link that leads back to itself (a loop)"),) * 2,
    "dangling-symlink": (error("FileAccessError", "is a symbolic link to a missing file (gone.mp4)"),) * 2,
}

#: Picture size each clean case must report, in fingerprints and metadata alike.
SIZES = {"1x1": (1, 1), "2x2": (2, 2), "3x3": (3, 3), "single-frame": (64, 48), "huge-in-mp4-boxes": (64, 48)}


def run_child(*calls: tuple[str, Path]) -> tuple[list[dict[str, Any]], int]:
    """Run ``broken_media.py`` on ``(call, path)`` pairs; its outcomes and peak memory in MB.

    A call that hangs or kills the child fails the test, naming the call.
    """
    arguments = [str(item) for pair in calls for item in pair]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    try:
        done = subprocess.run([sys.executable, str(HELPER), *arguments], capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT, cwd=REPO, env=env)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout or ""
        pytest.fail(f"{calls[len(output.splitlines())]} did not end within {CHILD_TIMEOUT} s")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    if done.returncode != 0:
        pytest.fail(f"{calls[len(lines)]} killed the child (exit {done.returncode}): {done.stderr[-2000:]}")
    return lines[:-1], lines[-1]["peak_mb"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return broken_media.make_corpus(tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module")
def outcomes(corpus: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every case of :data:`EXPECTED` through all three calls, in one child process."""
    calls = [(call, corpus[case]) for case in EXPECTED for call in ("fingerprint", "keyframes", "meta")]
    results, peak = run_child(*calls)
    assert peak < PEAK_MB, f"the child peaked at {peak} MB"
    names = {str(path): case for case, path in corpus.items()}
    return {(names[result["path"]], result["call"]): result for result in results}


def check(result: dict[str, Any], expected: Outcome) -> None:
    path = result["path"]
    assert "escaped" not in result, result["escaped"]
    assert result["seconds"] < CALL_SECONDS
    if expected.kind == "error":
        assert (result["error"], result["warnings"]) == (expected.error, [])
        message = result["message"]
        assert message.startswith(f"{path}: ") and expected.text in message and "\n" not in message
        if TRUNCATED in expected.text and "symbolic" not in expected.text:
            assert message.endswith(REDOWNLOAD)
        return
    assert result["error"] is None, result["message"]
    assert result.get("problems", []) == list(expected.problems)
    if expected.kind == "warning":
        assert len(result["warnings"]) == 1
        assert result["warnings"][0].startswith(f"{path}: decoded only up to ")
        assert expected.text in result["warnings"][0]
    else:
        assert result["warnings"] == []


@pytest.mark.parametrize("case", sorted(EXPECTED))
@pytest.mark.parametrize("call", ["fingerprint", "keyframes", "meta"])
def test_each_case_ends_in_a_clear_error_or_a_warning(outcomes: dict[tuple[str, str], dict[str, Any]],
                                                      case: str, call: str) -> None:
    expected = EXPECTED[case][1 if call == "meta" else 0]
    result = outcomes[case, call]
    check(result, expected)
    if case in SIZES and call == "meta":
        assert result["streams"] == [["video", SIZES[case][0]]]
    elif case in SIZES:
        assert (result["width"], result["height"]) == SIZES[case]
        assert result["frames"] >= 1


def test_what_is_left_of_a_cut_clip_is_hashed(outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    half, most = outcomes["faststart-cut-at-50%", "fingerprint"], outcomes["faststart-cut-at-90%", "fingerprint"]
    assert 0 < half["frames"] < most["frames"] < 8  # 4 s at 2 frames a second
    assert half["duration"] == most["duration"] == 4.0  # as the index states


def test_a_single_frame_is_one_hash(outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert outcomes["single-frame", "fingerprint"]["frames"] == outcomes["single-frame", "keyframes"]["frames"] == 1


def test_huge_claims_are_refused_before_any_picture_is_built(corpus: dict[str, Path]) -> None:
    """Alone in a child, so that its peak memory is theirs: no call allocates the 384 MB picture."""
    calls = [(call, corpus[case]) for case in ("huge-in-jpeg-headers", "huge-in-h264-sps", "huge-in-mp4-boxes")
             for call in ("fingerprint", "meta")]
    results, peak = run_child(*calls)
    assert peak < 200, f"the child peaked at {peak} MB"
    assert all(result["seconds"] < 2 for result in results), results


def test_ten_hours_of_a_still_picture(corpus: dict[str, Path]) -> None:
    """36,000 frames at 1 fps in a 400 KB file.

    Keyframes sampling hashes its one keyframe and, seeing packets up to the
    end, does not take the long gap for truncation. The default sampling (one
    frame each 0.5 s) decodes and hashes all 36,000 frames; that takes a few
    seconds, so it stays in the run, with its own bound.
    """
    path = corpus["10-hour-still"]
    assert path.stat().st_size < 1_000_000
    (keyframes, meta, every), _ = run_child(("keyframes", path), ("meta", path), ("fingerprint", path))
    check(keyframes, clean())
    check(meta, clean())
    assert (keyframes["frames"], keyframes["duration"]) == (1, 36000.0)
    assert "escaped" not in every and every["error"] is None and every["warnings"] == []
    assert (every["frames"], every["duration"], every["last_time"]) == (36000, 36000.0, 35999.0)
    assert every["seconds"] < 60


def cli_child(command: str, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from vidprov.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, command, "--json", *map(str, paths)], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


@pytest.mark.parametrize("command", ["hash", "meta"])
def test_one_command_line_run_over_the_whole_corpus(corpus: dict[str, Path], command: str) -> None:
    """One line per bad file, `vidprov: error: <path>: <what is wrong>`, after the good ones; exit 1."""
    paths = [corpus[case] for case in EXPECTED]
    done = cli_child(command, paths)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("vidprov: error: ")]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("vidprov: warning: ")]
    assert len(errors) + len(warnings) == len(done.stderr.splitlines())
    printed = [json.loads(line)["path"] for line in done.stdout.splitlines()]
    for case, path in zip(EXPECTED, paths):
        expected = EXPECTED[case][1 if command == "meta" else 0]
        mine = [line for line in errors if line.startswith(f"vidprov: error: {path}: ")]
        if expected.kind == "error":
            assert len(mine) == 1 and expected.text in mine[0], (case, mine)
            assert str(path) not in printed
        else:
            assert mine == [] and str(path) in printed, case
        if expected.kind == "warning" and command == "hash":
            assert [line for line in warnings if line.startswith(f"vidprov: warning: {path}: ")], case


def test_a_file_deleted_mid_batch_is_reported_at_the_end(corpus: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, third = (shutil.copy(corpus["single-frame"], tmp_path / name) for name in "abc")
    real = hash_cmd.fingerprint

    def then_delete_the_second(path: str, **options: Any) -> Any:
        made = real(path, **options)
        if path == str(first):
            os.unlink(second)
        return made

    monkeypatch.setattr(hash_cmd, "fingerprint", then_delete_the_second)
    result = CliRunner().invoke(main, ["hash", "--json", str(first), str(second), str(third)])
    assert result.exit_code == 1
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [str(first), str(third)]
    assert result.stderr.splitlines() == [f"vidprov: error: {second}: no such file"]


def test_a_file_deleted_while_decoded_is_hashed_whole(corpus: dict[str, Path], tmp_path: Path) -> None:
    """An open file stays readable after it is unlinked: the sha256 is of the bytes that were decoded."""
    path = Path(shutil.copy(corpus["faststart-cut-at-90%"].with_name("source_faststart.mp4"), tmp_path / "v.mp4"))
    original = hashlib.sha256(path.read_bytes()).hexdigest()
    (result,), _ = run_child(("unlink-midway", path))
    assert not path.exists()
    check(result, clean())
    assert (result["frames"], result["sha256"]) == (100, original)


def test_a_file_truncated_while_decoded_fails(corpus: dict[str, Path], tmp_path: Path) -> None:
    """Hashes of the whole clip and a sha256 of what is left would describe two files: refuse."""
    path = Path(shutil.copy(corpus["faststart-cut-at-90%"].with_name("source_faststart.mp4"), tmp_path / "v.mp4"))
    size = path.stat().st_size
    (result,), _ = run_child(("truncate-midway", path))
    assert result["error"] == "FileAccessError" and "escaped" not in result
    # Decoding met the cut before the end: the file did shrink under the decoder.
    (shortfall,) = result["warnings"]
    assert shortfall.startswith(f"{path}: decoded only up to ") and TRUNCATED in shortfall
    assert result["message"] == (f"{path}: changed while it was being read ({size} bytes when opened, "
                                 f"{size * 2 // 5} when done): wait until nothing is writing to it (a download, "
                                 "a copy, a recorder) and try again")
    assert result["seconds"] < CALL_SECONDS
