"""The backend contract: every index backend must pass this one suite.

The suite runs against SQLite always, and against PostgreSQL when
``$VIDPROV_TEST_POSTGRES`` names a server (``.ci/run`` starts one).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from vidprov import match, samples
from vidprov.errors import ValidationError
from conftest import cropped_copy
from vidprov.fingerprint import DEFAULT_SAMPLING, Fingerprint, fingerprint
from vidprov.hashing import ALGORITHMS
from vidprov.index import ClipFilter, open_index
from vidprov.index import keys as K
from vidprov.index.base import Index
from vidprov.records import (
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Clip,
    Platform,
    Timestamp,
    Verdict,
    VerdictStatus,
    parse_date_claim,
    parse_timestamp,
)

POSTGRES = os.environ.get("VIDPROV_TEST_POSTGRES")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


def new_index(backend: str, tmp_path: Path, algorithm: str | None = None) -> Index:
    if backend == "sqlite":
        return open_index(tmp_path / "index.db", create=True, algorithm=algorithm)
    # A fresh database per test keeps tests apart on one server.
    import psycopg

    name = f"vidprov_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0]
    return open_index(f"{base}/{name}", create=True, algorithm=algorithm)


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    opened = new_index(request.param, tmp_path)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def fps(footage: tuple[Path, samples.ClipSpec], other_footage: Path) -> dict[str, Fingerprint]:
    return {"footage": fingerprint(footage[0]), "other": fingerprint(other_footage)}


def clip_of(fp: Fingerprint) -> Clip:
    return Clip(sha256=fp.sha256, size=fp.size, media_type="video/mp4", duration_s=fp.duration)


def test_add_clip_once_per_sha256(index: Index, fps: dict[str, Fingerprint]) -> None:
    fp = fps["footage"]
    first = index.add_clip(clip_of(fp), fp, {"format": {"container": "mp4"}})
    again = index.add_clip(clip_of(fp), fp)
    assert first.created and not again.created
    assert first.id == again.id
    assert index.count_clips() == 1
    assert index.fingerprint(first.id) == fp
    assert index.metadata(first.id) == {"format": {"container": "mp4"}}
    assert index.clip_by_sha256(fp.sha256).clip == clip_of(fp)
    assert index.clip_by_id(first.id).sha256 == fp.sha256
    assert index.clip_by_id(first.id + 100) is None


def test_bulk_add_matches_single_adds(index: Index, fps: dict[str, Fingerprint]) -> None:
    import dataclasses

    copies = [dataclasses.replace(fps["footage"], sha256=f"{n:064x}") for n in range(1, 6)]
    stored = index.add_clips([(clip_of(fp), fp, None) for fp in copies[:3]])
    stored += [index.add_clip(clip_of(fp), fp) for fp in copies[3:]]
    assert [s.created for s in stored] == [True] * 5
    assert index.add_clips([(clip_of(copies[0]), copies[0], None)])[0].created is False
    votes = match.candidate_votes(index, fps["footage"])
    assert sorted(votes) == sorted(s.id for s in stored)
    assert len(set(votes.values())) == 1  # every copy found by the same frames, however it was added
    assert index.fingerprints([s.id for s in stored]) == {s.id: fp for s, fp in zip(stored, copies)}


def test_fingerprint_algorithm_must_match(index: Index, footage: tuple[Path, samples.ClipSpec]) -> None:
    phash = fingerprint(footage[0], algorithm="phash")
    with pytest.raises(ValidationError, match="algorithm"):
        index.add_clip(clip_of(phash), phash)
    assert index.count_clips() == 0


def test_prefix_lookup(index: Index, fps: dict[str, Fingerprint]) -> None:
    for fp in fps.values():
        index.add_clip(clip_of(fp), fp)
    sha = fps["footage"].sha256
    assert [c.sha256 for c in index.clips_by_prefix(sha[:8])] == [sha]
    assert index.clips_by_prefix("") == [] and index.clips_by_prefix("xyz") == []
    assert len(index.clips_by_prefix(sha[:1] if sha[0] == fps["other"].sha256[0] else sha[:64])) >= 1


def test_transaction_is_all_or_nothing(index: Index, fps: dict[str, Fingerprint]) -> None:
    fp = fps["footage"]
    with pytest.raises(RuntimeError):
        with index.transaction():
            index.add_clip(clip_of(fp), fp)
            index.add_appearance(Appearance(platform=Platform("x"), clip_sha256=fp.sha256, publisher="A"))
            raise RuntimeError("interrupted")
    assert index.count_clips() == 0
    assert index.records().appearances == ()


def test_records_round_trip(index: Index, fps: dict[str, Fingerprint]) -> None:
    fp, other = fps["footage"], fps["other"]
    index.add_clip(clip_of(fp), fp)
    index.add_clip(clip_of(other), other)
    posted = parse_timestamp("2024-10-18T09:30:00+03:00")
    appearance = Appearance(platform=Platform("x"), clip_sha256=fp.sha256, publisher="CSCIS", handle="@cscis",
                            url="https://x.com/cscis/status/1", posted_at=posted)
    claim = Claim(appearance_id=appearance.id, text="troops at <b>Sergeevka</b>'; DROP TABLE clips; --",
                  date=parse_date_claim("max-age:3d", posted_at=posted))
    assessment = Assessment(kind=AssessmentKind("geolocation"), clip_sha256s=(other.sha256,), made_by="TV team",
                            made_at=datetime(2024, 10, 20, tzinfo=timezone.utc), result="Sergeevka")
    verdict = Verdict(clip_sha256=fp.sha256, status=VerdictStatus("unverified"), reviewer="desk",
                      decided_at=datetime(2024, 10, 21, tzinfo=timezone.utc), note="cannot be verified")
    for _ in range(2):  # storing the same records twice changes nothing
        index.add_appearance(appearance)
        index.add_claim(claim)
        index.add_assessment(assessment)
        index.add_verdict(verdict)
    bundle = index.records([fp.sha256])
    assert bundle.appearances == (appearance,)
    assert bundle.claims == (claim,)
    assert bundle.verdicts == (verdict,)
    assert bundle.assessments == ()  # the geolocation was of the other clip, not this one
    assert index.records([other.sha256]).assessments == (assessment,)
    everything = index.records()
    assert {c.sha256 for c in everything.clips} == {fp.sha256, other.sha256}
    assert everything.claims == (claim,)


def test_list_clips_filters(index: Index, fps: dict[str, Fingerprint]) -> None:
    fp, other = fps["footage"], fps["other"]
    index.add_clip(clip_of(fp), fp)
    index.add_clip(clip_of(other), other)
    index.add_appearance(Appearance(platform=Platform("x"), clip_sha256=fp.sha256, publisher="CSCIS",
                                    posted_at=parse_timestamp("2024-10-18")))
    index.add_appearance(Appearance(platform=Platform("telegram"), clip_sha256=other.sha256, publisher="UP",
                                    posted_at=parse_timestamp("2023-05-01")))
    assert [c.sha256 for c in index.list_clips()] == [fp.sha256, other.sha256]
    assert [c.sha256 for c in index.list_clips(ClipFilter(publisher="UP"))] == [other.sha256]
    assert [c.sha256 for c in index.list_clips(ClipFilter(platform="x"))] == [fp.sha256]
    after = ClipFilter(posted_after=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert [c.sha256 for c in index.list_clips(after)] == [fp.sha256]


def test_postings_find_every_frame(index: Index, fps: dict[str, Fingerprint]) -> None:
    fp = fps["footage"]
    stored = index.add_clip(clip_of(fp), fp)
    frame_keys = K.frame_keys(fp.hashes(), index.algorithm)
    chunks = K.chunk_values(frame_keys)
    wanted = [(c, int(chunks[f, c])) for f in range(len(frame_keys)) for c in range(K.CHUNKS)]
    found = index.postings(wanted)
    for frame in range(len(frame_keys)):
        entries = found[(0, int(chunks[frame, 0]))]
        hit = entries[(entries["clip"] == stored.id) & (entries["frame"] == frame)]
        assert len(hit) == 1 and int(hit["key"][0]) == int(frame_keys[frame])
    optimize = getattr(index, "optimize", None)
    if optimize:
        optimize()
        assert {k: len(v) for k, v in index.postings(wanted).items()} == {k: len(v) for k, v in found.items()}


def test_search_finds_a_reupload_and_not_unrelated_footage(index: Index, fps: dict[str, Fingerprint],
                                                           footage: tuple[Path, samples.ClipSpec],
                                                           tmp_path: Path) -> None:
    fp, other = fps["footage"], fps["other"]
    stored = index.add_clip(clip_of(fp), fp)
    index.add_clip(clip_of(other), other)
    import av

    copy = tmp_path / "reupload.mp4"
    with av.open(str(footage[0])) as source:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")[::2, ::2]) for f in source.decode(video=0)]
    samples.write_frames(copy, frames[50:], fps=25, options={"crf": "34"})
    query = fingerprint(copy, mirror=True)
    found = match.search(index, query)
    assert [m.clip_id for m in found] == [stored.id]
    assert found[0].segments[0].reference_start == pytest.approx(2.0, abs=0.6)
    unrelated = samples.ClipSpec(samples.scenes(2, 3.0, seed=1234))
    samples.write_clip(tmp_path / "unrelated.mp4", unrelated)
    assert match.search(index, fingerprint(tmp_path / "unrelated.mp4", mirror=True)) == []


def test_same_results_from_hashes(index: Index, fps: dict[str, Fingerprint]) -> None:
    """Candidate votes depend only on the stored hashes, whatever the backend."""
    fp = fps["footage"]
    stored = index.add_clip(clip_of(fp), fp)
    votes = match.candidate_votes(index, fp)
    assert votes == {stored.id: int(np.sum([f.quality >= match.MIN_QUALITY for f in fp.frames]))}
    assert Timestamp  # the records API used above stays importable from vidprov.records


def test_inner_pictures_are_stored_and_searched(index: Index, tmp_path: Path,
                                                footage: tuple[Path, samples.ClipSpec], other_footage: Path) -> None:
    path, spec = footage
    fp = fingerprint(path, inner=True)
    stored = index.add_clip(clip_of(fp), fp)
    query = match.fingerprint_query(other_footage)
    other = index.add_clip(clip_of(query), query.resampled(query.sampling or DEFAULT_SAMPLING))
    assert index.fingerprint(stored.id) == fp
    # A query's own views (mirror, windows, inner views) are not stored; its inner pictures are.
    kept = index.fingerprint(other.id)
    assert kept == query.for_index() and kept.inner is not None and not kept.inner_views
    arrays = index.frame_arrays([stored.id])[stored.id]
    assert np.array_equal(arrays.hashes(), fp.hashes()) and np.array_equal(arrays.times(), fp.times())
    assert np.array_equal(arrays.qualities(), fp.qualities())
    assert np.array_equal(arrays.inner_arrays().hashes(), fp.inner_hashes())
    # The inner pictures are in the posting lists: each inner key is found under the clip.
    inner_keys = K.frame_keys(fp.inner_hashes(), "pdq")
    lists = index.posting_lists(sorted({int(v) for v in K.list_ids(np.full(len(inner_keys), K.INNER_CHUNKS),
                                                                      K.chunk_values(inner_keys)[:, 0])}))
    found = K.whole_keys(lists.rests, lists.posting_lists())[lists.clips == stored.id]
    assert set(inner_keys.tolist()) <= set(found.tolist())
    results = match.search(index, match.fingerprint_query(cropped_copy(tmp_path, spec, 22, 5)))
    assert [m.clip_id for m in results] == [stored.id] and results[0].cropped


def test_joined_posting_lists_equal_the_postings_gathered_afresh() -> None:
    rng = np.random.default_rng(3)

    def some(count: int) -> K.PostingLists:
        return K.PostingLists.of_postings(rng.integers(0, 20, count), rng.integers(0, 100, count),
                                          rng.integers(0, 50, count), rng.integers(0, 1 << 48, count).astype(np.uint64))

    for _ in range(50):
        parts = [some(int(rng.integers(1, 60))) for _ in range(3)]
        joined = parts[0].join(parts[1]).join(parts[2])
        afresh = K.PostingLists.of_postings(*(np.concatenate([getattr(p, name)() if callable(getattr(p, name))
                                                              else getattr(p, name) for p in parts])
                                              for name in ("posting_lists", "clips", "frames", "rests")))
        for name in ("lists", "bounds", "clips", "rests", "frames"):
            assert np.array_equal(getattr(joined, name), getattr(afresh, name)), name



def test_stored_lists_give_the_clip_and_frame_of_any_posting() -> None:
    """Stored lists keep runs of consecutive frames; a search asks for the clip and frame of a few postings."""
    from vidprov.index import packing

    rng = np.random.default_rng(11)
    count = 400
    entries = np.empty(count, dtype=K.CHUNKED)
    entries["chunk"] = rng.integers(0, 2, count)
    entries["value"] = rng.integers(0, 3, count)
    entries["clip"] = rng.integers(1, 6, count)
    entries["frame"] = rng.integers(0, 40, count)
    # Each key holds its list's chunk value in its chunk's bits.
    shifts = (48 - 16 * entries["chunk"].astype(np.int64)).astype(np.uint64)
    keys_ = rng.integers(0, 2**63, count, dtype=np.uint64) & ~(np.uint64(0xFFFF) << shifts)
    entries["key"] = keys_ | (entries["value"].astype(np.uint64) << shifts)
    entries = np.unique(entries)  # a clip's frame appears once per list
    lists, groups, keys_ = packing.encode_lists(entries)
    stored = packing.decode_lists(list(zip(lists, groups, keys_)))
    assert len(stored.run_clips) < len(stored.rests)  # consecutive frames share runs
    positions = rng.permutation(len(stored.rests))[:50]
    assert np.array_equal(stored.clips_at(positions), stored.clips[positions])
    clips, frames = stored.postings_at(positions)
    assert np.array_equal(clips, stored.clips[positions]) and np.array_equal(frames, stored.frames[positions])
    # Every posting comes back with its clip, frame and whole key.
    back = {(int(list_id), int(c), int(f), int(k)) for list_id, c, f, k in zip(
        stored.posting_lists(), stored.clips, stored.frames, K.whole_keys(stored.rests, stored.posting_lists()))}
    written = {((int(e["chunk"]) << K.CHUNK_BITS) | int(e["value"]), int(e["clip"]), int(e["frame"]), int(e["key"]))
               for e in entries}
    assert back == written


def test_near_postings_are_the_same_read_in_pieces_or_joined() -> None:
    """A search checks stored and pending lists where they lie; the near postings it finds are those of the
    joined lists, lists asked for twice included."""
    rng = np.random.default_rng(12)

    def some(count: int) -> K.PostingLists:
        return K.PostingLists.of_postings(rng.integers(0, 12, count), rng.integers(0, 30, count),
                                          rng.integers(0, 50, count), rng.integers(0, 1 << 48, count).astype(np.uint64))

    for _ in range(30):
        joined = some(int(rng.integers(20, 200))).join(some(int(rng.integers(1, 20))))
        assert len(joined.pieces()) == 2
        afresh = K.PostingLists.of_postings(joined.posting_lists(), joined.clips, joined.frames, joined.rests)
        # Asks near some postings (3 bits off), in lists of their own or asked twice or more.
        chosen = rng.integers(0, len(afresh.rests), int(rng.integers(5, 25)))
        asked_lists = afresh.posting_lists()[chosen]
        asked_rests = afresh.rests[chosen] ^ np.uint64(0b1011)

        def found(pieces: tuple[K.PostingLists, ...]) -> set[tuple[int, int, int, int]]:
            near = [match._near_postings(piece, asked_lists, asked_rests, frames=True) for piece in pieces]
            return {(int(a), int(c), int(d), int(f)) for asks, clips, distances, frames in near
                    for a, c, d, f in zip(asks, clips, distances, frames)}

        expected = set()
        for ask, list_id in enumerate(asked_lists.tolist()):
            in_list = afresh.posting_lists() == list_id
            expected |= {(ask, int(c), int(d), int(f)) for c, f, d in zip(
                afresh.clips[in_list], afresh.frames[in_list], K.key_distance(afresh.rests[in_list], asked_rests[ask]))
                if d <= match.KEY_DISTANCE}
        assert expected and found(joined.pieces()) == expected == found((afresh,))


def test_key_rests_rebuild_the_whole_keys() -> None:
    rng = np.random.default_rng(8)
    frame_keys = np.concatenate((np.array([0, 2**64 - 1, 2**63, 1], dtype=np.uint64),
                                 rng.integers(0, 2**63, size=500, dtype=np.uint64) * np.uint64(2)))
    chunks = K.chunk_values(frame_keys)
    for chunk in range(K.CHUNKS):
        lists = K.list_ids(np.full(len(frame_keys), chunk), chunks[:, chunk])
        rests = K.key_rests(frame_keys, lists)
        assert int(rests.max()) < 2**48
        assert np.array_equal(K.whole_keys(rests, lists), frame_keys)
        # Two keys of one list are as far apart as their rests.
        same = lists == lists[0]
        assert np.array_equal(K.key_distance(rests[same], rests[0]), K.key_distance(frame_keys[same], frame_keys[0]))


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_frame_keys_are_the_key_bits_of_each_hash(algorithm: str) -> None:
    # The keys are taken as whole bytes where they can be; bit by bit, they are the same.
    rng = np.random.default_rng(9)
    hashes = rng.integers(0, 256, size=(300, ALGORITHMS[algorithm].bits // 8), dtype=np.uint8)
    positions = K._key_positions(algorithm)
    bits = np.unpackbits(hashes, axis=1)[:, positions]
    expected = (bits.astype(np.uint64) << np.arange(63, -1, -1, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    assert np.array_equal(K.frame_keys(hashes, algorithm), expected)
    assert len(positions) == 64 and len(set(positions.tolist())) == 64


def _drifting_keys(rng: np.random.Generator, frames: int) -> np.ndarray:
    """64-bit hashes (packed) that drift a few bits a frame, with a cut."""
    flips = np.zeros((frames, 64), dtype=bool)
    flips[np.repeat(np.arange(frames), 3), rng.integers(0, 64, size=3 * frames)] = True
    bits = np.logical_xor.accumulate(flips, axis=0) ^ (rng.random(64) < 0.5)
    bits[frames // 2:] ^= rng.random(64) < 0.5
    return np.packbits(bits, axis=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_candidate_votes_agree_with_a_brute_force_count(backend: str, tmp_path: Path) -> None:
    """Every clip with a frame sharing a chunk with a query frame, and within the key distance, gets its vote."""
    from vidprov.fingerprint import FrameRecord
    from vidprov.hashing import FrameHash

    def fingerprint_of(number: int, hashes: np.ndarray) -> Fingerprint:
        frames = tuple(FrameRecord(i * 0.5, FrameHash(h.tobytes(), 64), 100, i * 15) for i, h in enumerate(hashes))
        return Fingerprint(sha256=f"{number:064x}", algorithm="phash", params=(("input", "gray64"),),
                           duration=len(hashes) * 0.5, fps=30.0, width=64, height=64, codec="h264", crop=None,
                           frames=frames, size=1000)

    rng = np.random.default_rng(5)
    query_hashes = _drifting_keys(rng, 40)
    stored: list[np.ndarray] = []
    for number in range(60):
        if number % 3 == 0:  # copies of the query, noisier and noisier, shifted in time
            bits = np.unpackbits(query_hashes[number % 7:], axis=1).astype(bool)
            bits ^= rng.random(bits.shape) < number / 240
            stored.append(np.packbits(bits, axis=1))
        else:
            stored.append(_drifting_keys(rng, int(rng.integers(5, 50))))
    with new_index(backend, tmp_path, algorithm="phash") as index:
        ids = [s.id for s in index.add_clips([(clip_of(fp), fp, None) for fp in
                                               (fingerprint_of(n, h) for n, h in enumerate(stored[:30]))])]
        ids += [index.add_clip(clip_of(fp), fp).id for fp in  # one by one: pending postings, on SQLite
                (fingerprint_of(n, h) for n, h in enumerate(stored[30:], start=30))]
        votes = match.candidate_votes(index, fingerprint_of(99, query_hashes))
    query_keys = np.concatenate([K.frame_keys(hashes, "phash") for _, _, hashes in
                                 match._query_views(fingerprint_of(99, query_hashes))])
    frames = np.tile(np.arange(len(query_hashes)), len(query_keys) // len(query_hashes))
    expected = {}
    for clip_id, hashes in zip(ids, stored):
        clip_keys = K.frame_keys(hashes, "phash")
        near = (K.key_distance(query_keys[:, None], clip_keys[None, :]) <= match.KEY_DISTANCE) & \
            (K.chunk_values(query_keys)[:, None, :] == K.chunk_values(clip_keys)[None, :, :]).any(axis=2)
        if near.any():
            expected[clip_id] = len(set(frames[near.any(axis=1)].tolist()))
    assert votes == expected
    assert sum(1 for n in range(0, 60, 3) if ids[n] in votes) >= 10  # the check is not vacuous
