"""Embedded metadata: every normalised value checked against files written with known tags.

The files are made here, a few frames each: PyAV's muxers write the tags
(``movflags=use_metadata_tags`` for Apple and Android keys), a few boxes are
written byte by byte where no muxer writes them (``©xyz``, ``loci``), and
Pillow writes the EXIF.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from vidprov.cli import main
from vidprov.errors import EmptyFileError, FileAccessError, NotMediaError, ValidationError, VidprovError
from vidprov.metadata import (
    MediaMetadata,
    credentials,
    parse_iso6709,
    parse_offset,
    parse_time,
    printable,
    read_metadata,
    render_raw,
    render_text,
)
from vidprov.metadata.dates import implausibility

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")

ESC = "\x1b"


# --- writing test media -------------------------------------------------------------------------


def write_clip(path: Path, *, fmt: str | None = None, container_tags: dict[str, str] | None = None,
               stream_tags: dict[str, str] | None = None, options: dict[str, str] | None = None,
               rotation: float | None = None, audio: bool = False, codec: str = "mpeg4") -> Path:
    """Three frames of noise at 64x48 (and a little sine tone), carrying the given tags."""
    with av.open(str(path), "w", format=fmt, options=options or {}) as container:
        video = container.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        if rotation is not None:
            video.set_display_rotation(rotation)
        for key, value in (stream_tags or {}).items():
            video.metadata[key] = value
        for key, value in (container_tags or {}).items():
            container.metadata[key] = value
        sound = container.add_stream("aac", rate=8000, layout="mono") if audio else None
        rng = np.random.default_rng(7)
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            tone = (0.2 * np.sin(np.arange(4096) * 2 * np.pi * 440 / 8000)).astype(np.float32)
            for start in range(0, 4096, 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024].copy(), format="fltp",
                                                   layout="mono")
                frame.sample_rate, frame.pts = 8000, start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


def add_user_data(path: Path, *atoms: bytes) -> Path:
    """Append a ``udta`` box holding ``atoms`` to the ``moov``, which FFmpeg writes last."""
    data = bytearray(path.read_bytes())
    offset, moov = 0, None
    while offset < len(data):
        size, box_type = struct.unpack_from(">I4s", data, offset)
        if box_type == b"moov":
            moov = offset
        offset += size
    assert moov is not None and moov + struct.unpack_from(">I", data, moov)[0] == len(data)
    udta = box(b"udta", b"".join(atoms))
    data += udta
    struct.pack_into(">I", data, moov, struct.unpack_from(">I", data, moov)[0] + len(udta))
    path.write_bytes(bytes(data))
    return path


def quicktime_text(atom: bytes, text: str) -> bytes:
    encoded = text.encode()
    return box(atom, struct.pack(">HH", len(encoded), 0x15C7) + encoded)


def loci(latitude: float, longitude: float, altitude: float, place: str) -> bytes:
    def fixed(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    return box(b"loci", b"\0\0\0\0" + struct.pack(">H", 0x15C7) + place.encode() + b"\0\0"
               + fixed(longitude) + fixed(latitude) + fixed(altitude) + b"earth\0\0")


def remux(source: Path, target: Path) -> Path:
    """Stream copy, as a re-upload pipeline does: packets kept, container tags not carried over."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return target


def exif_jpeg(path: Path, fmt: str = "JPEG", **save: Any) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R5"
    exif[0x0131] = "Adobe Photoshop 25.0"
    exif[0x0112] = 6
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2021:03:04 05:06:07"
    exif_ifd[0x9011] = "+01:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (48.0, 51.0, 27.72), 3: "W", 4: (2.0, 17.0, 42.0), 5: 1, 6: 35.5,
                29: "2021:03:04", 7: (4.0, 6.0, 7.0)})
    pixels = np.random.default_rng(3).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, fmt, exif=exif, **save)
    return path


