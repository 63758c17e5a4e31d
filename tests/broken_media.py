"""Broken and odd media, made on the spot for the robustness tests.

Every maker writes one small file and returns its path. Nothing here is a
real clip: the pictures are seeded noise, the sizes are tiny, and each file is
damaged in one stated way, so a failing test names exactly what it met.
"""

from __future__ import annotations

import json
import os
import re
import resource
import struct
import sys
import time
import traceback
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np

from vidprov.errors import VidprovError
from vidprov.fingerprint import fingerprint
from vidprov.media import Sampling
from vidprov.metadata import read_metadata

#: What the huge-frame files claim to be, in pixels per side.
HUGE_SIDE = 16000


def noise(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def moving(count: int, width: int = 64, height: int = 48) -> Iterable[np.ndarray]:
    """``count`` frames of noise sliding sideways, so that every frame differs."""
    base = noise(width, height)
    return (np.roll(base, 3 * number, axis=1) for number in range(count))


def encode(path: Path, pictures: Iterable[np.ndarray], *, codec: str = "libx264", fps: int = 25,
           pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
           container_options: dict[str, str] | None = None) -> Path:
    """Encode RGB pictures at their own size (odd sizes too, for codecs that allow them)."""
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.pix_fmt = pix_fmt
        stream.options = options or {}
        for number, rgb in enumerate(pictures):
            if number == 0:
                stream.height, stream.width = rgb.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = number
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def mp4(path: Path, *, faststart: bool, seconds: int = 4) -> Path:
    """A 64x48 H.264 MP4 at 25 fps with a keyframe each second; moov first or last."""
    return encode(path, moving(25 * seconds), options={"g": "25"},
                  container_options={"movflags": "faststart"} if faststart else None)


def mpeg_ts(path: Path, seconds: int = 4) -> Path:
    return encode(path, moving(25 * seconds), options={"g": "25"})


def head(source: Path, target: Path, size: int) -> Path:
    """The first ``size`` bytes of ``source``."""
    with open(source, "rb") as handle:
        target.write_bytes(handle.read(size))
    return target


def truncated(source: Path, target: Path, share: float) -> Path:
    """``source`` cut off after ``share`` of its bytes."""
    return head(source, target, int(os.path.getsize(source) * share))


def ftyp_only(target: Path) -> Path:
    """An MP4 file type box and nothing after it."""
    body = b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    target.write_bytes(struct.pack(">I", 8 + len(body)) + b"ftyp" + body)
    return target


def random_bytes(target: Path, size: int = 64_000, seed: int = 7) -> Path:
    target.write_bytes(np.random.default_rng(seed).bytes(size))
    return target


def audio_only(target: Path, seconds: int = 2) -> Path:
    """An AAC tone in an MP4 container: a real media file with no picture."""
    rate = 48000
    with av.open(str(target), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = np.arange(rate * seconds)
        tone = (0.1 * np.sin(samples * 2 * np.pi * 330 / rate)).astype(np.float32)[None, :]
        for start in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return target


def tiny(target: Path, side: int) -> Path:
    """A ``side`` x ``side`` pixel clip of 10 frames.

    H.264 needs even sizes, so odd ones are lossless FFV1 in Matroska, with
    full-size chroma since a 3x3 picture has no whole half.
    """
    pictures = [noise(side, side, seed) for seed in range(10)]
    if side % 2 == 0:
        return encode(target, pictures)
    return encode(target, pictures, codec="ffv1", pix_fmt="yuv444p")


def single_frame(target: Path) -> Path:
    return encode(target, moving(1))


def still_hours(target: Path, hours: float = 10.0, side: int = 16) -> Path:
    """``hours`` of one still picture at 1 fps: every second is a frame, and the file stays small.

    One MPEG-4 Part 2 keyframe is encoded, then one P-frame that changes
    nothing; that same P-frame is muxed again for every second after it.
    Encoding 36,000 frames would take seconds; muxing the same 7 bytes does not.
    """
    count = int(hours * 3600)
    with av.open(str(target), "w") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(count + 1)}
        frame = av.VideoFrame.from_ndarray(noise(side, side), format="rgb24")
        packets = []
        for pts in (0, 1):
            frame.pts = pts
            packets += stream.encode(frame)
        packets += stream.encode()
        key, repeat = bytes(packets[0]), bytes(packets[1])
        for pts in range(count):
            packet = av.Packet(key if pts == 0 else repeat)
            packet.stream = stream
            packet.time_base = Fraction(1, 1)
            packet.pts = packet.dts = pts
            packet.is_keyframe = pts == 0
            container.mux(packet)
    return target


def huge_mjpeg(target: Path) -> Path:
    """A 64x48 Motion JPEG AVI whose every header claims :data:`HUGE_SIDE` x :data:`HUGE_SIDE`.

    The JPEG start-of-frame of each picture says so too, so the decoder itself
    is told to build a 256-megapixel picture from a few kilobytes.
    """
    encode(target, moving(10), codec="mjpeg", pix_fmt="yuvj420p")
    data = bytearray(target.read_bytes())
    side = struct.pack("<I", HUGE_SIDE)
    avih = data.index(b"avih") + 8  # dwWidth, dwHeight sit 32 bytes into the main header
    data[avih + 32:avih + 40] = side + side
    strf = data.index(b"strf") + 8  # BITMAPINFOHEADER: biWidth, biHeight after biSize
    data[strf + 4:strf + 12] = side + side
    at = data.find(b"\xff\xc0")
    while at >= 0:  # SOF0: length (2), precision (1), height (2), width (2)
        data[at + 5:at + 9] = struct.pack(">HH", HUGE_SIDE, HUGE_SIDE)
        at = data.find(b"\xff\xc0", at + 2)
    target.write_bytes(bytes(data))
    return target


def huge_h264(target: Path) -> Path:
    """A 64x48 H.264 MP4 whose track header and sample entry claim :data:`HUGE_SIDE` per side.

    The sequence parameter set inside still says 64x48: the container lies,
    the bitstream does not.
    """
    mp4(target, faststart=True, seconds=1)
    data = bytearray(target.read_bytes())
    tkhd = data.index(b"tkhd") + 4
    width_at = tkhd + (88 if data[tkhd] == 1 else 76)  # after times, ids, volume and the matrix
    data[width_at:width_at + 8] = struct.pack(">II", HUGE_SIDE << 16, HUGE_SIDE << 16)
    entry = data.index(b"stsd") + 12  # after version, flags and the entry count
    assert data[entry + 4:entry + 8] == b"avc1"
    data[entry + 32:entry + 36] = struct.pack(">HH", HUGE_SIDE, HUGE_SIDE)
    target.write_bytes(bytes(data))
    return target


def _exp_golomb(value: int) -> str:
    bits = bin(value + 1)[2:]
    return "0" * (len(bits) - 1) + bits


def _resize_sps(nal: bytes, width_mbs: int, height_mbs: int) -> bytes:
    """An H.264 sequence parameter set NAL unit with its picture size rewritten.

    Handles what libx264 writes for 8-bit 4:2:0: no scaling matrices and
    picture order count type 0 or 2.
    """
    rbsp = re.sub(b"\x00\x00\x03(?=[\x00-\x03])", b"\x00\x00", nal[1:])
    bits = "".join(f"{byte:08b}" for byte in rbsp)
    at = 24  # profile, constraint flags, level

    def skip_ue() -> int:
        nonlocal at
        zeros = bits.index("1", at) - at
        value = int(bits[at + zeros:at + 2 * zeros + 1], 2) - 1
        at += 2 * zeros + 1
        return value

    skip_ue()  # seq_parameter_set_id
    if rbsp[0] in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if skip_ue() == 3:  # chroma_format_idc
            at += 1
        skip_ue(), skip_ue()  # bit depths
        at += 1  # qpprime_y_zero_transform_bypass_flag
        assert bits[at] == "0", "scaling matrices are not handled"
        at += 1
    skip_ue()  # log2_max_frame_num_minus4
    order_type = skip_ue()
    assert order_type in (0, 2), "picture order count type 1 is not handled"
    if order_type == 0:
        skip_ue()
    skip_ue()  # max_num_ref_frames
    at += 1  # gaps_in_frame_num_value_allowed_flag
    size_at = at
    skip_ue(), skip_ue()
    rewritten = bits[:size_at] + _exp_golomb(width_mbs - 1) + _exp_golomb(height_mbs - 1) + bits[at:]
    rewritten = rewritten.rstrip("0")  # the stop bit is now the last 1
    rewritten += "0" * (-len(rewritten) % 8)
    payload = bytes(int(rewritten[i:i + 8], 2) for i in range(0, len(rewritten), 8))
    return nal[:1] + re.sub(b"\x00\x00(?=[\x00-\x03])", b"\x00\x00\x03", payload)


def huge_h264_stream(target: Path) -> Path:
    """A raw H.264 stream of ten 64x48 frames whose sequence parameter set claims :data:`HUGE_SIDE` per side.

    This is the claim decoders believe: FFmpeg would build 256-megapixel
    pictures and conceal the missing macroblocks, gigabytes for a few kilobytes.
    """
    encode(target, moving(10), options={"g": "25"})
    start = b"\x00\x00\x00\x01"
    units = target.read_bytes().split(start)
    side = HUGE_SIDE // 16
    units = [_resize_sps(unit, side, side) if unit and unit[0] & 0x1F == 7 else unit for unit in units]
    target.write_bytes(start.join(units))
    return target


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every broken or odd file of the corpus, by case name."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {"faststart": mp4(folder / "source_faststart.mp4", faststart=True),
               "moov-last": mp4(folder / "source_moov_last.mp4", faststart=False),
               "ts": mpeg_ts(folder / "source.ts")}
    cases: dict[str, Path] = {"empty": folder / "empty.mp4"}
    cases["empty"].write_bytes(b"")
    for kind, source in sources.items():
        for size in (64, 512):
            cases[f"first-{size}-bytes-{kind}"] = head(source, folder / f"first_{size}_{source.name}", size)
        for percent in (10, 50, 90):
            cases[f"{kind}-cut-at-{percent}%"] = truncated(source, folder / f"cut_{percent}_{source.name}",
                                                           percent / 100)
    cases["ftyp-alone"] = ftyp_only(folder / "ftyp_alone.mp4")
    cases["random-bytes"] = random_bytes(folder / "random.mp4")
    cases["audio-only"] = audio_only(folder / "audio_only.mp4")
    for side in (1, 2, 3):
        cases[f"{side}x{side}"] = tiny(folder / f"tiny_{side}x{side}.{'mp4' if side % 2 == 0 else 'mkv'}", side)
    cases["single-frame"] = single_frame(folder / "single_frame.mp4")
    cases["huge-in-mp4-boxes"] = huge_h264(folder / "huge_claim.mp4")
    cases["huge-in-jpeg-headers"] = huge_mjpeg(folder / "huge_claim.avi")
    cases["huge-in-h264-sps"] = huge_h264_stream(folder / "huge_claim.h264")
    cases["10-hour-still"] = still_hours(folder / "ten_hours.mp4")
    cases["symlink-loop"] = folder / "loop_a.mp4"
    os.symlink("loop_b.mp4", folder / "loop_a.mp4")
    os.symlink("loop_a.mp4", folder / "loop_b.mp4")
    cases["dangling-symlink"] = folder / "dangling.mp4"
    os.symlink("gone.mp4", folder / "dangling.mp4")
    return cases


