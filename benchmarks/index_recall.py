"""Index search on real copies: the reupload benchmark's sources in a vidprov index, every copy looked up.

    python benchmarks/index_recall.py [--seed N] [--workdir DIR] [--corpus DIR]

``benchmarks/reupload.py`` measures ``vidprov.match.compare``, which sees
every frame of both clips. ``vidprov match`` first has to find the source
among the index's candidates: posting lists, votes of the query's frames and
views, and the candidate rule. This script adds the reupload benchmark's
sources to a new SQLite index as ``vidprov add`` does
(``vidprov.ingest.index_fingerprint``), and looks up each of its seeded
variants (the same cached files, built when missing) and each published edit
of a source with ``vidprov.match.search``, as ``vidprov match`` does.

Reported per transform: copies whose source is among the matches, copies
whose source is the first match, other sources matched that the copy does
not show (false matches), the median search time, and, over the copies
found through the votes of their frames and views (9:16 windows are found
through their strip views instead), the largest distance from the query's
keys to the source's nearest key: how close the candidate rule's
``NEAR_KEY_DISTANCE`` comes to missing one. Markdown goes to stdout,
progress to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import transforms  # noqa: E402
from reupload import CACHE, CORPUS, EDITS, Query, build_variants, group_of, log, representatives  # noqa: E402

from vidprov import match  # noqa: E402
from vidprov.fingerprint import DEFAULT_ALGORITHM, Fingerprint  # noqa: E402
from vidprov.index import open_index  # noqa: E402
from vidprov.index.base import Index  # noqa: E402
from vidprov.ingest import index_fingerprint  # noqa: E402
from vidprov.records import Clip  # noqa: E402


def nearest_key(index: Index, query: Fingerprint, clip_id: int) -> int | None:
    """How many bits the clip's nearest key is from the query's, as the candidate stage saw it, when the
    clip was a candidate through the query's votes (None: through a strip view's, or not at all)."""
    voted, _, nearest, _ = match._votes(index, query)  # the candidate stage's own figures
    found = [int(n) for c, n in zip(voted.tolist(), nearest.tolist()) if c == clip_id]
    return found[0] if found and found[0] <= match.NEAR_KEY_DISTANCE else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="the reupload benchmark's variant seed")
    parser.add_argument("--workdir", type=Path, default=CACHE, help="where the variants are cached")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir() or not any(args.corpus.glob("*.mp4")):
        log(f"skipped: no corpus at {args.corpus} (this benchmark needs ../shared/corpus)")
        return 0
    sources = representatives(args.corpus)
    queries = build_variants(sources, list(transforms.TRANSFORMS), args.seed, args.workdir, sources)
    groups = {group_of(s.name) for s in sources}
    queries += [Query(p, EDITS, group_of(p.name)) for p in sorted(args.corpus.glob("*.mp4"))
                if group_of(p.name) in groups and p not in sources]
    rows: dict[str, list[tuple[bool, bool, int, float, int | None]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="vidprov-index-recall-") as folder, \
            open_index(Path(folder) / "index.db", create=True) as index:
        group_ids: dict[int, str] = {}
        for source in sources:
            fp = index_fingerprint(source, DEFAULT_ALGORITHM)
            stored = index.add_clip(Clip(sha256=fp.sha256, size=fp.size, media_type="video/mp4",
                                         duration_s=fp.duration), fp)
            group_ids[stored.id] = group_of(source.name)
        log(f"indexed {len(sources)} sources; looking up {len(queries)} copies")
        for number, query in enumerate(queries, 1):
            fingerprint = match.fingerprint_query(query.path)
            started = time.perf_counter()
            found = match.search(index, fingerprint)
            seconds = time.perf_counter() - started
            found_groups = [group_ids[m.clip_id] for m in found if m.clip_id is not None]
            hit = query.group in found_groups
            others = sum(g != query.group and g not in query.contains for g in found_groups)
            source_id = next(c for c, g in group_ids.items() if g == query.group)
            rows[query.row].append((hit, bool(found_groups) and found_groups[0] == query.group, others, seconds,
                                    nearest_key(index, fingerprint, source_id) if hit else None))
            if not hit:
                log(f"missed: {query.path}")
            if number % 20 == 0:
                log(f"  {number}/{len(queries)}")
    print(f"## Index search on the reupload benchmark's copies (seed {args.seed})\n")
    print("| transform | copies | found | first | other sources matched | search ms (median) | "
          "farthest nearest key (bits) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total = [0, 0, 0, 0]
    for row, results in rows.items():
        nearest = [n for *_, n in results if n is not None]
        print(f"| {row} | {len(results)} | {sum(r[0] for r in results)} | {sum(r[1] for r in results)} | "
              f"{sum(r[2] for r in results)} | {statistics.median(r[3] for r in results) * 1000:.1f} | "
              f"{max(nearest) if nearest else '-'} |")
        total = [total[0] + len(results), total[1] + sum(r[0] for r in results),
                 total[2] + sum(r[1] for r in results), total[3] + sum(r[2] for r in results)]
    all_nearest = [n for results in rows.values() for *_, n in results if n is not None]
    print(f"| all | {total[0]} | {total[1]} | {total[2]} | {total[3]} | "
          f"{statistics.median(r[3] for results in rows.values() for r in results) * 1000:.1f} | "
          f"{max(all_nearest) if all_nearest else '-'} |")
    print(f"\nCandidate rule: near keys within {match.KEY_DISTANCE} bits on {match.MIN_FRAMES} query frames, one "
          f"within {match.NEAR_KEY_DISTANCE} (or on two, one within {match.EXACT_KEY_DISTANCE}); and the "
          f"{match.WEAK_CANDIDATES} clips with the most votes, on two frames or more, of the rest.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
