"""The matchers the reupload benchmark runs side by side: vidprov and its peers.

Each tool fingerprints a file once (:meth:`Tool.fingerprint`) and compares a
query fingerprint with a reference fingerprint (:meth:`Tool.compare`), giving a
score in 0..1 (higher is more alike), the tool's own match decision, and where
it can say so, the span of the query that matched.

* ``vidprov``: the query as ``vidprov match`` fingerprints it
  (``vidprov.match.fingerprint_query``), the reference as ``vidprov add``
  stores it, and ``vidprov.match.compare``; a match is ``score >= threshold``.
* ``vpdq``: PyPI's ``vpdq`` (Meta's vPDQ), one hash a second, matched with the
  rule of Meta's python-threatexchange (see :class:`Vpdq`).
* ``videohash2``: one 64-bit hash per clip; a match is Hamming distance <= 10.
* ``tmk``: thorn's ``perception`` TMK L2 hasher; a match is similarity >= 0.7.

A tool whose package is missing reports why through :meth:`Tool.unavailable`.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Bits set in each byte value, for Hamming distances between packed hashes.
POPCOUNT = np.array([bin(value).count("1") for value in range(256)], np.uint8)


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between every row of ``a`` and every row of ``b`` (packed ``uint8`` rows)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.int32)
    return POPCOUNT[a[:, None, :] ^ b[None, :, :]].sum(axis=2, dtype=np.int32)


@dataclass(frozen=True)
class Comparison:
    """One query against one reference: score 0..1, the tool's decision, and the
    query's matched span in seconds when the tool can tell."""

    score: float
    matched: bool
    span: tuple[float, float] | None = None


NO_MATCH = Comparison(0.0, False)


class Tool(ABC):
    """One matcher. ``name`` labels its column; ``rule`` says when it calls a match."""

    name: str = ""
    rule: str = ""
    #: Whether fingerprints may be kept on disk between runs (peers do not change under us).
    cacheable: bool = True
    #: The module a peer imports and the PyPI distribution that provides it.
    module: str = ""
    distribution: str = ""

    def unavailable(self) -> str | None:
        """Why this tool cannot run here, or None when it can."""
        if not self.module:
            return None
        import importlib

        try:
            importlib.import_module(self.module)
        except Exception as ex:  # a broken native dependency fails with more than ImportError
            return (f"{self.distribution} is not usable here ({type(ex).__name__}: {ex}); "
                    "benchmarks/setup_peers.sh installs it")
        return None

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.distribution) if self.distribution else ""

    @abstractmethod
    def fingerprint(self, path: Path) -> Any:
        """The tool's fingerprint of ``path``; raises when the tool cannot process it."""

    @abstractmethod
    def compare(self, query: Any, reference: Any) -> Comparison:
        """How much of ``reference`` the tool finds in ``query``."""


# --------------------------------------------------------------------------- vidprov

class Vidprov(Tool):
    """vidprov's own matcher, through ``vidprov.match.compare``."""

    cacheable = False  # the engine changes as it is developed: always fingerprint afresh

    def __init__(self, algorithm: str | None = None, threshold: float | None = None) -> None:
        self.algorithm = algorithm
        self._threshold = threshold
        self.name = f"vidprov[{algorithm}]" if algorithm else "vidprov"

    @property
    def threshold(self) -> float:
        if self._threshold is not None:
            return self._threshold
        import vidprov.match

        return float(vidprov.match.DEFAULT_THRESHOLD)

    @property
    def rule(self) -> str:  # type: ignore[override]
        try:
            return f"score >= {self.threshold:g}"
        except (ImportError, AttributeError):
            return "score >= DEFAULT_THRESHOLD"

    def unavailable(self) -> str | None:
        try:
            import vidprov.match as match

            match.compare, match.DEFAULT_THRESHOLD, match.fingerprint_query  # noqa: B018 - probing the API
        except (ImportError, AttributeError) as ex:
            return f"vidprov matching not available ({type(ex).__name__}: {ex})"
        return None

    def version(self) -> str:
        import vidprov

        return vidprov.__version__

    def fingerprint(self, path: Path) -> Any:
        import vidprov.match
        from vidprov.fingerprint import index_sampling

        # Both of a file's fingerprints: as `vidprov match` makes a query's (dense, with mirror and
        # window hashes) and, from the same decode, as `vidprov add` stores it in the index.
        kwargs: dict[str, Any] = {"algorithm": self.algorithm} if self.algorithm else {}
        query = vidprov.match.fingerprint_query(path, **kwargs)
        return query, query.resampled(index_sampling(query.duration)).for_index()

    def compare(self, query: Any, reference: Any) -> Comparison:
        import vidprov.match

        found = vidprov.match.compare(query[0], reference[1])
        if found is None:
            return NO_MATCH
        segments = tuple(found.segments)
        span = (min(s.query_start for s in segments), max(s.query_end for s in segments)) if segments else None
        return Comparison(float(found.score), float(found.score) >= self.threshold, span)


