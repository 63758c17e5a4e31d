"""A team index on PostgreSQL: several desks share one index.

Runs on footage it generates; it needs a PostgreSQL server and the postgres
extra (``pip install 'vidprov[postgres]'``):

    VIDPROV_INDEX=postgresql://user@host:5432/vidprov_example python examples/team_postgres.py [WORKDIR]

(``$VIDPROV_TEST_POSTGRES`` is used when ``$VIDPROV_INDEX`` names no
PostgreSQL server, as the test suite sets it.) The example writes stand-in
clips and records, so it works only in a database that is empty or holds an
index with no clips yet: it never writes into a team's real index.

1. Two desks, each on its own connection, index the same original clip at
   the same moment (each downloaded it from a different post). The clip is
   stored once; both appearances are kept.
2. A third desk receives a letterboxed reupload, searches the shared index
   and sees what the other two recorded, and who published it first.
3. The index as ``vidprov index info`` describes it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from vidprov import ingest, match, samples
from vidprov.index import open_index
from vidprov.ingest import AddResult

DESKS = {
    "Kyiv desk": ("telegram", "Frontline channel (stand-in)", "https://t.me/frontline_example/77",
                  "2024-03-02T05:40Z"),
    "Berlin desk": ("x", "Aggregator account (stand-in)", "https://x.com/aggregator_example/status/9",
                    "2024-03-02T09:12Z"),
}


def server_url() -> str | None:
    """The PostgreSQL index to use: $VIDPROV_INDEX if it names one, else $VIDPROV_TEST_POSTGRES."""
    for name in ("VIDPROV_INDEX", "VIDPROV_TEST_POSTGRES"):
        value = os.environ.get(name, "")
        if value.startswith(("postgresql://", "postgres://")):
            return value
    return None


def make_clips(workdir: Path) -> tuple[Path, Path]:
    spec = samples.ClipSpec(samples.scenes(3, 3.0, seed=77), fps=15.0)
    original, reupload = workdir / "original.mp4", workdir / "reupload.mp4"
    samples.write_clip(original, spec)
    boxed = []
    for time, rgb in samples.render(spec):
        frame = np.zeros((240, 426, 3), np.uint8)
        frame[:, 53:373] = rgb
        boxed.append((time, frame))
    samples.write_frames(reupload, boxed, fps=spec.fps, options={"crf": "32"})
    return original, reupload


def main(workdir: Path, url: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    original, reupload = make_clips(workdir)
    with open_index(url, create=True) as index:
        if index.count_clips():
            sys.exit(f"{index.location} holds {index.count_clips()} clips already; this example adds stand-in "
                     "clips, so give it an empty database")
        print(f"shared index: {index.location} ({index.backend}, schema version {index.schema_version()})")

    # 1. Two desks add the same clip at once, each on its own connection.
    results: dict[str, AddResult] = {}
    start = threading.Barrier(len(DESKS))

    def add_as(desk: str) -> None:
        platform, publisher, post, posted_at = DESKS[desk]
        with open_index(url) as own:
            seen = ingest.build_appearance(platform=platform, publisher=publisher, url=post, posted_at=posted_at)
            start.wait()
            results[desk] = ingest.add(own, original, appearance=seen)

    threads = [threading.Thread(target=add_as, args=(desk,)) for desk in DESKS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(results) != len(DESKS):
        sys.exit("a desk could not add its clip (see the error above)")
    for desk in DESKS:
        result = results[desk]
        print(f"{desk}: {original.name} is clip {result.clip.id}, appearance by {result.appearance.publisher}"  # type: ignore[union-attr]
              f" recorded")
    ids = {result.clip.id for result in results.values()}
    print(f"stored once: clip {ids.pop()} ({sum(r.created for r in results.values())} desk added it, "
          f"{sum(not r.created for r in results.values())} found it already there)" if len(ids) == 1
          else f"stored twice: {sorted(ids)}")

    # 2. A third desk checks a reupload against what the team knows.
    with open_index(url) as index:
        query = match.fingerprint_query(reupload, algorithm=index.algorithm)
        found = match.search(index, query)
        verdict = match.provenance(index, query.sha256, found)
        print(f"Warsaw desk: {reupload.name} matches "
              + (", ".join(f"clip {item.clip_id} (score {item.score:.2f})" for item in found) or "nothing"))
        for appearance in index.records([item.reference for item in found]).appearances:
            print(f"  seen: {appearance.publisher} on {appearance.platform.value}, {appearance.posted_at}")
        print(f"  verdict: {verdict.summary}")

        # 3. What `vidprov index info` shows.
        print(f"index: {index.backend}, {index.count_clips()} clip(s), algorithm {index.algorithm}")


if __name__ == "__main__":
    found_url = server_url()
    if found_url is None:
        sys.exit("team_postgres.py needs a PostgreSQL server: set VIDPROV_INDEX=postgresql://user@host:port/db "
                 "(an empty database)")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-team-")), found_url)