APPLE_TAGS = {
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 12 Pro",
    "com.apple.quicktime.software": "17.1",
    "com.apple.quicktime.creationdate": "2021-03-04T05:06:07+0100",
    "com.apple.quicktime.location.ISO6709": "+48.8577+002.2950+035.000/",
    "creation_time": "2021-03-04T04:06:07Z",
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("meta")
    iphone = write_clip(folder / "iphone.mov", fmt="mov", options={"movflags": "use_metadata_tags"},
                        container_tags=APPLE_TAGS, stream_tags={"handler_name": "Core Media Video"},
                        rotation=-90, audio=True)
    return {
        "iphone": iphone,
        "android": write_clip(folder / "android.mp4", fmt="mp4", options={"movflags": "use_metadata_tags"},
                              container_tags={"com.android.version": "13", "com.android.manufacturer": "Google",
                                              "com.android.model": "Pixel 7"},
                              stream_tags={"handler_name": "VideoHandle"}),
        "xyz": add_user_data(write_clip(folder / "xyz.mp4", fmt="mp4"),
                             quicktime_text(b"\xa9xyz", "+4851.462+00217.700+035/")),
        "loci": add_user_data(write_clip(folder / "loci.3gp", fmt="3gp"), loci(-33.8568, 151.2153, 12.5, "Sydney")),
        "matroska": write_clip(folder / "clip.mkv", fmt="matroska", container_tags={
            "creation_time": "2021-03-04T10:00:00Z", "DATE_RECORDED": "2021-03-04T05:06:07-05:00",
            "RECORDING_LOCATION": "+40.6892-074.0445/"}),
        "webm": write_clip(folder / "clip.webm", fmt="webm", codec="libvpx"),
        "avi": write_clip(folder / "clip.avi", fmt="avi", container_tags={"date": "2021-03-04"}),
        "ts": write_clip(folder / "clip.ts", fmt="mpegts"),
        "tiktok": write_clip(folder / "tiktok.mp4", fmt="mp4",
                             container_tags={"comment": "vid:v09044g40000abcdef"}),
        "remuxed": remux(iphone, folder / "remuxed.mp4"),
        "jpeg": exif_jpeg(folder / "photo.jpg"),
    }


# --- ISO 6709 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("+48.8577+002.2950/", (48.8577, 2.2950, None, None)),
    ("+48.8577+002.2950+035.000/", (48.8577, 2.2950, 35.0, None)),
    ("-33.8568+151.2153", (-33.8568, 151.2153, None, None)),
    ("+4851.462+00217.700/", (48 + 51.462 / 60, 2 + 17.7 / 60, None, None)),
    ("+485127.72-0021742.0-12.5/", (48 + 51 / 60 + 27.72 / 3600, -(2 + 17 / 60 + 42 / 3600), -12.5, None)),
    ("+40-075/", (40.0, -75.0, None, None)),
    ("+27.5916+086.5640+8850CRSWGS_84/", (27.5916, 86.564, 8850.0, "WGS_84")),
    ("+90+180/", (90.0, 180.0, None, None)),
    ("  -90.0000-180.0000/  ", (-90.0, -180.0, None, None)),
])
def test_iso6709_forms(text: str, expected: tuple[float, float, float | None, str | None]) -> None:
    point = parse_iso6709(text)
    assert point.latitude == pytest.approx(expected[0], abs=1e-9)
    assert point.longitude == pytest.approx(expected[1], abs=1e-9)
    assert point.altitude == expected[2]
    assert point.crs == expected[3]


def test_iso6709_keeps_the_place_ffmpeg_appends_from_loci() -> None:
    assert parse_iso6709("+48.8584+002.2945+35.500000/Paris").place == "Paris"


@pytest.mark.parametrize("text", [
    "+91.0000+002.0000/",  # latitude out of range
    "+45.0000+181.0000/",  # longitude out of range
    "+4861.000+00217.700/",  # 61 minutes
    "+485160+0021742/",  # 60 seconds
    "+123.45+002.0/",  # three latitude digits
    "+48.85+02.29/",  # two longitude digits
    "48.8577 2.2950",
    "",
    "+48.8577+002.2950+inf/",
    "+48.8577+002.2950+" + "9" * 400 + "/",
    "+" + "1" * 5000,
])
def test_iso6709_rejects_with_a_validation_error(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_iso6709(text)


def _format_point(latitude: float, longitude: float, form: int) -> str:
    def part(value: float, width: int) -> str:
        sign = "-" if value < 0 else "+"
        if form == 0:
            return f"{sign}{abs(value):0{width + 7}.6f}"
        # whole micro-units of the last field, so rounding cannot produce "60"
        units = round(abs(value) * (60 if form == 1 else 3600) * 1_000_000)
        if form == 1:
            degrees, micro_minutes = divmod(units, 60_000_000)
            return f"{sign}{degrees:0{width}d}{micro_minutes / 1e6:09.6f}"
        degrees, rest = divmod(units, 3_600_000_000)
        minutes, micro_seconds = divmod(rest, 60_000_000)
        return f"{sign}{degrees:0{width}d}{minutes:02d}{micro_seconds / 1e6:09.6f}"

    return part(latitude, 2) + part(longitude, 3) + "/"


@settings(max_examples=200, deadline=None)
@given(st.floats(-89.99, 89.99), st.floats(-179.99, 179.99), st.sampled_from([0, 1, 2]))
def test_iso6709_reads_back_every_form(latitude: float, longitude: float, form: int) -> None:
    text = _format_point(latitude, longitude, form)
    point = parse_iso6709(text)
    assert point.latitude == pytest.approx(latitude, abs=1e-5)
    assert point.longitude == pytest.approx(longitude, abs=1e-5)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(r"[+-]\d{1,8}(\.\d{0,6})?[+-]\d{1,9}(\.\d{0,6})?([+-]\d{1,5})?/?",
                                                          fullmatch=True)))
