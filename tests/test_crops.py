"""Cropped copies: the index keeps a hash of each frame's inner picture, and a query looks for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, cropped_copy, needs_corpus
from vidprov import ingest, match, samples
from vidprov.borders import CropBox
from vidprov.errors import ValidationError
from vidprov.fingerprint import (
    CROPPED_SHARE,
    INDEX_MIN_FRAMES,
    INNER_SHARE,
    INNER_VIEW_STEPS,
    Fingerprint,
    fingerprint,
    inner_box,
    inner_view_boxes,
)
from vidprov.index import open_index


def test_boxes_hold_the_inner_picture_of_any_ten_percent_crop() -> None:
    crop = CropBox(0, 0, 1000, 600)
    inner = inner_box(crop)
    assert (inner.x, inner.y, inner.width, inner.height) == (100, 60, 800, 480)
    views = inner_view_boxes(CropBox(0, 0, 900, 540))
    assert len(views) == INNER_VIEW_STEPS ** 2
    assert {(v.width, v.height) for v in views} == {(800, 480)}
    # A copy cut from x = 0..100 shows the source's inner picture at 100 - x: the views span that range.
    assert min(v.x for v in views) == 0 and max(v.x for v in views) == 100
    assert INNER_SHARE / CROPPED_SHARE < 1


@pytest.mark.parametrize("left, top", [(13, 9), (27, 2)])
def test_cropped_copy_matches_through_the_inner_picture(tmp_path: Path, footage: tuple[Path, samples.ClipSpec],
                                                        left: int, top: int) -> None:
    path, spec = footage
    query = match.fingerprint_query(cropped_copy(tmp_path, spec, left, top))
    reference = fingerprint(path, inner=True)
    found = match.compare(query, reference)
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD
    assert found.cropped and not found.mirrored
    assert found.query_coverage >= 0.8 and found.reference_coverage >= 0.8
    assert found.speed == pytest.approx(1.0, abs=0.1)
    # Without the inner pictures, only the whole frames are left to match, and they match less well.
    whole = match.compare(query, fingerprint(path))
    assert whole is None or whole.score < found.score


@needs_corpus
def test_real_footage_cropped_matches_only_through_the_inner_picture(tmp_path: Path) -> None:
    from vidprov.media import Decoder, Sampling

    source = CORPUS / "te_pattern-hd-no-bar.mp4"
    frames = []
    decoder = Decoder(str(source), Sampling("all", 0.0))
    for frame in decoder:
        rgb = frame.rgb()
        height, width = rgb.shape[:2]
        kept_w, kept_h = int(width * CROPPED_SHARE) // 2 * 2, int(height * CROPPED_SHARE) // 2 * 2
        x, y = int((width - kept_w) * 0.45), int((height - kept_h) * 0.7)
        frames.append((frame.time, np.ascontiguousarray(rgb[y:y + kept_h, x:x + kept_w])))
    decoder.close()
    copy = tmp_path / "cropped.mp4"
    samples.write_frames(copy, frames, fps=25, options={"crf": "26"}, timestamps="vfr")
    query = match.fingerprint_query(copy)
    found = match.compare(query, fingerprint(source, inner=True))
    assert found is not None and found.score >= match.DEFAULT_THRESHOLD and found.cropped
    assert found.query_coverage >= 0.8
    assert match.compare(query, fingerprint(source)) is None


def test_unrelated_footage_does_not_match_through_inner_views(footage: tuple[Path, samples.ClipSpec],
                                                               other_footage: Path) -> None:
    query = match.fingerprint_query(other_footage)
    assert query.inner_views and all(len(f.inner_views) == len(query.inner_views) for f in query.frames)
    assert match.compare(query, fingerprint(footage[0], inner=True)) is None


def test_index_finds_a_cropped_copy(tmp_path: Path, footage: tuple[Path, samples.ClipSpec],
                                    other_footage: Path) -> None:
    path, spec = footage
    with open_index(tmp_path / "index.db", create=True) as index:
        added = ingest.add(index, path)
        ingest.add(index, other_footage)
        stored = index.fingerprint(added.clip.id)
        assert stored is not None and stored.inner is not None
        fresh = fingerprint(path, inner=True, min_frames=INDEX_MIN_FRAMES)
        assert np.array_equal(stored.inner_hashes(), fresh.inner_hashes())
        arrays = index.frame_arrays([added.clip.id])[added.clip.id]
        assert np.array_equal(arrays.inner_arrays().hashes(), fresh.inner_hashes())
        query = match.fingerprint_query(cropped_copy(tmp_path, spec, 20, 6))
        found = match.search(index, query)
    assert [m.clip_id for m in found] == [added.clip.id]
    assert found[0].cropped and found[0].to_dict()["cropped"] is True


def test_inner_hashes_round_trip_and_are_checked(footage: tuple[Path, samples.ClipSpec]) -> None:
    query = match.fingerprint_query(footage[0])
    assert query.inner is not None and query.inner_hashes() is not None
    again = Fingerprint.from_json(query.to_json())
    assert again == query
    stored = query.for_index()
    assert stored.inner == query.inner and np.array_equal(stored.inner_hashes(), query.inner_hashes())
    assert not stored.inner_views and not stored.windows and stored.mirror_hashes() is None
    data = query.to_dict()
    del data["frames"][3]["inner"]
    with pytest.raises(ValidationError, match=r"frames\[3\]\.inner"):
        Fingerprint.from_dict(data)
    data = stored.to_dict()
    data["frames"][0]["inner_views"] = [data["frames"][0]["hash"]]
    with pytest.raises(ValidationError, match="inner views"):
        Fingerprint.from_dict(data)


def test_report_and_cli_show_a_cropped_match(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    from click.testing import CliRunner

    from vidprov.cli import main
    from vidprov.report import pair_times

    path, spec = footage
    copy = cropped_copy(tmp_path, spec, 9, 17)
    query, reference = match.fingerprint_query(copy), fingerprint(path, inner=True)
    found = match.compare(query, reference)
    assert found is not None and found.cropped
    pairs = pair_times(found, query, reference)
    # The distances shown are those of the inner pictures that matched, not of the whole frames.
    assert pairs and max(distance for _, _, distance in pairs) <= 0.36 * 256
    index = tmp_path / "index.db"
    runner = CliRunner()
    assert runner.invoke(main, ["add", str(path), "--index", str(index)]).exit_code == 0
    result = runner.invoke(main, ["match", str(copy), "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert "cropped" in result.output and "matches  1" in result.output
