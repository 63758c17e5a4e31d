"""Bad input: each case is one clear error (or a warning), never a traceback or a hang."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from vidprov import samples
from vidprov.cli import main
from vidprov.errors import (
    DecodeError,
    EmptyFileError,
    FileAccessError,
    MediaError,
    NoVideoStreamError,
    NotMediaError,
    VidprovWarning,
)
from vidprov.fingerprint import fingerprint


def write_audio_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        tone = (0.2 * np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100)).astype(np.float32)
        for start in range(0, 44100, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024].copy(), format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, footage: tuple[Path, samples.ClipSpec]) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "missing": folder / "missing.mp4",
        "directory": folder / "a_directory.mp4",
        "empty": folder / "empty.mp4",
        "text": folder / "notes.mp4",
        "random": folder / "random.mp4",
        "audio": folder / "audio.m4a",
    }
    files["directory"].mkdir()
    files["empty"].write_bytes(b"")
    files["text"].write_text("This is not a video, it is a note about one.\n" * 20)
    files["random"].write_bytes(np.random.default_rng(0).bytes(50_000))
    write_audio_only(files["audio"])
    return files


EXPECTED = {
    "missing": (FileAccessError, "no such file"),
    "directory": (FileAccessError, "is a directory"),
    "empty": (EmptyFileError, "empty"),
    "text": (NotMediaError, "not a video file"),
    "random": (NotMediaError, "not a video file"),
    "audio": (NoVideoStreamError, "no video stream"),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_library_raises_a_named_error(bad_files: dict[str, Path], case: str) -> None:
    error_type, text = EXPECTED[case]
    with pytest.raises(error_type, match=text) as caught:
        fingerprint(bad_files[case])
    assert caught.value.path == str(bad_files[case])
    assert str(caught.value).startswith(f"{bad_files[case]}: ")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_cli_prints_one_line_and_fails(bad_files: dict[str, Path], case: str) -> None:
    result = CliRunner().invoke(main, ["hash", str(bad_files[case])])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"vidprov: error: {bad_files[case]}: ")
    assert EXPECTED[case][1] in lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""


def test_batch_goes_on_past_bad_files(bad_files: dict[str, Path], footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    result = CliRunner().invoke(main, ["hash", "--json", str(bad_files["text"]), str(path), str(bad_files["missing"])])
    assert result.exit_code == 1
    assert len(result.stdout.strip().splitlines()) == 1  # the good clip was hashed
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert str(bad_files["text"]) in errors[0] and str(bad_files["missing"]) in errors[1]


def truncate(source: Path, target: Path, share: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * share)])
    return target


def test_truncated_clip_is_hashed_as_far_as_it_decodes(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = footage
    cut = truncate(path, tmp_path / "cut.mp4", 0.5)
    with pytest.warns(VidprovWarning, match="truncated") as caught:
        fp = fingerprint(cut)
    assert str(cut) in str(caught[0].message)
    assert 0 < fp.frames[-1].t < spec.duration - 2
    whole = fingerprint(path)
    assert [f.hash for f in fp.frames] == [f.hash for f in whole.frames[: len(fp.frames)]]


def test_truncated_clip_warns_on_the_command_line(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    cut = truncate(path, tmp_path / "cut.mp4", 0.5)
    result = CliRunner().invoke(main, ["hash", "--json", str(cut)])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"vidprov: warning: {cut}: decoded only up to")
    assert len(result.stderr.strip().splitlines()) == 1


def test_clip_truncated_before_any_frame_fails(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    data = path.read_bytes()
    moov_end = data.index(b"mdat") + 64  # header and index, but no picture data
    cut = tmp_path / "header_only.mp4"
    cut.write_bytes(data[:moov_end])
    with pytest.raises(MediaError) as caught:
        fingerprint(cut)
    assert isinstance(caught.value, (DecodeError, NotMediaError))
    assert str(cut) in str(caught.value)


def test_unreadable_file(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.mp4"
    path.write_bytes(footage[0].read_bytes())
    path.chmod(0)
    with pytest.raises(FileAccessError, match="permission denied"):
        fingerprint(path)


def test_truncation_is_noticed_in_keyframes_mode(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    from vidprov.media import Sampling

    cut = truncate(path, tmp_path / "cut.mp4", 0.5)
    with pytest.warns(VidprovWarning, match="truncated"):
        fingerprint(cut, sampling=Sampling.keyframes())


def test_sparse_keyframes_are_not_taken_for_truncation(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    """One keyframe at the start of a 9-second clip is a long GOP, not a damaged file."""
    import warnings

    from vidprov.media import Sampling

    path, spec = footage
    long_gop = tmp_path / "long_gop.mp4"
    samples.write_clip(long_gop, spec, options={"g": "1000", "sc_threshold": "0"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", VidprovWarning)
        fp = fingerprint(long_gop, sampling=Sampling.keyframes())
    assert len(fp.frames) == 1
