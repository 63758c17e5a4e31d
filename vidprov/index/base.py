"""The backend contract: what every index (SQLite, PostgreSQL) provides.

An index holds clips (by the sha256 of their bytes), their fingerprints and
embedded-metadata records, the provenance records people made about them
(appearances, claims, assessments, verdicts), and posting lists for finding
candidate clips by frame hash (:mod:`vidprov.index.keys`).

Every method that writes is one transaction: it happens whole or not at all.
:meth:`Index.transaction` groups several writes into one, which is how a
command such as ``vidprov add`` stores a clip and its records atomically.
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import ValidationError
from ..fingerprint import Fingerprint, FrameArrays
from ..records import Appearance, Assessment, Claim, Clip, RecordBundle, Verdict
from ..records._fields import check_aware_datetime, check_sha256, check_text
from .keys import PostingLists, list_ids

#: Version of the index schema this vidprov writes.
#: 1: clips, fingerprints, records and posting lists; 2: the log of imported hash bundles;
#: 3: fingerprint frames and posting lists packed (vidprov.index.packing) on SQLite too;
#: 4: fingerprints may hold their frames' inner pictures (packed after the frame hashes), whose keys go
#: in posting lists of their own. An index reaches 4 when the first such fingerprint is stored, so that
#: a vidprov that cannot read them refuses the index instead of misreading it; 5: fingerprints may hold
#: strips (packed after the inner pictures, keys in lists 8-11), likewise raised when the first is stored.
SCHEMA_VERSION = 5
#: The first schema version whose fingerprints may hold inner pictures.
INNER_PICTURES = 4
#: The first schema version whose fingerprints may hold strips.
STRIPS = 5


def needed_version(fingerprint: Fingerprint) -> int:
    """The schema version an index must be at to store ``fingerprint`` (0: any)."""
    if fingerprint.strips:
        return STRIPS
    return INNER_PICTURES if fingerprint.inner is not None else 0

#: What an imported file was: a vidprov hash bundle, or vPDQ lines from another tool.
IMPORT_FORMATS = ("bundle", "vpdq")
#: Longest desk name accepted.
MAX_DESK_NAME = 200


@dataclass(frozen=True)
class StoredClip:
    """A clip as the index knows it: its id there, its record and when it was added."""

    id: int
    sha256: str
    clip: Clip
    added_at: datetime
    created: bool = False  # True when the call that returned it added it

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sha256": self.sha256, "added_at": self.added_at.isoformat(),
                "clip": self.clip.to_dict()}


@dataclass(frozen=True)
class ClipFilter:
    """Which clips :meth:`Index.list_clips` returns; every field narrows the list."""

    publisher: str | None = None
    platform: str | None = None
    posted_after: datetime | None = None
    posted_before: datetime | None = None


@dataclass(frozen=True)
class HashImport:
    """One file of hashes merged into the index: its sha256, which desk sent it, when, and what it held."""

    bundle_sha256: str
    desk: str
    format: str
    imported_at: datetime
    counts: dict[str, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bundle_sha256", check_sha256("import.bundle_sha256", self.bundle_sha256))
        desk = check_text("import.desk", self.desk, required=True)
        if desk is None or len(desk) > MAX_DESK_NAME or desk != desk.strip():
            raise ValidationError("import.desk", self.desk,
                                  f"a desk name of at most {MAX_DESK_NAME} characters, without surrounding spaces")
        if self.format not in IMPORT_FORMATS:
            raise ValidationError("import.format", self.format, "one of: " + ", ".join(IMPORT_FORMATS))
        check_aware_datetime("import.imported_at", self.imported_at)
        if not isinstance(self.counts, dict) or not all(
                isinstance(k, str) and isinstance(v, int) for k, v in self.counts.items()):
            raise ValidationError("import.counts", self.counts, "a dict of record kinds to numbers")

    def to_dict(self) -> dict[str, Any]:
        return {"bundle_sha256": self.bundle_sha256, "desk": self.desk, "format": self.format,
                "imported_at": self.imported_at.isoformat(), "counts": dict(self.counts)}


class Index(abc.ABC):
    """An open index. Use as a context manager, or call :meth:`close`."""

    #: Short backend name: ``sqlite`` or ``postgresql``.
    backend: str = ""
    #: Where the index lives (a path or a URL with the password left out).
    location: str = ""
    #: The hash algorithm of every fingerprint in this index.
    algorithm: str = ""

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; the index stays as it is."""

    # -- schema ------------------------------------------------------------

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version the stored index is at."""

    @abc.abstractmethod
    def migrate(self) -> list[int]:
        """Bring the schema up to :data:`SCHEMA_VERSION`; return the versions applied."""

    # -- transactions ------------------------------------------------------

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Group writes: all of them happen, or none (an exception rolls back)."""

    # -- writing -----------------------------------------------------------

    @abc.abstractmethod
    def add_clip(self, clip: Clip, fingerprint: Fingerprint | None = None,
                 metadata: dict[str, Any] | None = None) -> StoredClip:
        """Store a clip (once per sha256) with its fingerprint and metadata record.

        Adding a clip that is already there changes nothing and returns it with
        ``created=False``; a fingerprint or metadata it lacked is added.
        """

    @abc.abstractmethod
    def add_clips(self, items: list[tuple[Clip, Fingerprint | None, dict[str, Any] | None]]) -> list[StoredClip]:
        """Add many (clip, fingerprint, metadata) items in one transaction; the fast way to load an archive."""

    @abc.abstractmethod
    def add_appearance(self, appearance: Appearance) -> str:
        """Store an appearance (idempotent on its id); return the id."""

    @abc.abstractmethod
    def add_claim(self, claim: Claim) -> str:
        """Store a claim (idempotent on its id); return the id."""

    @abc.abstractmethod
    def add_assessment(self, assessment: Assessment) -> str:
        """Store an assessment (idempotent on its id); return the id."""

    @abc.abstractmethod
    def add_verdict(self, verdict: Verdict) -> str:
        """Store a verdict (idempotent on its id); the latest one is the clip's status."""

    # -- reading -----------------------------------------------------------

    @abc.abstractmethod
    def count_clips(self) -> int:
        """How many clips the index holds."""

    @abc.abstractmethod
    def clip_by_id(self, clip_id: int) -> StoredClip | None: ...

    @abc.abstractmethod
    def clip_by_sha256(self, sha256: str) -> StoredClip | None: ...

    @abc.abstractmethod
    def clips_by_prefix(self, prefix: str, limit: int = 2) -> list[StoredClip]:
        """Clips whose sha256 starts with ``prefix`` (at most ``limit``)."""

    @abc.abstractmethod
    def list_clips(self, where: ClipFilter | None = None) -> list[StoredClip]:
        """Clips in the order they were added, narrowed by ``where``."""

    @abc.abstractmethod
    def fingerprints(self, clip_ids: list[int]) -> dict[int, Fingerprint]:
        """The stored fingerprints of these clips (clips without one are left out)."""

    def frame_arrays(self, clip_ids: list[int]) -> dict[int, FrameArrays]:
        """The stored fingerprints of these clips as arrays, for matching (see :class:`FrameArrays`).

        Backends read them without building an object per frame; this
        default goes through :meth:`fingerprints`.
        """
        return {clip_id: FrameArrays.of(fp) for clip_id, fp in self.fingerprints(clip_ids).items()}

    def fingerprint(self, clip_id: int) -> Fingerprint | None:
        return self.fingerprints([clip_id]).get(clip_id)

    @abc.abstractmethod
    def metadata(self, clip_id: int) -> dict[str, Any] | None:
        """The embedded-metadata record stored with the clip, as a dict."""

    @abc.abstractmethod
    def records(self, sha256s: list[str] | None = None) -> RecordBundle:
        """Everything recorded about these clips (all clips when None), as one bundle."""

    # -- candidate search -------------------------------------------------

    @abc.abstractmethod
    def posting_lists(self, lists: Sequence[int]) -> PostingLists:
        """The posting lists with these ids (``keys.list_ids``), as flat arrays; lists with no postings left out."""

    def postings(self, chunks: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        """The posting lists for (chunk number, chunk value) pairs, as ``keys.POSTING`` arrays.

        Pairs with no postings are left out of the result.
        """
        if not chunks:
            return {}
        pairs = np.array(chunks, dtype=np.int64).reshape(-1, 2)
        return self.posting_lists(np.unique(list_ids(pairs[:, 0], pairs[:, 1])).tolist()).as_dict()

    # -- imported hashes (schema version 2) ---------------------------------

    @abc.abstractmethod
    def log_import(self, entry: HashImport, origins: Sequence[tuple[str, str]]) -> bool:
        """Log an imported file and the records it brought, as (kind, id or sha256) pairs.

        Returns False, writing nothing, when a file with that sha256 was
        imported before. Call it in the transaction that stores the records.
        """

    @abc.abstractmethod
    def hash_imports(self) -> list[HashImport]:
        """Every imported file, oldest first."""

    @abc.abstractmethod
    def record_origins(self) -> dict[tuple[str, str], str]:
        """For each imported record, (kind, id or sha256): the sha256 of the file that brought it."""

    # -- shared checks ----------------------------------------------------

    def _check_algorithm(self, fingerprint: Fingerprint) -> None:
        if fingerprint.algorithm != self.algorithm:
            raise ValidationError("fingerprint algorithm", fingerprint.algorithm,
                                  f"{self.algorithm}, the algorithm of the index at {self.location}")


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
