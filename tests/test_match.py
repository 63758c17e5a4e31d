"""Matching: what a reupload must match, what unrelated footage must not, and where."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from conftest import letterbox
from vidprov import match, samples
from vidprov.fingerprint import Fingerprint, fingerprint
from vidprov.index import open_index
from vidprov.records import (
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Clip,
    PlaceClaim,
    Platform,
    Point,
    parse_date_claim,
    parse_timestamp,
)

Frames = list[tuple[float, np.ndarray]]


@pytest.fixture(scope="module")
def source(footage: tuple[Path, samples.ClipSpec]) -> tuple[Fingerprint, Frames]:
    path, spec = footage
    return fingerprint(path), list(samples.render(spec))


def variant(tmp_path: Path, name: str, frames: Frames | Iterator[tuple[float, np.ndarray]], **options: str) -> Fingerprint:
    path = tmp_path / f"{name}.mp4"
    samples.write_frames(path, frames, fps=25, options=options or {"crf": "30"})
    return fingerprint(path, mirror=True)


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "half size": lambda f: f[::2, ::2],
    "letterbox": lambda f: letterbox(f, 30, 30),
    "grayscale": lambda f: np.repeat(f.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2),
    "brighter": lambda f: np.clip(f.astype(np.int16) + 40, 0, 255).astype(np.uint8),
    "subtitle": lambda f: _subtitled(f),
}


def _subtitled(frame: np.ndarray) -> np.ndarray:
    import cv2

    out = frame.copy()
    cv2.rectangle(out, (20, 200), (300, 230), (0, 0, 0), -1)
    cv2.putText(out, "Breaking: troops seen", (26, 222), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return out


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_edited_copies_are_the_same_footage(tmp_path: Path, source: tuple[Fingerprint, Frames], name: str) -> None:
    original, frames = source
    copy = variant(tmp_path, name, [(t, TRANSFORMS[name](f)) for t, f in frames])
    result = match.compare(copy, original)
    assert result is not None and result.score >= match.DEFAULT_THRESHOLD
    assert match.judge(result) == "same footage"
    assert not result.mirrored
    assert result.speed == pytest.approx(1.0, abs=0.03)


def test_mirrored_copy_matches_and_says_so(tmp_path: Path, source: tuple[Fingerprint, Frames]) -> None:
    original, frames = source
    copy = variant(tmp_path, "mirror", [(t, np.ascontiguousarray(f[:, ::-1])) for t, f in frames])
    result = match.compare(copy, original)
    assert result is not None and result.mirrored and result.score >= match.DEFAULT_THRESHOLD
    without_mirror_hashes = match.compare(fingerprint(tmp_path / "mirror.mp4"), original)
    assert without_mirror_hashes is None or without_mirror_hashes.score < match.DEFAULT_THRESHOLD


def test_trim_maps_to_the_right_part_of_the_reference(tmp_path: Path, source: tuple[Fingerprint, Frames]) -> None:
    original, frames = source
    trimmed = [(t - 2.0, f) for t, f in frames if 2.0 <= t < 7.0]
    result = match.compare(variant(tmp_path, "trim", trimmed), original)
    assert result is not None
    assert result.query_coverage > 0.9
    assert result.reference_coverage == pytest.approx(5 / 9, abs=0.1)
    segment = result.segments[0]
    assert segment.reference_start == pytest.approx(2.0, abs=0.5)
    assert segment.reference_end == pytest.approx(7.0, abs=0.5)
    assert match.judge(result) == "partial overlap"


@pytest.mark.parametrize("speed", [0.8, 1.25])
def test_speed_change_is_measured(tmp_path: Path, source: tuple[Fingerprint, Frames], speed: float) -> None:
    original, frames = source
    # Played at ``speed``: a frame shown at t in the source is shown at t / speed in the copy.
    retimed: Frames = []
    for number in range(int(len(frames) / speed)):
        retimed.append((number / 25, frames[min(len(frames) - 1, int(number * speed))][1]))
    result = match.compare(variant(tmp_path, f"speed{speed}", retimed), original)
    assert result is not None and result.score >= match.DEFAULT_THRESHOLD
    assert result.speed == pytest.approx(speed, abs=0.05)


def test_compilation_segment_boundaries(tmp_path: Path, source: tuple[Fingerprint, Frames],
                                        other_footage: Path) -> None:
    original, frames = source
    filler = list(samples.render(samples.ClipSpec(samples.scenes(3, 2.5, seed=77))))
    timeline = [(t, f) for t, f in filler[:100]]  # 4 s of other footage
    timeline += [(4.0 + t, f) for t, f in frames]  # the source, 9 s
    timeline += [(13.0 + t, f) for t, f in filler[100:]]  # 3.5 s more
    result = match.compare(variant(tmp_path, "compilation", timeline), original)
    assert result is not None
    first, last = result.segments[0], result.segments[-1]
    assert first.query_start == pytest.approx(4.0, abs=1.0)
    assert last.query_end == pytest.approx(13.0, abs=1.0)
    assert result.reference_coverage > 0.85
    assert match.judge(result) == "partial overlap"


def test_unrelated_footage_does_not_match(source: tuple[Fingerprint, Frames], other_footage: Path) -> None:
    original, _ = source
    assert match.compare(fingerprint(other_footage, mirror=True), original) is None
    assert match.judge(None) == "unrelated"


def test_algorithms_must_agree(source: tuple[Fingerprint, Frames], footage: tuple[Path, samples.ClipSpec]) -> None:
    from vidprov.errors import ValidationError

    with pytest.raises(ValidationError, match="fingerprint both clips the same way"):
        match.compare(fingerprint(footage[0], algorithm="phash"), source[0])


def test_provenance_finds_recycled_footage_and_disagreeing_places(tmp_path: Path,
                                                                  source: tuple[Fingerprint, Frames]) -> None:
    original, frames = source
    index = open_index(tmp_path / "index.db", create=True)
    old = index.add_clip(Clip(sha256=original.sha256, size=original.size, media_type="video/mp4"), original)
    index.add_appearance(Appearance(platform=Platform("youtube"), clip_sha256=old.sha256, publisher="Old channel",
                                    url="https://youtube.com/watch?v=old", posted_at=parse_timestamp("2022-03-01")))
    index.add_assessment(Assessment(kind=AssessmentKind("geolocation"), clip_sha256s=(old.sha256,), made_by="TV team",
                                    made_at=datetime(2022, 3, 5, tzinfo=timezone.utc), result="geolocated",
                                    place=PlaceClaim(name="Somewhere else", point=Point(lat=50.45, lon=30.52, radius_m=1000))))
    query = variant(tmp_path, "new", [(t, f[::2, ::2]) for t, f in frames])
    found = match.search(index, query)
    assert [m.clip_id for m in found] == [old.id]
    claim = Claim(clip_sha256=query.sha256, text="filmed this week at Sergeevka",
                  date=parse_date_claim("2024-10-15/2024-10-18"),
                  place=PlaceClaim(name="Sergeevka training ground", point=Point(lat=44.34, lon=131.66, radius_m=5000)))
    verdict = match.provenance(index, query.sha256, found, (claim,))
    assert verdict.earliest_appearance is not None and verdict.earliest_appearance.publisher == "Old channel"
    assert verdict.date_conflict is not None
    expected_days = (datetime(2024, 10, 15, tzinfo=timezone.utc) - datetime(2022, 3, 2, tzinfo=timezone.utc)).days
    # Dates without a zone are read in the way least likely to conflict (any zone, UTC-12 to UTC+14).
    assert verdict.date_conflict.days == pytest.approx(expected_days - 28 / 24, abs=0.01)
    assert len(verdict.place_conflicts) == 1 and verdict.place_conflicts[0].distance_km > 5000
    assert "first published by Old channel" in verdict.summary and "days before" in verdict.summary
    data = verdict.to_dict()
    assert set(data) >= {"earliest_appearance", "date_conflict", "place_conflict"}
    index.close()


def test_places_without_points_conflict_by_country() -> None:
    from vidprov.match import _place_conflicts

    russia = PlaceClaim(name="Sergeevka", country="RU")
    ukraine = PlaceClaim(name="Kharkiv", country="UA")
    unknown = PlaceClaim(name="somewhere")
    conflicts = _place_conflicts([(russia, {"place": "a"}), (ukraine, {"place": "b"}), (unknown, {"place": "c"})])
    assert [c.reason for c in conflicts] == ["different countries (RU, UA)"]


def _synthetic(hashes: np.ndarray, step: float, sha: str) -> Fingerprint:
    from vidprov.fingerprint import FrameRecord
    from vidprov.hashing import FrameHash

    frames = tuple(FrameRecord(round(i * step, 6), FrameHash(h.tobytes(), 256), 100, i) for i, h in enumerate(hashes))
    return Fingerprint(sha256=sha * 64, algorithm="pdq", params=(), duration=len(hashes) * step, fps=25.0,
                       width=640, height=360, codec="h264", crop=None, frames=frames)


def _flipped(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def test_frames_near_the_limit_alone_are_no_match() -> None:
    """A static shot that loosely resembles the query lines up several frames by chance: not evidence."""
    rng = np.random.default_rng(5)
    shot = np.repeat(rng.integers(0, 256, size=(1, 32), dtype=np.uint8), 12, axis=0)  # one still picture
    reference = _synthetic(shot, 0.5, "a")
    limit = int(match.FRAME_DISTANCE_SHARE * 256)
    close = int(match.EDGE_DISTANCE_SHARE * 256)
    loose = _synthetic(_flipped(shot, limit - 2, rng), 0.5, "b")
    assert max(int(np.unpackbits(a ^ b).sum()) for a, b in zip(loose.hashes(), shot)) <= limit
    assert match.compare(loose, reference) is None
    plain = _synthetic(_flipped(shot, close - 10, rng), 0.5, "c")
    found = match.compare(plain, reference)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD


def test_a_dense_query_counts_each_reference_frame_once() -> None:
    rng = np.random.default_rng(6)
    hashes = rng.integers(0, 256, size=(20, 32), dtype=np.uint8)  # 20 distinct pictures, two a second
    reference = _synthetic(hashes, 0.5, "d")
    query = _synthetic(np.repeat(hashes, 4, axis=0), 0.125, "e")  # each picture held for four query frames
    found = match.compare(query, reference)
    assert found is not None
    assert found.matched_frames == 20
    assert found.segments[0].query_end == pytest.approx(10.0, abs=0.2)


def test_query_fingerprint_is_dense_and_resamples_to_the_index_fingerprint(
        footage: tuple[Path, samples.ClipSpec], source: tuple[Fingerprint, Frames]) -> None:
    from vidprov.fingerprint import DEFAULT_SAMPLING

    query = match.fingerprint_query(footage[0])
    stored = source[0]
    assert len(query.frames) >= 3.5 * len(stored.frames)
    assert query.mirror_hashes() is not None
    resampled = query.resampled(DEFAULT_SAMPLING)
    assert [f.t for f in resampled.frames] == [f.t for f in stored.frames]
    assert [f.hash for f in resampled.frames] == [f.hash for f in stored.frames]
    assert resampled.parameters["sampling"] == stored.parameters["sampling"]
    from vidprov.errors import ValidationError
    from vidprov.media import Sampling

    with pytest.raises(ValidationError, match="no denser"):
        stored.resampled(Sampling.every(0.1))


def test_segment_grows_through_a_dark_stretch_of_the_same_footage(tmp_path: Path) -> None:
    """Frames too flat to find an alignment with still extend a segment once the alignment is known."""
    import numpy as np

    from vidprov import samples
    from vidprov.fingerprint import fingerprint

    spec = samples.ClipSpec(samples.scenes(4, 3.0, seed=41))
    frames = []
    for t, picture in samples.render(spec):
        if 3.0 <= t < 9.0:  # a night shot: the picture barely above black
            picture = (picture.astype(np.float32) * 0.05 + 4).astype(np.uint8)
        frames.append((t, picture))
    original = tmp_path / "original.mp4"
    samples.write_frames(original, frames, fps=25)
    copy = tmp_path / "copy.mp4"  # the last two bright seconds before the night, and the night
    samples.write_frames(copy, [(t - 1.0, p) for t, p in frames if 1.0 <= t < 9.0], fps=25, options={"crf": "30"})

    reference = fingerprint(original)
    assert (reference.qualities()[(reference.times() >= 3.0) & (reference.times() < 9.0)] < match.MIN_QUALITY).all()
    found = match.compare(match.fingerprint_query(copy), reference)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    segment = found.segments[0]
    assert len(found.segments) == 1
    assert segment.query_start <= 0.5 and segment.query_end >= 7.5  # the whole copy, night included
    assert abs(segment.reference_start - 1.0) <= 0.5 and abs(segment.reference_end - 9.0) <= 0.5
    assert found.query_coverage >= 0.9


def test_a_trim_of_a_short_clip_that_fades_out_matches_the_index(tmp_path: Path) -> None:
    from vidprov.fingerprint import DEFAULT_SAMPLING
    from vidprov.ingest import index_fingerprint

    spec = samples.ClipSpec(samples.scenes(2, 2.0, seed=21), width=320, height=180)

    def gain(t: float) -> float:  # dark from 1.5 s to 2.75 s, fading over half a second each way
        return float(np.clip(max(1.5 - t, t - 2.75) / 0.5, 0.02, 1.0)) if 1.0 < t < 3.25 else 1.0

    frames = [(t, (image * gain(t)).astype(np.uint8)) for t, image in samples.render(spec)]
    source, trimmed = tmp_path / "source.mp4", tmp_path / "trimmed.mp4"
    samples.write_frames(source, frames, fps=25)
    samples.write_frames(trimmed, [(t - 1.2, image) for t, image in frames if 1.2 <= t < 3.2], fps=25)
    indexed = index_fingerprint(source, "pdq")
    query = match.fingerprint_query(trimmed)
    found = match.compare(query, indexed)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    (segment,) = found.segments
    assert abs(segment.reference_start - 1.2) <= 0.25 and abs(segment.reference_end - 3.2) <= 0.25
    # Two frames a second leave too few bright enough frames in the trimmed stretch.
    assert match.compare(query, indexed.resampled(DEFAULT_SAMPLING)) is None


def test_a_segment_takes_in_the_dark_stretch_both_clips_share(tmp_path: Path) -> None:
    # A source that opens on a second of black, cut into a compilation after three seconds of
    # other footage: the shared footage starts where the black does, not where the picture does.
    # Black is sensor noise, drawn afresh for each file (as a re-encode redraws it): the hashes
    # of its frames are noise too, unlike on the two sides.
    spec = samples.ClipSpec(samples.scenes(2, 3.0, seed=8), width=320, height=180)
    shots = list(samples.render(spec))

    def opening_dark(seed: int) -> list[tuple[float, np.ndarray]]:
        rng = np.random.default_rng(seed)
        return [(t, rng.integers(0, 4, image.shape, dtype=np.uint8) if t < 1.0 else image) for t, image in shots]

    other = samples.ClipSpec(samples.scenes(1, 3.0, seed=77), width=320, height=180)
    source, compilation = tmp_path / "source.mp4", tmp_path / "compilation.mp4"
    samples.write_frames(source, opening_dark(1), fps=25)
    samples.write_frames(compilation, list(samples.render(other)) + [(3.0 + t, image) for t, image in opening_dark(2)],
                         fps=25)
    found = match.compare(match.fingerprint_query(compilation), fingerprint(source))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    (segment,) = found.segments
    assert abs(segment.query_start - 3.0) <= 0.25 and segment.reference_start <= 0.25
    assert abs(segment.query_end - 9.0) <= 0.25


def test_offset_votes_counted_on_a_grid_agree_with_counting_by_sorting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fullest offset bin of each row is the same whether marked on a grid or found by sorting (the
    grid is used while small enough), ties and all."""
    rng = np.random.default_rng(11)
    for pairs, bins, frames in ((1500, 25, 60), (40, 3, 5), (300, 400, 240), (1, 1, 1)):
        keys = rng.integers(-bins, bins, size=(2 * len(match.SPEEDS), pairs))
        qi = rng.integers(0, frames, size=pairs)
        on_grid = match._fullest_bins(keys, qi)
        monkeypatch.setattr(match, "GRID_CELLS", 0)
        sorted_out = match._fullest_bins(keys, qi)
        monkeypatch.undo()
        assert on_grid == sorted_out
        rows, votes, fullest = on_grid
        assert rows == list(range(len(keys)))
        for row, count, key in zip(rows, votes, fullest):
            per_bin = [len(set(qi[keys[row] == b].tolist())) for b in range(-bins, bins)]
            assert count == max(per_bin) and key == -bins + per_bin.index(count)


