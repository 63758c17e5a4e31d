"""Many clients on one PostgreSQL index at once: nothing lost, nothing doubled, no deadlock, no torn reads.

Eight writer processes add clips (some clips shared by all, to race on the
same sha256), appearances, claims and assessments, alone and in bulk, while
four readers search and read records. Small pending and merge thresholds
make the writers flush and merge posting lists meanwhile.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import time
import traceback
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from test_postgres_backend import (
    FRAMES,
    POSTGRES,
    admin_execute,
    clip_of,
    fresh_url,
    noisy,
    sha_of,
    synthetic_fingerprint,
    synthetic_hashes,
)

from vidprov import match
from vidprov.index import keys as K
from vidprov.index import open_index
from vidprov.records import Appearance, Assessment, AssessmentKind, Claim, Platform

pytestmark = pytest.mark.skipif(not POSTGRES, reason="$VIDPROV_TEST_POSTGRES names no server")

WRITERS = 8
READERS = 4
SHARED = 6  # clips every writer adds
OWN = 10  # clips only one writer adds
TIMEOUT = 180.0


def fingerprint_of(number: int) -> Any:
    """The same fingerprint for a sha256 in every process."""
    return synthetic_fingerprint(sha_of(number), synthetic_hashes(np.random.default_rng(number)))


def write(url: str, writer: int, results: Any) -> None:
    rng = random.Random(writer)
    shared = list(range(1, SHARED + 1))
    own = [writer * 1000 + k for k in range(OWN)]
    tasks = [("one", [n]) for n in shared + own[:4]]
    tasks += [("bulk", [own[k], own[k + 1], shared[k % SHARED]]) for k in range(4, OWN, 2)]
    rng.shuffle(tasks)
    added: list[tuple[str, int, bool]] = []
    records: list[str] = []
    try:
        with open_index(url) as index:
            for number, (kind, clips) in enumerate(tasks):
                fps = [fingerprint_of(n) for n in clips]
                with index.transaction():
                    if kind == "one":
                        stored = [index.add_clip(clip_of(fps[0]), fps[0], {"writer": writer})]
                    else:
                        stored = index.add_clips([(clip_of(fp), fp, None) for fp in fps])
                    for item in stored:
                        appearance = Appearance(id=f"w{writer}t{number}a{item.id}", platform=Platform("telegram"),
                                                clip_sha256=item.sha256, publisher=f"writer {writer}")
                        claim = Claim(id=f"w{writer}t{number}c{item.id}", appearance_id=appearance.id,
                                      text=f"claim by writer {writer}")
                        index.add_appearance(appearance)
                        index.add_claim(claim)
                        records += [appearance.id, claim.id]
                added += [(item.sha256, item.id, item.created) for item in stored]
                if number % 3 == 0:
                    assessment = Assessment(id=f"w{writer}g{number}", kind=AssessmentKind("geolocation"),
                                            clip_sha256s=tuple(item.sha256 for item in stored), made_by="desk",
                                            made_at=datetime.now(timezone.utc), result="somewhere")
                    index.add_assessment(assessment)
                    records.append(assessment.id)
        results.put(("writer", writer, added, records, None))
    except BaseException:
        results.put(("writer", writer, added, records, traceback.format_exc()))
        raise


def read(url: str, reader: int, stop: Any, results: Any) -> None:
    rng = np.random.default_rng(100 + reader)
    problems: list[str] = []
    rounds = 0
    try:
        with open_index(url) as index:
            while not stop.is_set() or rounds < 2:
                rounds += 1
                bundle = index.records()
                clips = {clip.sha256 for clip in bundle.clips}
                appearances = {item.id: item for item in bundle.appearances}
                for claim in bundle.claims:
                    appearance = appearances.get(claim.appearance_id or "")
                    if appearance is None:
                        problems.append(f"claim {claim.id} without its appearance")
                    elif appearance.clip_sha256 not in clips:
                        problems.append(f"claim {claim.id} about a clip that is not there")
                listed = index.list_clips()
                missing = {c.id for c in listed} - set(index.fingerprints([c.id for c in listed]))
                if missing:
                    problems.append(f"clips {sorted(missing)} without their fingerprints")
                target = int(rng.integers(1, SHARED + 1))
                query = synthetic_fingerprint(sha_of(10**9), noisy(fingerprint_of(target).hashes(), rng))
                stored_before = index.clip_by_sha256(sha_of(target)) is not None
                found = [m.reference for m in match.search(index, query)]
                if len(found) != len(set(found)) or any(index.clip_by_sha256(sha) is None for sha in found):
                    problems.append(f"search found {found}")
                if stored_before and sha_of(target) not in found:
                    problems.append(f"search missed stored clip {target}")
        results.put(("reader", reader, rounds, problems, None))
    except BaseException:
        results.put(("reader", reader, rounds, problems, traceback.format_exc()))
        raise


def test_parallel_writers_and_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.index import postgres

    # Small thresholds so that pending postings are written out and runs merged while everyone works.
    monkeypatch.setattr(postgres, "PENDING_LIMIT", 3 * FRAMES * K.CHUNKS)
    monkeypatch.setattr(postgres, "FANOUT", 3)
    url = fresh_url()
    open_index(url, create=True).close()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    stop = context.Event()
    writers = [context.Process(target=write, args=(url, n, results)) for n in range(1, WRITERS + 1)]
    readers = [context.Process(target=read, args=(url, n, stop, results)) for n in range(READERS)]
    started = time.monotonic()
    for process in readers + writers:
        process.start()
    reports: dict[tuple[str, int], tuple[Any, ...]] = {}
    try:
        while len(reports) < WRITERS and time.monotonic() - started < TIMEOUT:
            try:
                report = results.get(timeout=1)
            except queue.Empty:
                continue
            reports[(report[0], report[1])] = report
        stop.set()
        while len(reports) < WRITERS + READERS and time.monotonic() - started < TIMEOUT + 60:
            try:
                report = results.get(timeout=1)
            except queue.Empty:
                continue
            reports[(report[0], report[1])] = report
    finally:
        stop.set()
        for process in readers + writers:
            process.join(5)
            if process.is_alive():
                process.kill()
    assert len(reports) == WRITERS + READERS, f"processes still running after {TIMEOUT:.0f} s: a deadlock?"
    failures = [report[4] for report in reports.values() if report[4]]
    assert not failures, failures[0]
    assert all(process.exitcode == 0 for process in readers + writers)

    added = [pair for (kind, _), report in reports.items() if kind == "writer" for pair in report[2]]
    records = {record for (kind, _), report in reports.items() if kind == "writer" for record in report[3]}
    problems = [p for (kind, _), report in reports.items() if kind == "reader" for p in report[3]]
    assert problems == []
    assert all(report[2] >= 2 for (kind, _), report in reports.items() if kind == "reader")

    expected = {sha_of(n) for n in range(1, SHARED + 1)} | {sha_of(w * 1000 + k) for w in range(1, WRITERS + 1)
                                                              for k in range(OWN)}
    assert admin_execute(url, "SELECT count(*), count(DISTINCT sha256) FROM clips") == [(len(expected),) * 2]
    with open_index(url) as index:
        ids = {c.sha256: c.id for c in index.list_clips()}
        assert set(ids) == expected
        assert all(ids[sha] == clip_id for sha, clip_id, _ in added)  # every add returned the one stored clip
        for sha in expected:  # each clip created by exactly one add, however many raced for it
            assert sum(created for other, _, created in added if other == sha) == 1
        assert sum(sha == sha_of(1) for sha, _, _ in added) >= WRITERS
        assert len(index.fingerprints(list(ids.values()))) == len(expected)
        bundle = index.records()
        stored = {item.id for item in bundle.appearances} | {item.id for item in bundle.claims} | \
            {item.id for item in bundle.assessments}
        assert stored == records
        # Each clip's postings once: none lost or doubled by concurrent flushes and merges.
        lists = index.postings([(chunk, value) for chunk in range(K.CHUNKS) for value in range(1 << K.CHUNK_BITS)])
        postings = {(key, clip, frame) for key, entries in lists.items()
                    for clip, frame in zip(entries["clip"].tolist(), entries["frame"].tolist())}
        assert sum(len(entries) for entries in lists.values()) == len(postings) == len(expected) * FRAMES * K.CHUNKS
        assert admin_execute(url, "SELECT max(tier) FROM posting_runs")[0][0] >= 1  # runs were merged meanwhile
        for number in (1, 1003, 8009):
            assert [m.reference for m in match.search(index, fingerprint_of(number))] == [sha_of(number)]