def test_iso6709_never_raises_anything_else_and_round_trips(text: str) -> None:
    try:
        point = parse_iso6709(text)
    except VidprovError:
        return
    assert -90 <= point.latitude <= 90 and -180 <= point.longitude <= 180
    again = parse_iso6709(point.to_iso6709())
    assert again.latitude == pytest.approx(point.latitude, abs=1e-6)
    assert again.longitude == pytest.approx(point.longitude, abs=1e-6)
    assert again.altitude == pytest.approx(point.altitude, abs=1e-3) if point.altitude is not None else True


# --- dates ------------------------------------------------------------------------------------------


def test_dates_keep_the_zone_only_when_stated() -> None:
    apple = parse_time("2021-03-04T05:06:07+0100")
    assert apple.zone_known and apple.value == datetime(2021, 3, 4, 4, 6, 7, tzinfo=timezone.utc)
    quicktime = parse_time("2021-03-04T04:06:07.000000Z", z_is_utc=False)
    assert not quicktime.zone_known and quicktime.value == datetime(2021, 3, 4, 4, 6, 7)
    assert parse_time("2021-03-04T04:06:07Z").value.tzinfo == timezone.utc
    exif = parse_time("2021:03:04 05:06:07", offset="-05:30")
    assert exif.value.utcoffset() == -timedelta(hours=5, minutes=30)
    assert not parse_time("2021:03:04 05:06:07").zone_known
    assert parse_time("2021").precision == "year" and parse_time("2021-03").precision == "month"
    assert parse_time("2021-03-04").precision == "day"
    assert parse_time("Mon Mar 10 15:04:43 2003").value == datetime(2003, 3, 10, 15, 4, 43)
    assert parse_time("2019-05-06T07:08:09.123456789+02:00").value.microsecond == 123456
    rfc = parse_time("Thu, 04 Mar 2021 05:06:07 +0100")
    assert rfc.zone_known and rfc.value.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("text", ["0000:00:00 00:00:00", "2021-13-01", "2021-02-30T00:00:00",
                                  "yesterday", "", "2021-03-04T25:00:00", "x" * 1000])
def test_dates_that_are_not_dates_raise_validation_errors(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_time(text)


def test_offsets_beyond_real_zones_are_refused() -> None:
    assert parse_offset("+14:00").utcoffset(None) == timedelta(hours=14)
    for text in ("+15:00", "+01:75", "01:00", "CET"):
        with pytest.raises(ValidationError):
            parse_offset(text)


def test_placeholder_years_are_flagged() -> None:
    assert implausibility(parse_time("9999:12:31 23:59:59")) is not None
    assert implausibility(parse_time("1904-01-01T00:00:00Z")) is not None
    assert implausibility(parse_time("2021-03-04")) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_date_parser_raises_nothing_but_validation_errors(text: str) -> None:
    try:
        parsed = parse_time(text)
    except VidprovError:
        return
    assert 1 <= parsed.value.year <= 9999
    assert parsed.zone_known == (parsed.value.tzinfo is not None)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30)),
       st.integers(-12 * 60, 14 * 60))