# --------------------------------------------------------------------------- vPDQ

@dataclass(frozen=True)
class VpdqHash:
    """A clip's vPDQ features, as arrays: packed hashes, qualities and timestamps."""

    hashes: np.ndarray  # (n, 32) uint8
    quality: np.ndarray  # (n,) int
    timestamps: np.ndarray  # (n,) float seconds
    hex: tuple[str, ...]


class Vpdq(Tool):
    """Meta's vPDQ with Meta's matching rule.

    The rule follows python-threatexchange's vPDQ signal
    (``threatexchange/extensions/vpdq``: ``vpdq_util.py`` constants and
    ``vpdq_brute_matcher.match_VPDQ_hash_brute``, as the vpdq README's
    "Comparison (Matching) Algorithm" describes): drop repeated hashes (same
    hex, first kept), then frames of quality < 50; a query frame is matched when
    some reference frame is within Hamming distance <= 31; a pair matches when
    the query match percentage >= 80 and the compared (reference) match
    percentage >= 0. (The C++ ``matchTwoHashBrute`` counts distance < tolerance
    instead; Meta's Python signal, used here, counts <= 31.) When no frame
    survives the quality filter the percentages are 0, as in the C++ matcher.
    """

    name = "vpdq"
    rule = "query match >= 80% (PDQ d <= 31, quality >= 50)"
    SECONDS_PER_HASH = 1.0
    QUALITY = 50
    DISTANCE = 31
    QUERY_PERCENT = 80.0
    COMPARED_PERCENT = 0.0
    module = distribution = "vpdq"

    def fingerprint(self, path: Path) -> VpdqHash:
        import vpdq

        features = vpdq.computeHash(str(path), seconds_per_hash=self.SECONDS_PER_HASH)
        if not features:
            raise RuntimeError("vpdq produced no frame hashes")
        return VpdqHash(
            np.array([np.frombuffer(bytes.fromhex(f.hex), np.uint8) for f in features]),
            np.array([f.quality for f in features], np.int32),
            np.array([f.timestamp for f in features], np.float64),
            tuple(f.hex for f in features))

    @classmethod
    def _usable(cls, fingerprint: VpdqHash) -> np.ndarray:
        seen: set[str] = set()
        keep = []
        for number, value in enumerate(fingerprint.hex):
            if value not in seen:
                seen.add(value)
                if fingerprint.quality[number] >= cls.QUALITY:
                    keep.append(number)
        return np.array(keep, np.int64)

    def compare(self, query: VpdqHash, reference: VpdqHash) -> Comparison:
        q, r = self._usable(query), self._usable(reference)
        if len(q) == 0 or len(r) == 0:
            return NO_MATCH
        close = hamming_matrix(query.hashes[q], reference.hashes[r]) <= self.DISTANCE
        query_hit = close.any(axis=1)
        query_percent = 100.0 * query_hit.sum() / len(q)
        compared_percent = 100.0 * close.any(axis=0).sum() / len(r)
        matched = query_percent >= self.QUERY_PERCENT and compared_percent >= self.COMPARED_PERCENT
        span = None
        if query_hit.any():
            times = query.timestamps[q][query_hit]
            span = (float(times.min()), float(times.max()) + self.SECONDS_PER_HASH)
        return Comparison(query_percent / 100.0, bool(matched), span)


# --------------------------------------------------------------------------- videohash2

