"""The scale benchmark's reference layout: filled with the same synthetic clips as vidprov's index, and
answering the same queries, so that the two can be measured side by side."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import index_scale  # noqa: E402
from reference_layout import POSTING, ReferenceIndex, build_reference  # noqa: E402

from vidprov.index import keys as K  # noqa: E402

SIZE = 300
SEED = 4


def test_reference_layout_holds_the_clips_the_index_is_filled_with(tmp_path: Path) -> None:
    location = str(tmp_path / "reference.db")
    build_reference(location, SIZE, SEED)
    kept = index_scale.replay(SIZE, SEED)  # the sampled clips, as build() fills them
    with sqlite3.connect(location) as db:
        rows = db.execute("SELECT list, entries FROM postings").fetchall()
    postings = {list_id: np.frombuffer(blob, dtype=POSTING) for list_id, blob in rows}
    assert sum(len(p) for p in postings.values()) == SIZE * index_scale.FRAMES * K.CHUNKS
    for number, hashes in kept.items():
        frame_keys = K.frame_keys(hashes[:index_scale.FRAMES], "pdq")
        for chunk in range(K.CHUNKS):
            lists = K.list_ids(np.full(len(frame_keys), chunk), K.chunk_values(frame_keys)[:, chunk])
            for list_id, key in zip(lists.tolist(), frame_keys.tolist()):
                entries = postings[list_id]
                assert key in entries["key"][entries["clip"] == number].tolist()
        assert all(np.all(np.diff(p["clip"].astype(np.int64)) >= 0) for p in postings.values())  # sorted by clip


def test_reference_layout_finds_noisy_copies_by_votes(tmp_path: Path) -> None:
    location = str(tmp_path / "reference.db")
    build_reference(location, SIZE, SEED)
    rng = np.random.default_rng(9)
    with ReferenceIndex(location) as index:
        for number, hashes in index_scale.replay(SIZE, SEED).items():
            found = index.search(index_scale.noisy(hashes[:index_scale.FRAMES], rng))
            assert found[0] == number
