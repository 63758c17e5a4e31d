"""9:16 windows cut from landscape footage: the index keeps two strips of a 16:9 picture, a portrait
query looks for them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, needs_corpus
from vidprov import ingest, match, samples
from vidprov.borders import CropBox
from vidprov.errors import SchemaVersionError
from vidprov.fingerprint import (
    SHORT_STRIP_EVERY,
    STRIP_EVERY,
    STRIP_LEFTS,
    STRIP_SHARE,
    STRIP_VIEW_STEPS,
    Fingerprint,
    FrameRecord,
    fingerprint,
    index_sampling,
    strip_boxes,
    strip_every,
    strip_view_boxes,
)
from vidprov.hashing import FrameHash
from vidprov.index import open_index
from vidprov.records import Clip

WIDTH, HEIGHT = 640, 360


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, samples.ClipSpec]:
    """Nine seconds of 16:9 footage: three textured shots, panning, with moving objects."""
    spec = samples.ClipSpec(samples.scenes(3, 3.0, seed=31), width=WIDTH, height=HEIGHT)
    path = tmp_path_factory.mktemp("landscape") / "landscape.mp4"
    samples.write_clip(path, spec)
    return path, spec


def vertical_window(folder: Path, spec: samples.ClipSpec, left: int, name: str = "vertical") -> Path:
    """A 9:16 window of the footage, as tall as it, ``left`` pixels in, re-encoded."""
    width = int(round(spec.height * 9 / 16)) // 2 * 2
    frames = [(t, np.ascontiguousarray(f[:, left:left + width])) for t, f in samples.render(spec)]
    path = folder / f"{name}.mp4"
    samples.write_frames(path, frames, fps=25, options={"crf": "28"})
    return path


def test_strips_and_strip_views_are_where_a_window_may_hold_them() -> None:
    strips = strip_boxes(CropBox(0, 0, 1280, 720))
    assert [(s.x, s.width, s.height) for s in strips] == [(440, 240, 720), (600, 240, 720)]
    assert [s.x / 1280 for s in strips] == list(STRIP_LEFTS) and strips[0].width == 1280 * STRIP_SHARE
    assert strip_boxes(CropBox(0, 0, 640, 480)) == () and strip_boxes(CropBox(0, 0, 360, 640)) == ()
    # A 9:16 window of a 1280x720 picture is 405 pixels wide; a strip in it is 240 of them, anywhere.
    views = strip_view_boxes(CropBox(0, 0, 405, 720))
    assert len(views) == STRIP_VIEW_STEPS and {(v.width, v.height) for v in views} == {(240, 720)}
    assert min(v.x for v in views) == 0 and max(v.x for v in views) == 405 - 240
    assert strip_view_boxes(CropBox(0, 0, 640, 360)) == ()
    # Every window from the middle third of the places it may be holds a strip whole.
    window = 405
    for left in np.linspace((1280 - window) / 3, 2 * (1280 - window) / 3, 50):
        assert any(left <= s.x and s.x + s.width <= left + window for s in strips), left


@pytest.mark.parametrize("share", [1 / 3, 0.5, 2 / 3])
def test_a_vertical_window_matches_through_the_strips(tmp_path: Path, landscape: tuple[Path, samples.ClipSpec],
                                                      share: float) -> None:
    path, spec = landscape
    width = int(round(spec.height * 9 / 16)) // 2 * 2
    left = int(round((spec.width - width) * share))
    query = match.fingerprint_query(vertical_window(tmp_path, spec, left))
    assert len(query.strip_views) == STRIP_VIEW_STEPS and Fingerprint.from_json(query.to_json()) == query
    reference = ingest.index_fingerprint(path, "pdq")
    found = match.compare(query, reference)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD and found.cropped
    assert found.query_coverage >= 0.8 and found.reference_coverage >= 0.8
    assert found.speed == pytest.approx(1.0, abs=0.1)
    # Without the strips, a third of the picture is too little of it for the whole frames to match.
    whole = match.compare(query, fingerprint(path, inner=True))
    assert whole is None or whole.score < match.DEFAULT_THRESHOLD


def test_a_vertical_window_of_other_footage_does_not_match(tmp_path: Path,
                                                           landscape: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = landscape
    other = samples.ClipSpec(samples.scenes(3, 3.0, seed=47), width=WIDTH, height=HEIGHT)
    query = match.fingerprint_query(vertical_window(tmp_path, other, 180, "other"))
    assert match.compare(query, ingest.index_fingerprint(path, "pdq")) is None


def test_strips_are_on_one_indexed_frame_in_four_or_two_for_a_short_clip() -> None:
    assert strip_every(index_sampling(40.0)) == strip_every(index_sampling(16.0)) == STRIP_EVERY == 4
    assert strip_every(index_sampling(None)) == STRIP_EVERY
    # A clip under 16 s is indexed more densely; every other frame of it keeps strips (every 0.25 s at 4 s).
    assert strip_every(index_sampling(15.0)) == strip_every(index_sampling(4.0)) == SHORT_STRIP_EVERY == 2
    assert index_sampling(4.0).interval * SHORT_STRIP_EVERY == 0.25


def test_an_indexed_clip_keeps_strips_on_those_frames_and_a_query_has_the_same(
        landscape: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = landscape
    indexed = ingest.index_fingerprint(path, "pdq")
    assert indexed.strips == strip_boxes(indexed.crop or CropBox.full(WIDTH, HEIGHT))
    numbers = indexed.strip_frames()
    every = strip_every(index_sampling(indexed.duration))
    assert every == SHORT_STRIP_EVERY  # nine seconds
    assert numbers.tolist() == list(range(0, len(indexed.frames), every))
    hashes = indexed.strip_hashes()
    assert hashes is not None and hashes.shape == (len(numbers), 2, 32)
    # `vidprov match --add` stores the query's frames on the index's grid: the same strips.
    query = match.fingerprint_query(path)
    stored = query.resampled(index_sampling(query.duration)).for_index()
    assert stored.strip_frames().tolist() == numbers.tolist()
    assert np.array_equal(stored.strip_hashes(), hashes) and not stored.strip_views
    assert Fingerprint.from_json(query.to_json()) == query


def test_the_index_stores_strips_and_finds_a_vertical_window(tmp_path: Path, other_footage: Path,
                                                             landscape: tuple[Path, samples.ClipSpec]) -> None:
    path, spec = landscape
    with open_index(tmp_path / "index.db", create=True) as index:
        added = ingest.add(index, path)
        ingest.add(index, other_footage)
        assert index.schema_version() == 5
        stored = index.fingerprint(added.clip.id)
        fresh = ingest.index_fingerprint(path, "pdq")
        assert stored is not None and stored.strips == fresh.strips
        assert np.array_equal(stored.strip_hashes(), fresh.strip_hashes())
        assert stored.strip_frames().tolist() == fresh.strip_frames().tolist()
        (first, second) = index.frame_arrays([added.clip.id])[added.clip.id].strip_arrays()
        assert np.array_equal(first.hashes(), fresh.strip_hashes()[:, 0])
        assert np.array_equal(second.times(), fresh.times()[fresh.strip_frames()])
        query = match.fingerprint_query(vertical_window(tmp_path, spec, 150))
        found = match.search(index, query)
    assert [m.clip_id for m in found] == [added.clip.id] and found[0].cropped


def test_strips_raise_the_schema_version_so_older_readers_refuse(
        tmp_path: Path, landscape: tuple[Path, samples.ClipSpec], footage: tuple[Path, samples.ClipSpec],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.index import sqlite as backend
    from vidprov.index.base import INNER_PICTURES, STRIPS

    location = tmp_path / "index.db"
    with open_index(location, create=True) as index:
        with index.transaction():
            index._db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")  # as made before
        inner = fingerprint(footage[0], inner=True, strips=True)  # 4:3, so no strips
        assert not inner.strips
        index.add_clip(Clip(sha256=inner.sha256, size=inner.size, media_type="video/mp4"), inner)
        assert index.schema_version() == INNER_PICTURES
        striped = ingest.index_fingerprint(landscape[0], "pdq")
        index.add_clip(Clip(sha256=striped.sha256, size=striped.size, media_type="video/mp4"), striped)
        assert index.schema_version() == STRIPS
    monkeypatch.setattr(backend, "SCHEMA_VERSION", INNER_PICTURES)  # a vidprov from before strips
    with pytest.raises(SchemaVersionError, match=f"version {STRIPS} is newer"):
        open_index(location)


@needs_corpus
def test_real_footage_cut_to_nine_by_sixteen_matches(tmp_path: Path) -> None:
    from vidprov.media import Decoder, Sampling

    source = CORPUS / "intel_one-by-one-person-detection.mp4"  # 768x432, 10 fps
    frames = []
    with Decoder(source, Sampling.all()) as clip:
        for frame in clip:  # the first 30 s, cut to 9:16 at two fifths of the width
            frames.append((frame.time, np.ascontiguousarray(frame.rgb()[:, 300:300 + 242])))
            if frame.time >= 30:
                break
    window = tmp_path / "office_9x16.mp4"
    samples.write_frames(window, frames, fps=10, options={"crf": "28"})
    found = match.compare(match.fingerprint_query(window), ingest.index_fingerprint(source, "pdq"))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD and found.cropped
    assert found.query_coverage >= 0.8 and found.segments[0].reference_start < 2.0
    # The office is a static shot: its strips look alike at other times too, which gave weaker
    # alignments of moments the first had matched already (8.3 s of the window to 12.0 s of the clip).
    assert len(found.segments) == 1, found.segments


def test_the_report_shows_the_strips_that_matched(tmp_path: Path, landscape: tuple[Path, samples.ClipSpec]) -> None:
    from click.testing import CliRunner

    from vidprov.cli import main
    from vidprov.report import pair_times

    path, spec = landscape
    window = vertical_window(tmp_path, spec, 160)
    query, reference = match.fingerprint_query(window), ingest.index_fingerprint(path, "pdq")
    found = match.compare(query, reference)
    assert found is not None and found.cropped
    pairs = pair_times(found, query, reference)
    # Reference frames with strips, and the distances of the strips that matched, not of the whole frames.
    striped = {reference.frames[n].t for n in reference.strip_frames().tolist()}
    assert pairs and all(r_time in striped for _, r_time, _ in pairs)
    assert max(distance for _, _, distance in pairs) <= 0.25 * 256
    index = tmp_path / "index.db"
    runner = CliRunner()
    assert runner.invoke(main, ["add", str(path), "--index", str(index)]).exit_code == 0
    result = runner.invoke(main, ["match", str(window), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.output)["matches"]
    assert only["cropped"] is True and only["query_coverage"] >= 0.8


def test_compare_finds_a_window_whichever_clip_is_named_first(
        tmp_path: Path, landscape: tuple[Path, samples.ClipSpec]) -> None:
    from click.testing import CliRunner

    from vidprov.cli import main

    path, spec = landscape
    window = vertical_window(tmp_path, spec, 160)
    source, copy = match.fingerprint_query(path), match.fingerprint_query(window)
    forward = match.compare_clips(copy, source)
    backward = match.compare_clips(source, copy)
    assert forward.verdict == backward.verdict == "same footage"
    assert not forward.reversed and backward.reversed
    assert forward.match is not None and backward.match is not None and backward.match.cropped
    # Told from the first clip's side either way: its sha256 is the other's, its segments are the first's.
    assert forward.match.reference == source.sha256 and backward.match.reference == copy.sha256
    (there,), (back,) = forward.match.segments, backward.match.segments
    assert back.query_start == pytest.approx(there.reference_start, abs=0.3)
    assert back.reference_start == pytest.approx(there.query_start, abs=0.3)
    assert backward.match.speed == pytest.approx(1 / forward.match.speed, rel=0.1)
    result = CliRunner().invoke(main, ["compare", "--json", str(path), str(window)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "same footage" and data["reversed"] is True and data["match"]["cropped"] is True
    text = CliRunner().invoke(main, ["compare", str(path), str(window)])
    assert text.output.startswith("same footage\n  found the other way round")


def test_clips_found_through_a_strip_view_have_places_of_their_own(
        tmp_path: Path, other_footage: Path, landscape: tuple[Path, samples.ClipSpec],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, spec = landscape
    with open_index(tmp_path / "index.db", create=True) as index:
        added = ingest.add(index, path)
        ingest.add(index, other_footage)
        query = match.fingerprint_query(vertical_window(tmp_path, spec, 150))
        assert match.candidate_votes(index, query).get(added.clip.id, 0) >= 3
        # No places for clips found through whole frames (in a large index, chance fills them first):
        # the window's source still gets one of the strip views' own.
        monkeypatch.setattr(match, "CANDIDATES", 0)
        found = match.search(index, query, candidates=0)
    assert [m.clip_id for m in found] == [added.clip.id] and found[0].cropped


def _hashes(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` packed 256-bit hashes, each a few bits on from the one before (a moving shot)."""
    flips = np.zeros((count, 256), dtype=bool)
    flips[np.repeat(np.arange(count), 6), rng.integers(0, 256, 6 * count)] = True
    return np.packbits(np.logical_xor.accumulate(flips, axis=0) ^ (rng.random(256) < 0.5), axis=1)