class VideoHash2(Tool):
    """videohash2: a 64-bit hash of a collage of one frame a second (it calls an ffmpeg binary)."""

    name = "videohash2"
    rule = "Hamming <= 10 of 64 bits"
    BITS = 64
    DISTANCE = 10
    module = distribution = "videohash2"

    def unavailable(self) -> str | None:
        import shutil

        if shutil.which("ffmpeg") is None:
            return "videohash2 needs an ffmpeg binary on PATH; benchmarks/setup_peers.sh installs it"
        return super().unavailable()

    def fingerprint(self, path: Path) -> int:
        from videohash2 import VideoHash

        with tempfile.TemporaryDirectory(prefix="videohash2-") as storage:
            value = VideoHash(path=str(Path(path).resolve()), storage_path=storage + os.sep)
            return int(value.hash_hex, 16)

    def compare(self, query: int, reference: int) -> Comparison:
        distance = bin(query ^ reference).count("1")
        return Comparison(1.0 - distance / self.BITS, distance <= self.DISTANCE)


# --------------------------------------------------------------------------- TMK (perception)

class Tmk(Tool):
    """thorn's perception TMK L2 (temporal match kernel over PDQF-like frame features, 15 fps)."""

    name = "tmk"
    rule = "TMK L2 similarity >= 0.7"
    THRESHOLD = 0.7
    module, distribution = "perception.hashers", "perception"

    def __init__(self) -> None:
        self._hasher: Any = None

    @property
    def hasher(self) -> Any:
        if self._hasher is None:
            from perception.hashers import TMKL2

            self._hasher = TMKL2()
        return self._hasher

    def fingerprint(self, path: Path) -> np.ndarray:
        vector = self.hasher.compute(str(path), hash_format="vector")
        if vector is None:
            raise RuntimeError("perception produced no TMK vector")
        return np.asarray(vector, np.float32)

    def compare(self, query: np.ndarray, reference: np.ndarray) -> Comparison:
        similarity = 1.0 - float(np.ravel(self.hasher.compute_distance(query, reference))[0])
        return Comparison(min(1.0, max(0.0, similarity)), similarity >= self.THRESHOLD)


PEERS: dict[str, type[Tool]] = {"vpdq": Vpdq, "videohash2": VideoHash2, "tmk": Tmk}


# --------------------------------------------------------------------------- fingerprint cache

class FingerprintCache:
    """Fingerprints of one tool: each file hashed once a run, peers' kept on disk too.

    A failure is remembered as well: the tool scores 0 on that file and the
    reason is reported, rather than trying again for every pair.
    """

    def __init__(self, tool: Tool, directory: Path | None) -> None:
        self.tool = tool
        self.directory = directory / tool.name if directory and tool.cacheable else None
        self.memory: dict[Path, Any] = {}
        self.failures: dict[Path, str] = {}
        self.seconds = 0.0
        self.from_disk = 0
        self._version = ""

    def _disk_path(self, path: Path) -> Path | None:
        if self.directory is None:
            return None
        if not self._version:
            self._version = self.tool.version()
        stat = path.stat()
        key = f"{path.name}-{stat.st_size}-{stat.st_mtime_ns}-{self._version}"
        return self.directory / (key + ".pickle")

    def get(self, path: Path) -> Any | None:
        import time

        if path in self.memory:
            return self.memory[path]
        if path in self.failures:
            return None
        disk = self._disk_path(path)
        if disk is not None and disk.is_file():
            with open(disk, "rb") as handle:
                self.memory[path] = pickle.load(handle)
            self.from_disk += 1
            return self.memory[path]
        started = time.perf_counter()
        try:
            value = self.tool.fingerprint(path)
        except Exception as ex:  # a peer's failure on one clip must not stop the benchmark
            self.failures[path] = f"{type(ex).__name__}: {str(ex).strip().splitlines()[0] if str(ex).strip() else ''}"
            return None
        finally:
            self.seconds += time.perf_counter() - started
        self.memory[path] = value
        if disk is not None:
            disk.parent.mkdir(parents=True, exist_ok=True)
            partial = disk.with_suffix(".partial")
            with open(partial, "wb") as handle:
                pickle.dump(value, handle)
            os.replace(partial, disk)
        return value