def test_date_parser_round_trips_iso_times(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_time(aware.isoformat()).value == aware
    assert parse_time(moment.isoformat(), z_is_utc=False).value == moment


# --- videos -----------------------------------------------------------------------------------------


def test_iphone_style_mov_every_field(media: dict[str, Path]) -> None:
    path = media["iphone"]
    meta = read_metadata(path)
    assert meta.kind == "video"
    fmt = meta.format
    assert fmt.container.value == "mov" and fmt.container.raw == "mov,mp4,m4a,3gp,3g2,mj2"
    assert fmt.major_brand is not None and fmt.major_brand.value == "qt  "
    assert fmt.compatible_brands is not None and fmt.compatible_brands.value == ("qt  ",)
    assert fmt.size.value == path.stat().st_size
    assert fmt.sha256.value == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fmt.duration is not None and 0.1 <= fmt.duration.value <= 0.6

    video, audio = meta.streams
    assert (video.kind, video.codec.value, video.width.value, video.height.value) == ("video", "mpeg4", 64, 48)
    assert video.profile is not None and video.profile.value == "Simple Profile"
    assert video.frame_rate is not None and video.frame_rate.value == 25.0 and video.frame_rate.raw == "25/1"
    # exiftool reads the matrix PyAV writes for -90 as "Rotation: 90", clockwise
    assert video.rotation is not None and video.rotation.value == 90
    assert video.rotation.source == "bmff:moov/trak[0]/tkhd matrix"
    assert video.bit_rate is not None and video.bit_rate.value > 0
    assert (audio.kind, audio.codec.value, audio.channels.value, audio.sample_rate.value) == ("audio", "aac", 1, 8000)

    times = {stamp.source: stamp for stamp in meta.times}
    recorded = times["format:com.apple.quicktime.creationdate"]
    assert recorded.meaning == "recorded" and recorded.zone_known
    assert recorded.value == datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1)))
    assert recorded.raw == "2021-03-04T05:06:07+0100"
    created = times["format:creation_time"]
    assert created.meaning == "created" and not created.zone_known
    assert created.value == datetime(2021, 3, 4, 4, 6, 7) and created.raw == "2021-03-04T04:06:07Z"
    assert "no time zone" in (created.note or "")
    track = times["stream 0:creation_time"]
    assert track.scope == "stream 0" and not track.zone_known

    location, = [item for item in meta.locations if "ISO6709" in item.source]
    assert (location.latitude, location.longitude, location.altitude) == (48.8577, 2.295, 35.0)
    assert location.raw == APPLE_TAGS["com.apple.quicktime.location.ISO6709"]

    assert [item.value for item in meta.device.make] == ["Apple"]
    assert [item.value for item in meta.device.model] == ["iPhone 12 Pro"]
    assert [(item.value, item.source) for item in meta.device.software] == [
        ("17.1", "format:com.apple.quicktime.software")]
    hints = {hint.name: hint for hint in meta.hints}
    core_media = hints["Apple iOS, iPadOS or macOS (Core Media)"]
    assert core_media.confidence == "likely" and core_media.raw == "Core Media Video"
    assert core_media.source == "stream 0:handler_name"
    assert hints["Apple iOS or iPadOS 17.1"].confidence == "possible"
    assert hints["QuickTime file format (Apple devices and software)"].raw == "qt  "
    lavf = [hint for hint in meta.hints if hint.name.startswith("FFmpeg (libavformat ")]
    assert lavf and lavf[0].confidence == "certain"
    assert lavf[0].name == f"FFmpeg (libavformat {lavf[0].raw[4:]})"
    # the Apple creation date (local +01:00) and creation_time (UTC) are one moment
    assert not [problem for problem in meta.problems if problem.code == "times_disagree"]


def test_android_keys(media: dict[str, Path]) -> None:
    meta = read_metadata(media["android"])
    assert meta.format.container.value == "mp4"
    assert [(item.value, item.source) for item in meta.device.make] == [
        ("Google", "format:com.android.manufacturer")]
    assert [item.value for item in meta.device.model] == ["Pixel 7"]
    software, = meta.device.software
    assert (software.value, software.raw, software.source) == ("Android 13", "13", "format:com.android.version")
    kinds = {(hint.name, hint.confidence) for hint in meta.hints}
    assert ("Android 13", "certain") in kinds
    assert ("Android (MediaMuxer)", "likely") in kinds


def test_quicktime_xyz_atom_in_degrees_and_minutes(media: dict[str, Path]) -> None:
    meta = read_metadata(media["xyz"])
    location, = meta.locations
    assert location.source == "bmff:moov/udta/©xyz" and location.raw == "+4851.462+00217.700+035/"
    assert location.latitude == pytest.approx(48.8577)
    assert location.longitude == pytest.approx(2.295)
    assert location.altitude == 35.0
    assert meta.raw.group("format")["location"] == "+4851.462+00217.700+035/"


def test_3gpp_loci_box_is_kept_apart_with_its_place(media: dict[str, Path]) -> None:
    meta = read_metadata(media["loci"])
    assert meta.format.container.value == "3gp"
    location, = meta.locations
    assert location.source == "bmff:moov/udta/loci"
    assert location.latitude == pytest.approx(-33.8568, abs=2e-5)
    assert location.longitude == pytest.approx(151.2153, abs=2e-5)
    assert location.altitude == pytest.approx(12.5)
    assert location.place == "Sydney"
    assert ("3GPP writer (phone or messaging app)", "possible") in {(h.name, h.confidence) for h in meta.hints}


def test_matroska_mux_time_is_kept_apart_from_recording_time(media: dict[str, Path]) -> None:
    meta = read_metadata(media["matroska"])
    assert meta.format.container.value == "matroska"
    muxed, = [stamp for stamp in meta.times if stamp.meaning == "muxed"]
    # FFmpeg reports Matroska DateUTC as creation_time; UTC by the Matroska specification
    assert muxed.source == "format:creation_time" and muxed.zone_known
    assert muxed.value == datetime(2021, 3, 4, 10, 0, tzinfo=timezone.utc)
    recorded, = [stamp for stamp in meta.times if stamp.meaning == "recorded"]
    assert recorded.source == "format:DATE_RECORDED"
    assert recorded.value == datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone(-timedelta(hours=5)))
    location, = meta.locations
    assert (location.source, location.latitude, location.longitude) == (
        "format:RECORDING_LOCATION", 40.6892, -74.0445)
    assert meta.credentials.status == "not checked"


