"""The reupload benchmark's transforms on tiny generated clips, and its scoring rules.

Each transform must give a decodable clip of the expected size, rate and
length, and its recorded truth timeline must say where the source's frames
really are. Compilations, picture-in-picture and screen recordings are made
on smaller canvases here so the whole module runs in a few seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vidprov import samples

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import transforms  # noqa: E402
from peers import Vpdq, VpdqHash  # noqa: E402
from reupload import Query, average_precision, group_of, label_of  # noqa: E402

FPS = 25.0
SOURCE_SECONDS = 2.4
SMALL_MIX = (160, 90, 25.0)
SMALL_SCREEN = (192, 108, 24.0)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 2.4 s 160x120 source, a filler clip, and every transform applied to the source once."""
    folder = tmp_path_factory.mktemp("transforms")
    source = folder / "source.mp4"
    samples.write_clip(source, samples.ClipSpec(samples.scenes(2, SOURCE_SECONDS / 2, seed=5), width=160,
                                                height=120, fps=FPS))
    filler = folder / "filler.mp4"
    samples.write_clip(filler, samples.ClipSpec(samples.scenes(1, 2.0, seed=77), width=160, height=120, fps=FPS))
    variants = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transforms, "MIX_CANVAS", SMALL_MIX)
        patch.setattr(transforms, "SCREEN_CANVAS", SMALL_SCREEN)
        patch.setattr(transforms, "FILLER_SECONDS", (0.6, 1.0))
        for name in transforms.TRANSFORMS:
            variants[name] = transforms.make_variant(name, source, folder / f"{name}.mp4", seed=3, fillers=[filler])
    return {"folder": folder, "source": source, "filler": filler, "variants": variants,
            "source_frames": frames(source)}


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    return list(transforms.read_frames(path))


def output(made: dict[str, Any], name: str) -> tuple[transforms.Variant, transforms.ClipInfo, list]:
    variant = made["variants"][name]
    path = made["folder"] / variant.path
    return variant, transforms.probe(path), frames(path)


def shown_at(clip: list[tuple[float, np.ndarray]], t: float, fps: float = FPS) -> np.ndarray:
    """The frame of ``clip`` (regular at ``fps``) on screen at time ``t``."""
    return clip[min(len(clip) - 1, int(t * fps + 1e-6))][1]


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --------------------------------------------------------------------------- every transform

def test_the_registry_covers_every_kind_of_reupload() -> None:
    families = {t.family for t in transforms.TRANSFORMS.values()}
    assert families == {"re-encode", "bars", "crop", "overlay", "mirror", "colour", "frame rate", "speed", "trim",
                        "compilation", "picture-in-picture", "screen recording"}
    assert {"pad_9x16_blur", "crop_9x16", "speed_0.8", "speed_1.25", "fps_15", "fps_24"} <= set(transforms.TRANSFORMS)


@pytest.mark.parametrize("name", list(transforms.TRANSFORMS))
def test_variant_decodes_with_the_length_and_rate_it_records(made: dict[str, Any], name: str) -> None:
    variant, info, decoded = output(made, name)
    fps = float(variant.params["fps"])
    assert info.fps == pytest.approx(fps, rel=1e-3)
    times = np.array([t for t, _ in decoded])
    assert np.allclose(np.diff(times), 1 / fps, atol=2e-3)  # regular timestamps
    segment = variant.segments[0]
    if name == "compilation":
        assert segment.query_end < len(decoded) / fps
    else:
        assert len(decoded) / fps == pytest.approx(segment.query_end, abs=1.5 / fps)
    assert segment.reference_end - segment.reference_start <= SOURCE_SECONDS + 1e-6
    assert transforms.load_variant(made["folder"] / variant.path) == variant
    assert not list(made["folder"].glob("*.partial.*"))


def test_same_seed_same_variant_other_seed_other_variant(made: dict[str, Any], tmp_path: Path) -> None:
    again = transforms.make_variant("crop_10pct", made["source"], tmp_path / "a.mp4", seed=3)
    other = transforms.make_variant("crop_10pct", made["source"], tmp_path / "b.mp4", seed=4)
    assert again.params == made["variants"]["crop_10pct"].params
    assert other.params != again.params


# --------------------------------------------------------------------------- pictures

@pytest.mark.parametrize("name,size", [("reencode_half", (80, 60)), ("crop_10pct", (144, 108)),
                                       ("logo", (160, 120)), ("mirror", (160, 120))])
def test_sizes(made: dict[str, Any], name: str, size: tuple[int, int]) -> None:
    _, info, _ = output(made, name)
    assert (info.width, info.height) == size


