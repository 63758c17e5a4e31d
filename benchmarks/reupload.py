"""Reupload benchmark: does each matcher find a clip again after it was re-uploaded?

    python benchmarks/reupload.py [--quick] [--seed N] [--workdir DIR] [--only vidprov,vpdq,videohash2,tmk]
                                  [--algorithm pdq|phash|phash256[,...]] [--threshold T[,T...]]

From the clips in ../shared/corpus it builds seeded variants with every
transform in ``benchmarks/transforms.py`` (re-encodes, bars, crops, overlays,
mirroring, colour, frame rate, speed, trims, compilations, picture-in-picture,
screen recordings) and cached under ``benchmarks/.cache/reupload``. The
``te_chair-*`` and ``te_pattern-*`` clips are edits of one scene each, so each
group is one source (one representative); the other members are queried too,
as the "published_edits" row, and never count against their own group.

Every variant, edit and source is a query against every source. Each tool
fingerprints each file once; then for each tool it reports

* per transform: recall (positive pairs the tool calls a match) and top-1
  accuracy (the true source scores above every unrelated source, and above 0);
* the false-positive rate over the pairs that do not match (variants against
  other sources, and sources against each other);
* average precision over all those pairs ranked by score;
* for compilations: the error in seconds of the matched query span's start and
  end against the true segment boundaries.

The tools are vidprov (through ``vidprov.match.compare``) and the peers in
``benchmarks/peers.py``: Meta's vPDQ with Meta's matching rule, videohash2 and
thorn's perception TMK. A tool that cannot run is named with the reason; a
tool that fails on a clip scores 0 there and the failure is listed.
The markdown tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import transforms  # noqa: E402
from peers import PEERS, Comparison, FingerprintCache, NO_MATCH, Tool, Vidprov  # noqa: E402

CORPUS = HERE.parents[1] / "shared" / "corpus"
CACHE = HERE / ".cache" / "reupload"

#: Clips that are edits of one scene: the group's name and its representative.
GROUPS = {"te_chair-": ("chair", "te_chair-orig-22-sd-bar.mp4"),
          "te_pattern-": ("pattern", "te_pattern-hd-no-bar.mp4")}

QUICK_SOURCES = ("te_doorknob-hd-no-bar.mp4", "te_pattern-hd-no-bar.mp4", "intel_car-detection.mp4")
QUICK_TRANSFORMS = ("reencode_half", "pad_9x16_blur", "crop_10pct", "logo", "mirror", "speed_1.25",
                    "trim_60pct", "compilation", "pip", "screen_recording")
EDITS = "published_edits"
SOURCE_ROW = "source vs source"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def group_of(name: str) -> str:
    for prefix, (group, _) in GROUPS.items():
        if name.startswith(prefix):
            return group
    return Path(name).stem


def representatives(corpus: Path) -> list[Path]:
    """One clip per group: the named representative for edit groups, else every clip."""
    chosen: dict[str, Path] = {}
    for path in sorted(corpus.glob("*.mp4")):
        group = group_of(path.name)
        wanted = next((rep for prefix, (g, rep) in GROUPS.items() if g == group), None)
        if wanted is None or path.name == wanted:
            chosen[group] = path
    return list(chosen.values())


@dataclass(frozen=True)
class Query:
    """A file queried against every source, and what it truly contains."""

    path: Path
    row: str  # the transform, EDITS, or SOURCE_ROW
    group: str  # the group whose footage it is a copy of
    contains: frozenset[str] = frozenset()  # other groups it also shows (not counted either way)
    variant: transforms.Variant | None = None


# --------------------------------------------------------------------------- building variants

def build_variants(sources: Sequence[Path], names: Sequence[str], seed: int, workdir: Path,
                   corpus_sources: Sequence[Path]) -> list[Query]:
    queries = []
    jobs = [(source, name) for name in names for source in sources]
    for number, (source, name) in enumerate(jobs, 1):
        path = workdir / "variants" / f"seed-{seed}" / source.stem / f"{name}.mp4"
        variant = transforms.load_variant(path)
        if variant is None:
            entry = transforms.TRANSFORMS[name]
            others = [p for p in corpus_sources if group_of(p.name) != group_of(source.name)]
            rng = transforms.variant_seed(seed, source, "fillers:" + name)
            fillers = [others[int(i)] for i in rng.permutation(len(others))[:entry.fillers]]
            started = time.perf_counter()
            variant = transforms.make_variant(name, source, path, seed=seed, fillers=fillers)
            log(f"[{number}/{len(jobs)}] made {name} of {source.name} in {time.perf_counter() - started:.1f} s")
        queries.append(Query(path, name, group_of(source.name), frozenset(group_of(c) for c in variant.contains),
                             variant))
    return queries


# --------------------------------------------------------------------------- scoring

@dataclass
class Pair:
    query: Query
    reference: Path
    label: bool  # True: the reference's footage is in the query
    result: Comparison


@dataclass
class ToolRun:
    tool: Tool
    reason: str | None = None  # why the tool did not run at all
    pairs: list[Pair] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # file or pair -> reason
    seconds: float = 0.0
    from_disk: int = 0  # fingerprints read from an earlier run's cache


def shown_name(path: Path) -> str:
    """A file's name in the report: variants are named with their source's folder."""
    return f"{path.parent.name}/{path.name}" if path.parent.parent.name.startswith("seed-") else path.name


def label_of(query: Query, reference: Path) -> bool | None:
    """True for a pair that should match, False for one that must not, None to leave out."""
    group = group_of(reference.name)
    if query.row == SOURCE_ROW and query.path == reference:
        return None
    if group == query.group:
        return True
    if group in query.contains:
        return None
    return False


def run_tool(tool: Tool, queries: Sequence[Query], references: Sequence[Path], cache_dir: Path) -> ToolRun:
    run = ToolRun(tool)
    run.reason = tool.unavailable()
    if run.reason:
        log(f"{tool.name}: {run.reason}")
        return run
    cache = FingerprintCache(tool, cache_dir)
    files = list(dict.fromkeys([*references, *(q.path for q in queries)]))
    for number, path in enumerate(files, 1):
        cache.get(path)
        if number % 10 == 0 or number == len(files):
            log(f"{tool.name}: fingerprinted {number}/{len(files)} files ({cache.seconds:.0f} s)")
    for path, reason in cache.failures.items():
        run.failures[shown_name(path)] = f"fingerprint: {reason}"
    for query in queries:
        for reference in references:
            label = label_of(query, reference)
            if label is None:
                continue
            q, r = cache.get(query.path), cache.get(reference)
            result = NO_MATCH
            if q is not None and r is not None:
                try:
                    result = tool.compare(q, r)
                except Exception as ex:  # one bad pair scores 0 and is named; the rest go on
                    run.failures[f"{shown_name(query.path)} vs {reference.name}"] = \
                        f"compare: {type(ex).__name__}: {ex}"
            run.pairs.append(Pair(query, reference, label, result))
    run.seconds, run.from_disk = cache.seconds, cache.from_disk
    return run


def average_precision(scored: Sequence[tuple[float, bool]]) -> float:
    """Area under the precision-recall steps, tied scores taken as one threshold."""
    positives = sum(1 for _, label in scored if label)
    if positives == 0:
        return math.nan
    ordered = sorted(scored, key=lambda item: -item[0])
    total, hits, seen, number = 0.0, 0, 0, 0
    while number < len(ordered):
        score = ordered[number][0]
        new_hits = 0
        while number < len(ordered) and ordered[number][0] == score:
            new_hits += ordered[number][1]
            seen += 1
            number += 1
        if new_hits and score > 0:
            hits += new_hits
            total += (new_hits / positives) * (hits / seen)
    return total


@dataclass
class RowStats:
    positives: int = 0
    recalled: int = 0
    queries: int = 0
    top1: int = 0


def summarise(run: ToolRun, rows: Sequence[str]) -> dict[str, Any]:
    by_row = {row: RowStats() for row in rows}
    by_query: dict[Path, list[Pair]] = {}
    for pair in run.pairs:
        by_query.setdefault(pair.query.path, []).append(pair)
        if pair.label:
            stats = by_row[pair.query.row]
            stats.positives += 1
            stats.recalled += pair.result.matched
    for pairs in by_query.values():
        query = pairs[0].query
        true = [p.result.score for p in pairs if p.label]
        if not true:
            continue
        others = [p.result.score for p in pairs if not p.label]
        stats = by_row[query.row]
        stats.queries += 1
        stats.top1 += max(true) > 0 and all(max(true) > s for s in others)
    negatives = [p for p in run.pairs if not p.label]
    false_positives = [p for p in negatives if p.result.matched]
    labelled = [(p.result.score, p.label) for p in run.pairs]
    boundary = []
    compilations = [p for p in run.pairs if p.label and p.query.row == "compilation"]
    for pair in compilations:
        if pair.result.matched and pair.result.span and pair.query.variant:
            truth = pair.query.variant.segments[0]
            boundary.append((abs(pair.result.span[0] - truth.query_start), abs(pair.result.span[1] - truth.query_end)))
    positives = [p for p in run.pairs if p.label]
    return {"rows": by_row, "negatives": len(negatives), "false_positives": false_positives,
            "ap": average_precision(labelled), "boundary": boundary, "compilations": len(compilations),
            "recall": sum(p.result.matched for p in positives) / len(positives) if positives else math.nan}


# --------------------------------------------------------------------------- report

def percent(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.0f}%" if denominator else "-"


def rate(count: int, total: int) -> str:
    return f"{count / total:.2%} ({count}/{total})" if total else "- (no pairs)"


def report(runs: Sequence[ToolRun], rows: Sequence[str], header: str, sweep: Sequence[float],
           sweep_runs: dict[tuple[str, float], ToolRun] | None = None) -> str:
    lines = [header, ""]
    summaries = {run.tool.name: summarise(run, rows) for run in runs if not run.reason}
    names = [run.tool.name for run in runs]
    lines.append("Recall at each tool's own rule / top-1 retrieval accuracy, per transform (n = positive pairs).")
    lines.append("")
    lines.append("| transform | n | " + " | ".join(names) + " |")
    lines.append("|---|---:|" + "---|" * len(names))
    for row in rows:
        if row == SOURCE_ROW:
            continue
        counts = [summaries[n]["rows"][row].positives for n in summaries]
        cells = []
        for run in runs:
            if run.reason:
                cells.append("n/a")
                continue
            stats: RowStats = summaries[run.tool.name]["rows"][row]
            cells.append(f"{percent(stats.recalled, stats.positives)} / {percent(stats.top1, stats.queries)}")
        lines.append(f"| {row} | {max(counts) if counts else '-'} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| tool | match rule | recall (all) | false-positive rate | average precision "
                 "| compilation boundary error (start / end, s) | fingerprint time | failures |")
    lines.append("|---|---|---:|---:|---:|---|---:|---|")
    for run in runs:
        if run.reason:
            lines.append(f"| {run.tool.name} | {run.tool.rule} | n/a | n/a | n/a | n/a | n/a | {run.reason} |")
            continue
        s = summaries[run.tool.name]
        fp = len(s["false_positives"])
        cached = f" ({run.from_disk} files cached)" if run.from_disk else ""
        if s["boundary"]:
            starts = [b[0] for b in s["boundary"]]
            ends = [b[1] for b in s["boundary"]]
            boundary = (f"{sum(starts) / len(starts):.2f} / {sum(ends) / len(ends):.2f} (max {max(starts + ends):.2f};"
                        f" {len(s['boundary'])} of {s['compilations']} matched)")
        elif s["compilations"]:
            boundary = f"none matched of {s['compilations']}"
        else:
            boundary = "-"
        lines.append(f"| {run.tool.name} | {run.tool.rule} | {s['recall']:.1%} | "
                     f"{rate(fp, s['negatives'])} | {s['ap']:.3f} | {boundary} | {run.seconds:.0f} s{cached} | {len(run.failures) or 'none'} |")
    if sweep_runs:
        lines += ["", "vidprov threshold sweep (same fingerprints):", "",
                  "| tool | threshold | recall (all) | false-positive rate |", "|---|---:|---:|---:|"]
        for (_, threshold), run in sweep_runs.items():
            s = summarise(run, rows)
            fp = len(s["false_positives"])
            lines.append(f"| {run.tool.name} | {threshold:g} | {s['recall']:.1%} | "
                         f"{rate(fp, s['negatives'])} |")
    notes = []
    for run in runs:
        if run.reason:
            continue
        for pair in summaries[run.tool.name]["false_positives"][:10]:
            notes.append(f"- {run.tool.name} false positive: {shown_name(pair.query.path)} ({pair.query.row}, "
                         f"{pair.query.group}) vs {pair.reference.name}, score {pair.result.score:.3f}")
        by_reason: dict[str, list[str]] = {}
        for what, reason in run.failures.items():
            by_reason.setdefault(reason, []).append(what)
        for reason, where in by_reason.items():
            more = f" and {len(where) - 3} more" if len(where) > 3 else ""
            notes.append(f"- {run.tool.name} failed {len(where)} time(s), {reason}: {', '.join(where[:3])}{more}")
    if notes:
        lines += ["", *notes]
    lines += ["", "Top-1 counts a query when its true source scores above 0 and above every unrelated source. "
              "Pairs of a compilation or picture-in-picture with the other clip it shows are left out. "
              "A tool scores 0 on any file it failed to fingerprint."]
    return "\n".join(lines)


def rethreshold(run: ToolRun, threshold: float) -> ToolRun:
    """The same scores judged at another threshold (for vidprov's sweep)."""
    tool = Vidprov(getattr(run.tool, "algorithm", None), threshold)
    pairs = [Pair(p.query, p.reference, p.label,
                  Comparison(p.result.score, p.result.score > 0 and p.result.score >= threshold, p.result.span))
             for p in run.pairs]
    return ToolRun(tool, None, pairs, run.failures, run.seconds, run.from_disk)


# --------------------------------------------------------------------------- command line

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"{len(QUICK_SOURCES)} sources and {len(QUICK_TRANSFORMS)} transforms")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=CACHE, help="where variants and peer fingerprints are cached")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", default="", help="comma-separated tools: vidprov," + ",".join(PEERS))
    parser.add_argument("--algorithm", default="", help="vidprov hash algorithm(s), comma-separated: pdq, phash, "
                                                         "phash256 (default: vidprov's default)")
    parser.add_argument("--threshold", default="", help="vidprov match threshold(s), comma-separated; the first "
                                                         "is used for the tables, all for a sweep")
    parser.add_argument("--transforms", default="", help="comma-separated transforms (default: all, or the quick set)")
    parser.add_argument("--sources", default="", help="comma-separated corpus file names to use as sources")
    args = parser.parse_args(argv)

    if not args.corpus.is_dir() or not any(args.corpus.glob("*.mp4")):
        log(f"skipped: no corpus at {args.corpus} (the reupload benchmark needs ../shared/corpus)")
        return 0
    all_sources = representatives(args.corpus)
    if args.sources:
        wanted = set(args.sources.split(","))
        sources = [p for p in all_sources if p.name in wanted]
    elif args.quick:
        sources = [p for p in all_sources if p.name in QUICK_SOURCES]
    else:
        sources = all_sources
    names = args.transforms.split(",") if args.transforms else list(QUICK_TRANSFORMS if args.quick
                                                                      else transforms.TRANSFORMS)
    unknown = [n for n in names if n not in transforms.TRANSFORMS]
    if unknown:
        parser.error(f"unknown transform(s) {', '.join(unknown)}; known: {', '.join(transforms.TRANSFORMS)}")
    if not sources:
        parser.error("no sources selected")
    selected = set(args.only.split(",")) if args.only else {"vidprov", *PEERS}
    thresholds = [float(t) for t in args.threshold.split(",") if t]  # the first one judges the tables
    algorithms = [a for a in args.algorithm.split(",") if a] or [None]

    tools: list[Tool] = []
    if "vidprov" in selected:
        tools += [Vidprov(algorithm, thresholds[0] if thresholds else None) for algorithm in algorithms]
    tools += [cls() for name, cls in PEERS.items() if name in selected]

    started = time.perf_counter()
    queries = build_variants(sources, names, args.seed, args.workdir, all_sources)
    source_groups = {group_of(s.name) for s in sources}
    edits = sorted(p for p in args.corpus.glob("*.mp4")
                   if group_of(p.name) in source_groups and p not in all_sources)
    queries += [Query(p, EDITS, group_of(p.name)) for p in edits]
    queries += [Query(s, SOURCE_ROW, group_of(s.name)) for s in sources]
    log(f"{len(queries)} queries against {len(sources)} sources; variants ready in "
        f"{time.perf_counter() - started:.0f} s")
    rows = [*names, *([EDITS] if edits else []), SOURCE_ROW]

    runs = []
    for tool in tools:
        tool_started = time.perf_counter()
        runs.append(run_tool(tool, queries, sources, args.workdir / "fingerprints"))
        log(f"{tool.name}: done in {time.perf_counter() - tool_started:.0f} s")
    for run in runs:
        if run.reason and isinstance(run.tool, Vidprov):
            print("vidprov matching not available", flush=True)

    sweep_runs: dict[tuple[str, float], ToolRun] = {}
    if len(thresholds) > 1:
        for run in runs:
            if isinstance(run.tool, Vidprov) and not run.reason:
                for threshold in sorted(set(thresholds)):
                    sweep_runs[(run.tool.name, threshold)] = rethreshold(run, threshold)
    header = (f"## Reupload benchmark (seed {args.seed}{', quick' if args.quick else ''})\n\n"
              f"{len(sources)} sources ({', '.join(s.name for s in sources)}), {len(names)} transforms, "
              f"{len(queries)} queries; Python {platform.python_version()} on {platform.machine()}, "
              f"{time.perf_counter() - started:.0f} s in all.")
    print(report(runs, rows, header, thresholds, sweep_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