def test_webm_avi_and_transport_stream(media: dict[str, Path]) -> None:
    webm = read_metadata(media["webm"])
    assert webm.format.container.value == "webm" and webm.streams[0].codec.value == "vp8"
    avi = read_metadata(media["avi"])
    assert avi.format.container.value == "avi"
    dated, = avi.times
    assert (dated.meaning, dated.source, dated.precision, dated.zone_known) == ("dated", "format:date", "day", False)
    assert dated.value == datetime(2021, 3, 4)
    assert any(hint.source == "format:software" and hint.name.startswith("FFmpeg") for hint in avi.hints)
    ts = read_metadata(media["ts"])
    assert ts.format.container.value == "mpegts" and ts.streams[0].width.value == 64
    assert ts.times == () and ts.locations == ()


@pytest.mark.parametrize("group, key, value, name, confidence", [
    ("stream 0", "handler_name", "ISO Media file produced by Google Inc. Created on: 03/04/2021.",
     "Google (YouTube or another Google service)", "likely"),
    ("stream 0", "encoder", "Lavc60.31.102 libx264", "FFmpeg (libavcodec 60.31.102 libx264)", "certain"),
    ("stream 0", "handler_name", "\x1fMainconcept Video Media Handler",
     "MainConcept codec SDK (Adobe, Sony and other editors)", "likely"),
    ("stream 0", "vendor_id", "appl", "Apple (QuickTime or AVFoundation)", "likely"),
    ("format", "encoder", "HandBrake 1.6.1 2023010100", "HandBrake", "certain"),
    ("format", "ENCODER", "Lavf60.16.100", "FFmpeg (libavformat 60.16.100)", "certain"),
    ("format", "major_brand", "dash", "DASH streaming segment (downloaded from a streaming service)", "likely"),
    ("exif", "Image Software", "HDR+ 1.0.540104767zd", "Google Pixel camera (HDR+)", "likely"),
])
def test_hint_rules(group: str, key: str, value: str, name: str, confidence: str) -> None:
    from vidprov.metadata.hints import derive_hints

    hint, = derive_hints([(group, key, value)])
    assert (hint.name, hint.confidence, hint.source, hint.raw) == (name, confidence, f"{group}:{key}", value)
    assert hint.reason
    assert derive_hints([(group, "title", value)]) == ()


def test_tiktok_comment(media: dict[str, Path]) -> None:
    hint, = [hint for hint in read_metadata(media["tiktok"]).hints if hint.name == "TikTok"]
    assert (hint.source, hint.raw, hint.confidence) == ("format:comment", "vid:v09044g40000abcdef", "likely")


def test_stream_copy_that_lost_the_apple_keys_reports_them_absent(media: dict[str, Path]) -> None:
    meta = read_metadata(media["remuxed"])
    assert meta.device.make == () and meta.device.model == () and meta.device.software == ()
    assert not [stamp for stamp in meta.times if stamp.meaning == "recorded"]
    assert meta.locations == ()
    assert not any("apple" in key.lower() for key in meta.raw.group("format"))
    # the pictures are the same: only the tags went
    assert meta.streams[0].codec.value == "mpeg4" and meta.streams[0].width.value == 64


def test_the_same_time_stated_twice_and_differently_shows_both(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "edited.mov", fmt="mov", options={"movflags": "use_metadata_tags"},
                      container_tags={"com.apple.quicktime.creationdate": "2021-03-04T05:06:07+0100",
                                      "creation_time": "2023-11-20T18:00:00Z"})
    meta = read_metadata(path)
    shown = {stamp.source: stamp.raw for stamp in meta.times}
    assert shown["format:com.apple.quicktime.creationdate"] == "2021-03-04T05:06:07+0100"
    assert shown["format:creation_time"] == "2023-11-20T18:00:00Z"
    disagree = [problem for problem in meta.problems if problem.code == "times_disagree"
                and "com.apple.quicktime.creationdate" in problem.source and "format:creation_time" in problem.source]
    assert disagree
    assert any("times_disagree" in line for line in render_text(meta))