def test_median_is_numpys() -> None:
    rng = np.random.default_rng(12)
    for count in (1, 2, 3, 10, 11, 60):
        values = rng.normal(size=count) * 7.3
        assert match._median(values) == float(np.median(values))
        steps = np.round(values, 1)  # ties, as frame steps have
        assert match._median(steps) == float(np.median(steps))


def test_line_fit_is_numpys_least_squares_line() -> None:
    rng = np.random.default_rng(13)
    for count in (2, 4, 9, 60, 400):
        times = np.sort(rng.uniform(0, 30, size=count))
        times[-1] = times[0] + 5.0 + times[-1]  # never constant
        mapped = rng.uniform(0.8, 1.25) * times + rng.normal(0, 3) + rng.normal(0, 0.2, size=count)
        speed, offset = match._line_fit(times, mapped)
        expected = np.polyfit(times, mapped, 1)
        assert speed == pytest.approx(expected[0], rel=1e-9, abs=1e-12)
        assert offset == pytest.approx(expected[1], rel=1e-9, abs=1e-9)


def test_search_verifies_the_shortlist(tmp_path: Path, source: tuple[Fingerprint, Frames],
                                       other_footage: Path) -> None:
    original, frames = source
    other = fingerprint(other_footage)
    with open_index(tmp_path / "index.db", create=True) as index:
        stored = {fp.sha256: index.add_clip(Clip(sha256=fp.sha256, size=fp.size, media_type="video/mp4"), fp).id
                  for fp in (other, original)}
        query = variant(tmp_path, "copy", [(t, f[::2, ::2]) for t, f in frames])
        chosen = match.shortlist(index, query)
        assert chosen[0] == stored[original.sha256]
        found = match.search(index, query)
        assert [m.clip_id for m in found] == [stored[original.sha256]]
        assert {m.clip_id for m in found} <= set(chosen)
        # With no places for clips with near keys, the copy's source is not shortlisted, and not found.
        assert stored[original.sha256] not in match.shortlist(index, query, candidates=0)
        assert match.search(index, query, candidates=0) == []