def _flipped(hashes: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    unpacked = np.unpackbits(hashes, axis=1)
    for row in unpacked:
        row[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def _indexed(number: int, frames: np.ndarray, strips: np.ndarray) -> Fingerprint:
    """A 16:9 clip as the index keeps it: 30 frames at 2 a second, two strips on one frame in four."""
    def record(i: int) -> FrameRecord:
        kept = () if i % STRIP_EVERY else tuple(FrameHash(strips[2 * (i // STRIP_EVERY) + s].tobytes(), 256)
                                                 for s in (0, 1))
        return FrameRecord(i * 0.5, FrameHash(frames[i].tobytes(), 256), 100, i * 15, strips=kept)

    return Fingerprint(sha256=f"{number:064x}", algorithm="pdq", params=(("input", "gray64"),), duration=15.0,
                       fps=30.0, width=1280, height=720, codec="h264", crop=None,
                       frames=tuple(record(i) for i in range(len(frames))), size=1000 + number,
                       strips=strip_boxes(CropBox.full(1280, 720)))


def test_a_strip_near_many_frames_of_a_still_query_counts_once(tmp_path: Path) -> None:
    """Through a strip view, a clip whose one strip frame is near every frame of a still stretch of the
    query ranks below a copy whose strip frames are each near one query frame: each frame counts once,
    the query's and the clip's."""
    rng = np.random.default_rng(5)
    views = strip_view_boxes(CropBox.full(406, 720))
    shown = [_hashes(rng, 30) for _ in views]
    # View 3 holds a still picture; view 5 a 9:16 window of the copy's first strip, on the frames that have it.
    still = _hashes(rng, 1)
    shown[3] = _flipped(np.repeat(still, 30, axis=0), rng, 2)
    copied = _hashes(rng, 16)
    window = _flipped(copied[0::2], rng, 6)
    for i in range(0, 30, STRIP_EVERY):
        shown[5][i] = window[i // STRIP_EVERY]
    chance_strips = _hashes(rng, 16)
    chance_strips[4] = still[0]  # the first strip of the chance clip's frame 8
    frames = _hashes(rng, 30)
    query = Fingerprint(
        sha256="f" * 64, algorithm="pdq", params=(("input", "gray64"),), duration=15.0, fps=30.0, width=406,
        height=720, codec="h264", crop=None, size=1,
        frames=tuple(FrameRecord(i * 0.5, FrameHash(frames[i].tobytes(), 256), 100, i * 15,
                                 strip_views=tuple(FrameHash(v[i].tobytes(), 256) for v in shown))
                     for i in range(30)),
        strip_views=views)
    with open_index(tmp_path / "index.db", create=True) as index:
        ids = {}
        for number, strips in ((1, copied), (2, chance_strips)):
            fp = _indexed(number, _hashes(rng, 30), strips)
            ids[number] = index.add_clip(Clip(sha256=fp.sha256, size=fp.size, media_type="video/mp4"), fp).id
        strip_votes = match._votes(index, query)[3]
        copy, chance = strip_votes[ids[1]], strip_votes[ids[2]]
        # (query frames, nearness): the chance clip has more query frames, the copy more nearness.
        assert chance[0] > copy[0] >= 4 and copy[1] > chance[1]
        assert chance[1] <= match.KEY_DISTANCE + 1  # one frame of its own
        assert match.shortlist(index, query, candidates=0) == [ids[1], ids[2]]