def test_bad_values_are_kept_raw_and_flagged(tmp_path: Path) -> None:
    huge = "vid:" + "\x01\xff\x1b[2J\u202e" * 20_000
    path = write_clip(tmp_path / "odd.mov", fmt="mov", options={"movflags": "use_metadata_tags"},
                      container_tags={"com.apple.quicktime.location.ISO6709": "+91.0000+002.0000/",
                                      "com.apple.quicktime.creationdate": "0000-00-00T00:00:00+0000",
                                      "date": "9999-12-31T23:59:59Z", "comment": huge})
    binary = bytes(range(1, 256)) * 4
    add_user_data(path, box(b"\xa9nam", struct.pack(">HH", len(binary), 0x15C7) + binary),
                  box(b"\xa9xyz", b"\x00"))
    meta = read_metadata(path)
    codes = {(problem.code, problem.source) for problem in meta.problems}
    assert ("unparseable_location", "format:com.apple.quicktime.location.ISO6709") in codes
    assert ("unparseable_date", "format:com.apple.quicktime.creationdate") in codes
    assert ("implausible_date", "format:date") in codes
    assert meta.locations == ()
    assert [stamp.value.year for stamp in meta.times if stamp.source == "format:date"] == [9999]
    raw = meta.raw.group("format")
    assert raw["com.apple.quicktime.location.ISO6709"] == "+91.0000+002.0000/"
    assert raw["comment"] == huge
    assert "\\xff" in raw["title"]  # undecodable bytes are kept as escapes, not dropped
    assert "TikTok" in {hint.name for hint in meta.hints}
    assert len(json.dumps(meta.to_dict())) > 100_000
    for line in render_text(meta) + render_raw(meta):
        assert ESC not in line and "\x00" not in line and "\u202e" not in line


def test_box_scanner_survives_truncated_and_lying_boxes() -> None:
    import io

    from vidprov.metadata import bmff

    moov = box(b"moov", box(b"udta", box(b"loci", b"\x00\x01") + box(b"\xa9xyz", b"\x00"))
               + struct.pack(">I4s", 4000, b"trak"))
    data = box(b"ftyp", b"isom\0\0\0\0") + moov + struct.pack(">I4s", 3, b"junk")
    facts = bmff.scan(io.BytesIO(data), len(data))
    assert facts.major_brand == "isom" and facts.locations == []
    assert ("moov/udta/loci", "loci box too short to hold a point") in facts.problems
    assert any("smaller than its header" in message for _, message in facts.problems)
    assert bmff.rotation_from_matrix((0,) * 9) is None
    assert bmff.rotation_from_matrix((65536, 30000, 0, 0, 65536, 0, 0, 0, 1 << 30)) is None


def test_damaged_moov_does_not_crash(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", fmt="mp4")
    data = bytearray(path.read_bytes())
    tkhd = data.find(b"tkhd")
    data[tkhd + 4:tkhd + 60] = b"\xff" * 56
    path.write_bytes(bytes(data))
    try:
        meta = read_metadata(path)
    except NotMediaError:
        return
    assert meta.format.sha256.value == hashlib.sha256(bytes(data)).hexdigest()


# --- stills -----------------------------------------------------------------------------------------


def _check_exif(meta: MediaMetadata) -> None:
    assert meta.kind == "still"
    assert [item.value for item in meta.device.make] == ["Canon"]
    assert [item.value for item in meta.device.model] == ["EOS R5"]
    recorded, = [stamp for stamp in meta.times if stamp.meaning == "recorded"]
    assert recorded.source == "exif:EXIF DateTimeOriginal" and recorded.raw == "2021:03:04 05:06:07"
    assert (recorded.zone_source, recorded.zone_raw) == ("exif:EXIF OffsetTimeOriginal", "+01:00")
    assert recorded.value == datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1)))
    gps_time, = [stamp for stamp in meta.times if stamp.meaning == "gps fix"]
    assert gps_time.value == datetime(2021, 3, 4, 4, 6, 7, tzinfo=timezone.utc)
    location, = meta.locations
    assert location.latitude == pytest.approx(-(48 + 51 / 60 + 27.72 / 3600))
    assert location.longitude == pytest.approx(-(2 + 17 / 60 + 42 / 3600))
    assert location.altitude == -35.5
    image, = meta.streams
    assert (image.width.value, image.height.value) == (40, 30)
    assert image.rotation is not None and image.rotation.value == 90
    assert image.rotation.source in ("exif:Image Orientation", "image:original_orientation")
    assert not [problem for problem in meta.problems if problem.code == "times_disagree"]


def test_jpeg_exif_every_field(media: dict[str, Path]) -> None:
    meta = read_metadata(media["jpeg"])
    _check_exif(meta)
    assert meta.format.container.value == "jpeg" and meta.streams[0].codec.value == "jpeg"
    assert meta.raw.group("exif")["Image Make"] == "Canon"
    assert meta.raw.reader.startswith("exifread ")
    assert ("Adobe (Adobe Photoshop)", "likely") in {(hint.name, hint.confidence) for hint in meta.hints}


def test_webp_png_and_heic(tmp_path: Path) -> None:
    _check_exif(read_metadata(exif_jpeg(tmp_path / "photo.webp", "WEBP")))
    pnginfo = PngImagePlugin.PngInfo()
    pnginfo.add_text("Creation Time", "Thu, 04 Mar 2021 05:06:07 +0100")
    pnginfo.add_text("Software", "GIMP 2.10.34")
    png = read_metadata(exif_jpeg(tmp_path / "photo.png", "PNG", pnginfo=pnginfo))
    _check_exif(png)
    created, = [stamp for stamp in png.times if stamp.source == "image:Creation Time"]
    assert created.zone_known and created.value.utcoffset() == timedelta(hours=1)
    assert ("GIMP", "image:Software") in {(hint.name, hint.source) for hint in png.hints}

    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    heic = read_metadata(exif_jpeg(tmp_path / "photo.heic", "HEIF"))
    _check_exif(heic)
    assert heic.format.container.value == "heic" and heic.format.major_brand.value == "heic"