# --- the child process ------------------------------------------------------------------------------

#: Calls the child process knows. The two ``-midway`` calls fingerprint every
#: frame and, once the first frames are hashed, truncate or delete the file.
CALLS = ("fingerprint", "keyframes", "meta", "truncate-midway", "unlink-midway")


def call(kind: str, path: str) -> dict[str, object]:
    """Make one library call on ``path``; describe how it ended as plain data."""

    touched = False

    def midway(seconds: float, total: float | None) -> None:
        nonlocal touched
        if not touched:
            touched = True
            if kind == "truncate-midway":
                os.truncate(path, os.path.getsize(path) * 2 // 5)
            else:
                os.unlink(path)

    outcome: dict[str, object] = {"call": kind, "path": path, "error": None}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "meta":
                meta = read_metadata(path)
                outcome["problems"] = [problem.code for problem in meta.problems]
                outcome["streams"] = [[stream.kind, stream.width.value if stream.width else None]
                                      for stream in meta.streams]
            else:
                sampling = Sampling.keyframes() if kind == "keyframes" else None
                if kind.endswith("-midway"):
                    fp = fingerprint(path, sampling=Sampling.all(), crop=False, progress=midway)
                else:
                    fp = fingerprint(path, sampling=sampling)
                outcome.update(frames=len(fp.frames), width=fp.width, height=fp.height, duration=fp.duration,
                               sha256=fp.sha256, last_time=fp.frames[-1].t if fp.frames else None)
        except VidprovError as error:
            outcome.update(error=type(error).__name__, message=str(error))
        except Exception as error:  # what the tests are here to catch
            outcome.update(error=type(error).__name__, message=str(error), escaped=traceback.format_exc())
    outcome["warnings"] = [str(warning.message) for warning in caught
                           if issubclass(warning.category, UserWarning)]
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    return outcome


def main(arguments: list[str]) -> None:
    """``broken_media.py CALL PATH [CALL PATH ...]``: one JSON line per call, then the peak memory."""
    for kind, path in zip(arguments[::2], arguments[1::2]):
        if kind not in CALLS:
            raise SystemExit(f"unknown call {kind!r}; expected one of {', '.join(CALLS)}")
        print(json.dumps(call(kind, path)), flush=True)
    print(json.dumps({"peak_mb": peak_memory_kib() // 1024}), flush=True)


def peak_memory_kib() -> int:
    """This process's peak resident memory since it started its program.

    Linux carries ``ru_maxrss`` over from the parent through fork and exec,
    so a child of a large test run would report the run's size; the
    high-water mark in ``/proc`` belongs to this program alone.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


if __name__ == "__main__":
    main(sys.argv[1:])