def test_bars_widen_or_heighten_the_frame_with_flat_colour(made: dict[str, Any]) -> None:
    letterbox, info, decoded = output(made, "letterbox_black")
    bar = letterbox.params["bar"]
    assert (info.width, info.height) == (160, 120 + 2 * bar)
    assert decoded[10][1][: bar - 2].max() < 24 and decoded[10][1][-bar + 2:].max() < 24
    pillarbox, info, decoded = output(made, "pillarbox_colour")
    bar = pillarbox.params["bar"]
    assert (info.width, info.height) == (160 + 2 * bar, 120)
    side = decoded[10][1][:, : bar - 2].reshape(-1, 3).mean(axis=0)
    assert np.abs(side - pillarbox.params["colour"]).max() < 12


@pytest.mark.parametrize("name", ["crop_9x16", "pad_9x16_blur"])
def test_vertical_variants_are_9_by_16(made: dict[str, Any], name: str) -> None:
    _, info, _ = output(made, name)
    assert info.width / info.height == pytest.approx(9 / 16, abs=0.02)


def test_mirror_is_the_source_flipped(made: dict[str, Any]) -> None:
    _, _, decoded = output(made, "mirror")
    for number in (0, 20, 50):
        source = made["source_frames"][number][1]
        assert difference(decoded[number][1], np.fliplr(source)) < 6
        assert difference(decoded[number][1], source) > 3 * difference(decoded[number][1], np.fliplr(source))


def test_grayscale_has_no_colour_and_sepia_is_warm(made: dict[str, Any]) -> None:
    _, _, grey = output(made, "grayscale")
    picture = grey[10][1].astype(np.int16)
    assert np.abs(picture[..., 0] - picture[..., 1]).mean() < 3
    _, _, sepia = output(made, "sepia")
    red, _, blue = sepia[10][1].reshape(-1, 3).mean(axis=0)
    assert red > blue + 20


# --------------------------------------------------------------------------- timelines

@pytest.mark.parametrize("name,fps", [("fps_24", 24.0), ("fps_15", 15.0)])
def test_frame_rate_changes_keep_the_duration(made: dict[str, Any], name: str, fps: float) -> None:
    _, info, decoded = output(made, name)
    assert info.fps == pytest.approx(fps)
    assert len(decoded) == round(SOURCE_SECONDS * fps)
    for number in (5, len(decoded) - 2):
        t = decoded[number][0]
        assert difference(decoded[number][1], shown_at(made["source_frames"], t)) < 8


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_speed_retimes_the_frames(made: dict[str, Any], factor: float) -> None:
    variant, _, decoded = output(made, f"speed_{factor:g}")
    assert len(decoded) / FPS == pytest.approx(SOURCE_SECONDS / factor, abs=1.5 / FPS)
    assert variant.segments[0].query_end == pytest.approx(SOURCE_SECONDS / factor, abs=0.05)
    for number in (7, 31, len(decoded) - 3):
        t, image = decoded[number]
        assert difference(image, shown_at(made["source_frames"], t * factor)) < 8