def test_missing_gps_reference_is_not_guessed(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({2: (48.0, 51.0, 0.0), 4: (2.0, 17.0, 0.0)})
    path = tmp_path / "noref.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif)
    meta = read_metadata(path)
    assert meta.locations == ()
    assert [problem.code for problem in meta.problems] == ["unparseable_location"]


# --- content credentials ----------------------------------------------------------------------------


def test_without_the_c2pa_reader_credentials_are_not_checked(media: dict[str, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "_load", lambda: None)
    for name in ("iphone", "jpeg", "matroska"):
        result = read_metadata(media[name]).credentials
        assert result.status == "not checked" and result.status != "absent"
        assert "vidprov[c2pa]" in (result.detail or "") or "does not read" in (result.detail or "")


def test_c2pa_absent_and_present(media: dict[str, Path], tmp_path: Path) -> None:
    c2pa = pytest.importorskip("c2pa")
    assert read_metadata(media["jpeg"]).credentials.status == "absent"
    signed = _sign_jpeg(c2pa, media["jpeg"], tmp_path / "signed.jpg")
    result = read_metadata(signed).credentials
    assert result.status == "present"
    assert result.validation_state in ("Valid", "Trusted", "Invalid")
    assert result.signer == "vidprov test signer (Test Newsroom)"
    assert result.actions == ("c2pa.created",)


def _sign_jpeg(c2pa: Any, source: Path, target: Path) -> Path:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)

    def certificate(subject: Any, issuer: Any, public: Any, signing_key: Any, ca: bool) -> Any:
        usage = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                               "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
                              False)
        usage.update({"key_cert_sign": ca, "crl_sign": ca, "digital_signature": not ca})
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(**usage), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
        if not ca:
            builder = (builder
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                                      critical=False))
        return builder.sign(signing_key, hashes.SHA256())

    def name(common: str, org: str) -> Any:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])

    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = name("Test Root", "Test Root Org")
    root = certificate(root_name, root_name, root_key.public_key(), root_key, True)
    leaf = certificate(name("vidprov test signer", "Test Newsroom"), root_name, key.public_key(), root_key, False)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain, private_key=private,
                                                       ta_url=None))
    manifest = {"claim_generator_info": [{"name": "vidprov-tests", "version": "1"}], "title": "signed",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
                    "action": "c2pa.created",
                    "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}
    with c2pa.Builder(manifest) as builder, open(source, "rb") as src, open(target, "w+b") as dst:
        builder.sign(signer, "image/jpeg", src, dst)
    return target


# --- serialised form and safe display ---------------------------------------------------------------


def test_json_round_trips(media: dict[str, Path]) -> None:
    for name in ("iphone", "jpeg", "loci"):
        meta = read_metadata(media[name])
        text = json.dumps(meta.to_dict(), ensure_ascii=False)
        data = json.loads(text)
        assert data["schema_version"] == 1
        assert MediaMetadata.from_dict(data) == meta
        assert "raw" not in meta.to_dict(raw=False)


def test_newer_schema_is_refused(media: dict[str, Path]) -> None:
    data = read_metadata(media["jpeg"]).to_dict()
    data["schema_version"] = 99
    with pytest.raises(ValidationError):
        MediaMetadata.from_dict(data)


def test_printable_escapes_everything_that_steers_a_terminal() -> None:
    hostile = "ok\x1b[2J\x1b]8;;http://x\x07link\x9b31m\u202eevil\u2028\r\n\t\x00\udcff"
    shown = printable(hostile)
    assert re.fullmatch(r"[\x20-\x7e]+", shown), shown
    assert shown.startswith("ok\\x1b[2J") and "\\u202e" in shown and "\\x9b" in shown
    assert printable("Café 東京 🎥") == "Café 東京 🎥"
    assert printable("x" * 500, limit=10).startswith("x" * 10 + "... (490 more")


def test_hostile_tags_never_reach_the_terminal(tmp_path: Path) -> None:
    hostile = "Apple\x1b[31m\x1b]0;owned\x07\u202e"
    path = write_clip(tmp_path / "hostile.mov", fmt="mov", options={"movflags": "use_metadata_tags"},
                      container_tags={"com.apple.quicktime.make": hostile, "title": "\x1b[2J"})
    for args in (["meta", str(path)], ["meta", "--raw", str(path)], ["meta", "--json", str(path)],
                 ["meta", "--json", "--raw", str(path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert ESC not in result.output and "\x07" not in result.output and "\u202e" not in result.output
        if "--json" in args:
            assert result.output.isascii()
    record = json.loads(CliRunner().invoke(main, ["meta", "--json", str(path)]).output)
    assert record["device"]["make"][0]["raw"] == hostile  # JSON keeps the exact value, escaped


# --- bad input --------------------------------------------------------------------------------------


def test_bad_files_give_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("not a video\n" * 50)
    (tmp_path / "noise.mov").write_bytes(np.random.default_rng(1).bytes(20_000))
    cases = {"missing.mp4": (FileAccessError, "no such file"), "folder": (FileAccessError, "is a directory"),
             "empty.mp4": (EmptyFileError, "empty"), "notes.mp4": (NotMediaError, "not a video or image"),
             "noise.mov": (NotMediaError, "not a video or image")}
    for name, (error_type, words) in cases.items():
        with pytest.raises(error_type) as caught:
            read_metadata(tmp_path / name)
        assert str(caught.value).startswith(str(tmp_path / name) + ": ") and words in str(caught.value)
        assert "\n" not in str(caught.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "locked.mp4", fmt="mp4")
    path.chmod(0)
    try:
        with pytest.raises(FileAccessError, match="permission denied"):
            read_metadata(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileAccessError, match="not a regular file"):
        read_metadata(tmp_path / "pipe")


# --- command line -----------------------------------------------------------------------------------


def test_cli_table_json_and_raw(media: dict[str, Path]) -> None:
    iphone, jpeg = str(media["iphone"]), str(media["jpeg"])
    table = CliRunner().invoke(main, ["meta", iphone])
    assert table.exit_code == 0, table.output
    assert table.output.startswith(iphone + "\n")
    assert "recorded   2021-03-04T05:06:07+01:00" in table.output
    assert "created    2021-03-04T04:06:07 (time zone unknown)" in table.output
    assert "[format:com.apple.quicktime.make = Apple]" in table.output
    assert "c2pa" in table.output

    lines = CliRunner().invoke(main, ["meta", "--json", iphone, jpeg]).output.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["path"] == iphone and "raw" not in first
    assert first["device"]["make"][0] == {"value": "Apple", "source": "format:com.apple.quicktime.make",
                                         "raw": "Apple"}
    assert "raw" in json.loads(CliRunner().invoke(main, ["meta", "--json", "--raw", jpeg]).output)

    raw = CliRunner().invoke(main, ["meta", "--raw", iphone]).output
    assert "  reader: pyav " in raw and "  [format]" in raw and "  [stream 1]" in raw
    assert "    com.apple.quicktime.creationdate = 2021-03-04T05:06:07+0100" in raw


def test_cli_batch_goes_on_past_bad_files_and_fails_at_the_end(media: dict[str, Path], tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.mp4")
    result = CliRunner().invoke(main, ["meta", "--json", missing, str(media["jpeg"]), str(tmp_path)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr.splitlines() == [f"vidprov: error: {missing}: no such file",
                                          f"vidprov: error: {tmp_path}: is a directory, not a file"]


def test_docs_page_names_every_field() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "metadata.md").read_text()
    assert "vidprov meta" in page
    for word in ("zone_known", "certain", "likely", "possible", "not checked", "problems", "--raw", "--json"):
        assert word in page


# --- real clips -------------------------------------------------------------------------------------


def _corpus_sha256() -> dict[str, str]:
    table = (CORPUS / "SOURCES.md").read_text()
    return {match[1]: match[2] for match in re.finditer(r"^\| (\S+\.mp4) \|.*\| ([0-9a-f]{64}) \|$", table, re.M)}


@needs_corpus
def test_corpus_clips_read_cleanly_and_hash_as_published() -> None:
    published = _corpus_sha256()
    clips = sorted(CORPUS.glob("*.mp4"))
    assert clips and len(published) == len(clips)
    for clip in clips:
        meta = read_metadata(clip)
        assert meta.format.sha256.value == published[clip.name]
        assert meta.problems == ()
        assert meta.streams[0].kind == "video" and meta.streams[0].codec.value == "h264"


@needs_corpus
def test_corpus_pinned_values() -> None:
    car = read_metadata(CORPUS / "intel_car-detection.mp4")
    created = [stamp for stamp in car.times if stamp.source == "format:creation_time"]
    assert [(stamp.value, stamp.zone_known) for stamp in created] == [(datetime(2018, 4, 19, 22, 46), False)]
    assert any("MainConcept" in hint.name for hint in car.hints)
    assert (car.streams[0].width.value, car.streams[0].height.value) == (768, 432)
    chair = read_metadata(CORPUS / "te_chair-19-sd-bar.mp4")
    assert ("FFmpeg (libavformat 56.40.101)", "certain") in {(hint.name, hint.confidence) for hint in chair.hints}
    assert chair.times == ()