def test_trim_keeps_about_sixty_percent_from_where_it_says(made: dict[str, Any]) -> None:
    variant, _, decoded = output(made, "trim_60pct")
    segment = variant.segments[0]
    assert 0.5 * SOURCE_SECONDS < segment.reference_end - segment.reference_start < 0.7 * SOURCE_SECONDS
    assert segment.reference_start > 0 or segment.reference_end < SOURCE_SECONDS
    for number in (0, len(decoded) // 2, len(decoded) - 1):
        t, image = decoded[number]
        assert difference(image, shown_at(made["source_frames"], segment.reference_start + t)) < 8


def test_compilation_truth_marks_where_the_source_is(made: dict[str, Any]) -> None:
    variant, info, decoded = output(made, "compilation")
    width, height, fps = SMALL_MIX
    assert (info.width, info.height) == (width, height)
    assert variant.contains == ("filler.mp4",)
    segment = variant.segments[0]
    assert segment.query_start > 0 and segment.query_end < len(decoded) / fps
    assert segment.query_end - segment.query_start == pytest.approx(segment.reference_end - segment.reference_start)

    def source_at(t: float) -> np.ndarray:
        return transforms.fit(shown_at(made["source_frames"], segment.reference_start + t - segment.query_start),
                              width, height)

    inside = [n for n, (t, _) in enumerate(decoded) if segment.query_start + 0.05 < t < segment.query_end - 0.05]
    assert inside
    for number in (inside[0], inside[-1]):
        t, image = decoded[number]
        assert difference(image, source_at(t)) < 8
    before = int(segment.query_start * fps) - 1
    after = int(round(segment.query_end * fps))
    assert difference(decoded[before][1], source_at(segment.query_start)) > 15
    assert difference(decoded[after][1], source_at(segment.query_end - 1 / fps)) > 15


def test_picture_in_picture_shows_the_source_in_its_inset(made: dict[str, Any]) -> None:
    import cv2

    variant, info, decoded = output(made, "pip")
    assert (info.width, info.height) == SMALL_MIX[:2]
    assert variant.contains == ("filler.mp4",)
    x, y, w, h = variant.params["inset"]
    assert 0.38 <= max(w / info.width, h / info.height) <= 0.52
    def source(number: int) -> np.ndarray:
        return cv2.resize(made["source_frames"][number][1], (w, h), interpolation=cv2.INTER_AREA)

    for number, other_shot in ((3, 50), (50, 3)):  # a tiny inset at CRF 28: compare against the other shot too
        inset = decoded[number][1][y:y + h, x:x + w]
        assert difference(inset, source(number)) < 0.5 * difference(inset, source(other_shot))


def test_screen_recording_changes_size_and_rate(made: dict[str, Any]) -> None:
    variant, info, decoded = output(made, "screen_recording")
    assert (info.width, info.height, info.fps) == SMALL_SCREEN
    assert len(decoded) == round(SOURCE_SECONDS * SMALL_SCREEN[2])
    assert variant.params["blur"] > 0 and len(variant.params["quad"]) == 4


def test_retime_drops_and_repeats_frames_on_a_regular_clock() -> None:
    clip = [(n / 10, np.full((2, 2, 3), n, np.uint8)) for n in range(10)]  # 1 s at 10 fps
    shown = [(t, int(image[0, 0, 0])) for t, image in transforms.retime(clip, 15.0)]
    assert len(shown) == 15
    assert [n for _, n in shown] == [int(k * 10 / 15 + 1e-9) for k in range(15)]
    fast = [int(image[0, 0, 0]) for _, image in transforms.retime(clip, 10.0, speed=2.0)]
    assert fast == [0, 2, 4, 6, 8]
    trimmed = [int(image[0, 0, 0]) for _, image in transforms.retime(clip, 10.0, start=0.3, count=4)]
    assert trimmed == [3, 4, 5, 6]


# --------------------------------------------------------------------------- scoring rules

def vpdq_hash(rows: list[tuple[int, int]]) -> VpdqHash:
    """Hashes whose first ``bits`` bits are set, with a quality each."""
    hashes = np.zeros((len(rows), 32), np.uint8)
    for number, (bits, _) in enumerate(rows):
        packed = np.packbits(np.arange(256) < bits)
        hashes[number] = packed
    return VpdqHash(hashes, np.array([q for _, q in rows]), np.arange(len(rows), dtype=float),
                    tuple(h.tobytes().hex() for h in hashes))


def test_vpdq_rule_counts_distance_31_and_skips_low_quality_and_repeats() -> None:
    reference = vpdq_hash([(0, 100)])
    query = vpdq_hash([(31, 100), (31, 100), (32, 100), (200, 10), (5, 90), (6, 80), (7, 70)])
    # Unique, quality >= 50: 31, 32, 5, 6, 7 bits set; all but 32 are within 31 of the reference.
    result = Vpdq().compare(query, reference)
    assert result.score == pytest.approx(0.8)
    assert result.matched
    assert not Vpdq().compare(vpdq_hash([(31, 100), (32, 100)]), reference).matched
    assert Vpdq().compare(vpdq_hash([(0, 20)]), reference).score == 0.0


def test_average_precision_treats_ties_as_one_threshold() -> None:
    assert average_precision([(0.9, True), (0.8, True), (0.1, False)]) == pytest.approx(1.0)
    assert average_precision([(0.5, True), (0.5, False)]) == pytest.approx(0.5)
    assert average_precision([(0.0, True), (0.0, False)]) == 0.0


def test_group_members_and_shown_fillers_never_count_as_false_positives(tmp_path: Path) -> None:
    assert group_of("te_chair-19-sd-bar.mp4") == group_of("te_chair-orig-22-sd-bar.mp4") == "chair"
    edit = Query(tmp_path / "te_pattern-sd-grey-bar.mp4", "published_edits", "pattern")
    assert label_of(edit, Path("te_pattern-hd-no-bar.mp4")) is True
    assert label_of(edit, Path("te_chair-orig-22-sd-bar.mp4")) is False
    mix = Query(tmp_path / "compilation.mp4", "compilation", "intel_car-detection", frozenset({"chair"}))
    assert label_of(mix, Path("te_chair-orig-22-sd-bar.mp4")) is None


def test_vidprov_column_says_why_when_matching_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from peers import Vidprov

    monkeypatch.setitem(sys.modules, "vidprov.match", None)  # importing it now raises ImportError
    reason = Vidprov().unavailable()
    assert reason is not None and reason.startswith("vidprov matching not available")


def test_benchmark_skips_without_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reupload import main

    assert main(["--corpus", str(tmp_path / "absent"), "--workdir", str(tmp_path / "work")]) == 0
    captured = capsys.readouterr()
    assert "skipped: no corpus" in captured.err and captured.out == ""
