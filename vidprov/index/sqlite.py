"""The SQLite backend: one file, the embedded default (``./vidprov.db``).

Layout:

* ``clips``, ``metadata`` and the record tables hold each record's full JSON
  form (lossless) beside the few columns that are searched; ``frames`` holds
  each fingerprint's header and its frames packed (:mod:`vidprov.index.packing`).
* ``lists`` keeps the posting lists (:mod:`vidprov.index.keys`), encoded as
  :func:`~vidprov.index.packing.encode_lists` does (the same form as on
  PostgreSQL), one row per list and run. A query reads a few hundred of them
  and checks them in numpy.
* ``pending`` takes the postings of clips added one at a time, one small row
  each, so that adding a clip to a large index stays cheap. When it grows past
  :data:`PENDING_LIMIT` rows it is written out as a new *run* of BLOBs; after
  :data:`MAX_RUNS` runs, :meth:`SQLiteIndex.optimize` merges every list back
  into one BLOB (it can also be run by hand: ``vidprov index optimize``).
  Bulk loads (:meth:`SQLiteIndex.add_clips`) write their postings straight
  out as one run.

The file runs in WAL mode with a busy timeout, so several processes can add
and match at once; every write is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np

from ..errors import CorruptIndexError, IndexNotFoundError, IndexStoreError, SchemaVersionError, ValidationError
from ..fingerprint import Fingerprint, FrameArrays, FrameRecord
from ..hashing import ALGORITHMS, DEFAULT_ALGORITHM, FrameHash
from ..records import Appearance, Assessment, Claim, Clip, RecordBundle, Verdict
from . import keys as K
from .base import SCHEMA_VERSION, ClipFilter, HashImport, Index, StoredClip, iter_batches, needed_version
from .packing import encode_lists, pack_frames, pending_lists, read_stored, unpack_frames
from .packing import frame_arrays as packed_arrays

_T = TypeVar("_T")

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 60.0
#: Pending postings are written out as a run of BLOBs past this many rows.
PENDING_LIMIT = 200_000
#: Page size of new index files.
PAGE_SIZE = 16384
#: Runs of BLOBs allowed before all posting lists are merged back into one each.
MAX_RUNS = 8
#: Bytes of the file read through a memory map (SQLite caps it at its own limit, 2 GB in most builds):
#: a search reads a few hundred posting lists straight from the page cache, with no copy into
#: SQLite's own.
MMAP_SIZE = 1 << 40
#: Fewest rows a search asks for at once (posting lists, candidates' frames) for half of them to be read by
#: a second connection on a thread of its own (see :class:`_SecondReader`).
SPLIT_ROWS = 16

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE clips (
               id INTEGER PRIMARY KEY,
               sha256 TEXT NOT NULL UNIQUE,
               record TEXT NOT NULL,
               added_at TEXT NOT NULL)""",
        """CREATE TABLE fingerprints (
               clip_id INTEGER PRIMARY KEY REFERENCES clips(id),
               header TEXT NOT NULL,
               times BLOB NOT NULL,
               hashes BLOB NOT NULL,
               qualities BLOB NOT NULL,
               frame_numbers BLOB NOT NULL)""",
        """CREATE TABLE metadata (clip_id INTEGER PRIMARY KEY REFERENCES clips(id), record TEXT NOT NULL)""",
        """CREATE TABLE appearances (
               id TEXT PRIMARY KEY,
               clip_sha256 TEXT,
               publisher TEXT,
               platform TEXT,
               posted_at TEXT,
               record TEXT NOT NULL)""",
        """CREATE INDEX appearances_clip ON appearances(clip_sha256)""",
        """CREATE TABLE claims (
               id TEXT PRIMARY KEY,
               clip_sha256 TEXT,
               appearance_id TEXT,
               record TEXT NOT NULL)""",
        """CREATE INDEX claims_clip ON claims(clip_sha256)""",
        """CREATE INDEX claims_appearance ON claims(appearance_id)""",
        """CREATE TABLE assessments (id TEXT PRIMARY KEY, made_at TEXT, record TEXT NOT NULL)""",
        """CREATE TABLE assessment_clips (
               assessment_id TEXT NOT NULL REFERENCES assessments(id),
               clip_sha256 TEXT NOT NULL,
               PRIMARY KEY (assessment_id, clip_sha256)) WITHOUT ROWID""",
        """CREATE INDEX assessment_clips_clip ON assessment_clips(clip_sha256)""",
        """CREATE TABLE verdicts (
               id TEXT PRIMARY KEY,
               clip_sha256 TEXT NOT NULL,
               decided_at TEXT NOT NULL,
               record TEXT NOT NULL)""",
        """CREATE INDEX verdicts_clip ON verdicts(clip_sha256, decided_at)""",
        # A rowid table: its rows keep BLOBs of a few KB inline, where a
        # WITHOUT ROWID table would spill each one to an overflow page.
        """CREATE TABLE postings (
               chunk INTEGER NOT NULL,
               value INTEGER NOT NULL,
               run INTEGER NOT NULL,
               entries BLOB NOT NULL)""",
        """CREATE UNIQUE INDEX postings_key ON postings(chunk, value, run)""",
        """CREATE TABLE pending (
               chunk INTEGER NOT NULL,
               value INTEGER NOT NULL,
               clip_id INTEGER NOT NULL,
               frame INTEGER NOT NULL,
               key INTEGER NOT NULL)""",
        """CREATE INDEX pending_chunk ON pending(chunk, value)""",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS hash_imports (
               bundle_sha256 TEXT PRIMARY KEY,
               desk TEXT NOT NULL,
               format TEXT NOT NULL,
               imported_at TEXT NOT NULL,
               counts TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS record_origins (
               kind TEXT NOT NULL,
               ref TEXT NOT NULL,
               bundle_sha256 TEXT NOT NULL REFERENCES hash_imports(bundle_sha256),
               PRIMARY KEY (kind, ref)) WITHOUT ROWID""",
    ],
    # Fingerprint frames packed and posting lists encoded as on PostgreSQL: about half the size.
    # The rows of the old tables are converted by _to_compact_layout.
    3: [
        """CREATE TABLE frames (
               clip_id INTEGER PRIMARY KEY REFERENCES clips(id),
               header TEXT NOT NULL,
               packed BLOB NOT NULL)""",
        # A rowid table: its rows keep BLOBs of a few KB inline.
        """CREATE TABLE lists (
               list INTEGER NOT NULL,
               run INTEGER NOT NULL,
               groups BLOB NOT NULL,
               keys BLOB NOT NULL)""",
        """CREATE UNIQUE INDEX lists_key ON lists(list, run)""",
    ],
    # Inner pictures in packed frames and posting lists 4-7: the tables do not change.
    4: [],
    # Strips in packed frames and posting lists 8-11: likewise.
    5: [],
}
#: The first schema version with the ``frames`` and ``lists`` tables.
COMPACT_LAYOUT = 3


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _signed(key: int) -> int:
    """SQLite integers are signed 64-bit: store a uint64 key in that range."""
    return key - (1 << 64) if key >= 1 << 63 else key


class SQLiteIndex(Index):
    """An index in one SQLite file."""

    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 algorithm: str | None = None) -> None:
        self.location = os.fspath(path)
        exists = os.path.exists(self.location)
        if not exists and not create:
            raise IndexNotFoundError("no index here yet; add a clip first (vidprov add CLIP)", self.location)
        if exists and os.path.isdir(self.location):
            raise IndexStoreError("is a directory, not an index file", self.location)
        if exists and os.path.getsize(self.location) > 0:
            with open(self.location, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise CorruptIndexError("is not a vidprov index (not an SQLite file); it was left untouched",
                                            self.location)
        self._depth = 0
        self._reader: _SecondReader | None = None
        self._layout_ready = False  # the frames and lists tables seen (see _require_layout)
        self._version_seen = 0  # the schema version last seen (see _store_fingerprint)
        try:
            self._db = _connect(self.location)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as error:
            raise CorruptIndexError(f"is not a readable vidprov index ({error}); it was left untouched",
                                    self.location) from None
        if not tables:
            self._create(algorithm or DEFAULT_ALGORITHM)
        elif "meta" not in tables:
            self._db.close()
            raise CorruptIndexError("is an SQLite file but not a vidprov index; it was left untouched",
                                    self.location)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            self._db.close()
            raise SchemaVersionError(f"index schema version {version} is newer than this vidprov supports "
                                     f"({SCHEMA_VERSION}); upgrade vidprov", self.location)
        self.algorithm = self._meta("algorithm") or DEFAULT_ALGORITHM
        if algorithm and algorithm != self.algorithm:
            self._db.close()
            raise ValidationError("algorithm", algorithm, f"{self.algorithm}, the algorithm of {self.location}")

    # -- lifecycle and schema ---------------------------------------------

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._db.close()

    def _second_reader(self) -> _SecondReader | None:
        """The second connection for splitting large reads, opened on first use; None on a machine with
        one core, inside a transaction (whose writes only this connection sees) and if it cannot be opened."""
        if self._db.in_transaction or (os.cpu_count() or 1) < 2:
            return None
        if self._reader is None or self._reader.pid != os.getpid():  # not a forked parent's thread
            try:
                self._reader = _SecondReader(self.location)
            except (sqlite3.Error, RuntimeError):
                return None
        return self._reader

    def _select_in(self, statement: str, ids: list[int]) -> list[tuple[Any, ...]]:
        """The rows of ``statement`` for ``ids``, whose placeholders go in its ``{marks}``, 500 at a time
        (split as :meth:`_read_halves` does: each half's rows in the statement's order, the first half's first)."""
        return [row for rows in self._read_halves(statement, ids, list) for row in rows]

    def _read_halves(self, statement: str, ids: list[int],
                     then: Callable[[list[tuple[Any, ...]]], _T]) -> list[_T]:
        """``then`` of the rows of ``statement`` for ``ids`` (as :meth:`_select_in`): of all of them, or, for
        :data:`SPLIT_ROWS` ids or more, of each half, read and worked on at once on two connections and
        threads."""
        reader = self._second_reader() if len(ids) >= SPLIT_ROWS else None
        if reader is None:
            return [then(_select_batches(self._db, statement, ids))]
        half = len(ids) // 2
        later = reader.run(lambda db: then(_select_batches(db, statement, ids[half:])))
        try:
            first = then(_select_batches(self._db, statement, ids[:half]))
        finally:
            second = later.result()
        return [first, second]

    def _create(self, algorithm: str) -> None:
        # Large pages hold a posting list of a big index in one read.
        self._db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        with self.transaction():
            # Another process may have made the index since this one found the file empty.
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is not None:
                return
            for version in sorted(MIGRATIONS):
                self._apply(version)
            self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("algorithm", algorithm), ("created_at", _now()), ("runs", "0")])

    def _apply(self, version: int) -> None:
        for statement in MIGRATIONS[version]:
            self._db.execute(statement)
        if version == COMPACT_LAYOUT:
            self._to_compact_layout()
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(version),))

    def _to_compact_layout(self) -> None:
        """Move the rows of ``fingerprints`` and ``postings`` (versions 1-2) into ``frames`` and ``lists``."""
        reader = self._db.cursor()
        reader.execute("SELECT clip_id, header, times, hashes, qualities, frame_numbers FROM fingerprints")
        while rows := reader.fetchmany(2000):
            self._db.executemany("INSERT INTO frames (clip_id, header, packed) VALUES (?, ?, ?)",
                                 ((row[0], row[1], pack_frames(_fingerprint_from_row(row[1:]))) for row in rows))
        held: list[np.ndarray] = []  # whole lists, written out a few million postings at a time

        def flush() -> None:
            if held:
                lists, groups, keys = encode_lists(np.concatenate(held))
                self._db.executemany("INSERT INTO lists (list, run, groups, keys) VALUES (?, 0, ?, ?)",
                                     zip(lists, groups, keys))
                held.clear()

        reader.execute("SELECT chunk, value, entries FROM postings ORDER BY chunk, value, run")
        previous = None
        for chunk, value, blob in reader:
            if (chunk, value) != previous and sum(len(part) for part in held) > 2_000_000:
                flush()  # between two lists: each list goes out whole, as one row
            previous = (chunk, value)
            found = K.decode_postings(blob)
            entries = np.empty(len(found), dtype=K.CHUNKED)
            entries["chunk"], entries["value"] = chunk, value
            for name in ("clip", "frame", "key"):
                entries[name] = found[name]
            held.append(entries)
        flush()
        reader.close()
        self._db.execute("DROP TABLE fingerprints")
        self._db.execute("DROP TABLE postings")
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('unmerged_runs', '0')")

    def _require_layout(self) -> None:
        # Asked on every search: once the layout is there (versions never go down), no more queries.
        if self._layout_ready:
            return
        self._layout_ready = self.schema_version() >= COMPACT_LAYOUT
        if not self._layout_ready:
            raise SchemaVersionError(f"this index is at schema version {self.schema_version()}; its fingerprints "
                                     f"and posting lists need version {COMPACT_LAYOUT}: run vidprov index migrate",
                                     self.location)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def schema_version(self) -> int:
        try:
            return int(self._meta("schema_version") or 0)
        except sqlite3.DatabaseError as error:
            raise CorruptIndexError(f"cannot read the index ({error})", self.location) from None

    def migrate(self) -> list[int]:
        applied = []
        for version in sorted(MIGRATIONS):
            if version > self.schema_version():
                with self.transaction():
                    self._apply(version)
                applied.append(version)
        return applied

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise IndexStoreError(f"cannot start writing ({error})", self.location) from None
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            self._db.execute("ROLLBACK")
            raise IndexStoreError(f"could not save the change ({error})", self.location) from None

    # -- clips and fingerprints --------------------------------------------

    def _stored(self, row: tuple[Any, ...] | None, created: bool = False) -> StoredClip | None:
        if row is None:
            return None
        clip_id, sha256, record, added_at = row
        return StoredClip(clip_id, sha256, Clip.from_dict(json.loads(record)), datetime.fromisoformat(added_at),
                          created)

    _CLIP_COLUMNS = "id, sha256, record, added_at"

    def add_clip(self, clip: Clip, fingerprint: Fingerprint | None = None,
                 metadata: dict[str, Any] | None = None) -> StoredClip:
        if fingerprint is not None:
            self._check_algorithm(fingerprint)
        with self.transaction():
            stored = self._add_clip_row(clip, fingerprint, metadata, None)
            if (self._db.execute("SELECT max(rowid) FROM pending").fetchone()[0] or 0) > PENDING_LIMIT:
                self._flush_pending()
        return stored

    def add_clips(self, items: list[tuple[Clip, Fingerprint | None, dict[str, Any] | None]]) -> list[StoredClip]:
        """Add many clips in one transaction, writing their postings straight out as one run.

        Much faster than :meth:`add_clip` in a loop for loading an archive.
        """
        stored: list[StoredClip] = []
        postings: list[np.ndarray] = []
        with self.transaction():
            for clip, fingerprint, metadata in items:
                if fingerprint is not None:
                    self._check_algorithm(fingerprint)
                result = self._add_clip_row(clip, fingerprint, metadata, postings)
                stored.append(result)
            if postings:
                self._write_run(np.concatenate(postings))
        return stored

    def _add_clip_row(self, clip: Clip, fingerprint: Fingerprint | None, metadata: dict[str, Any] | None,
                      postings: list[np.ndarray] | None) -> StoredClip:
        """Insert (or find) the clip and store what it lacked; postings go to ``postings`` or ``pending``."""
        if fingerprint is not None and fingerprint.sha256 != clip.sha256:
            raise ValidationError("fingerprint sha256", fingerprint.sha256, f"the clip's, {clip.sha256}")
        row = self._db.execute(f"SELECT {self._CLIP_COLUMNS} FROM clips WHERE sha256 = ?", (clip.sha256,)).fetchone()
        created = row is None
        if created:
            cursor = self._db.execute("INSERT INTO clips (sha256, record, added_at) VALUES (?, ?, ?)",
                                      (clip.sha256, _json(clip.to_dict()), _now()))
            clip_id = int(cursor.lastrowid)  # type: ignore[arg-type]
        else:
            clip_id = int(row[0])
        if fingerprint is not None and self._db.execute(
                "SELECT 1 FROM frames WHERE clip_id = ?", (clip_id,)).fetchone() is None:
            entries = self._store_fingerprint(clip_id, fingerprint)
            if postings is None:
                self._db.executemany("INSERT INTO pending (chunk, value, clip_id, frame, key) VALUES (?, ?, ?, ?, ?)",
                                     _pending_rows(entries))
            else:
                postings.append(entries)
        if metadata is not None:
            self._db.execute("INSERT OR IGNORE INTO metadata (clip_id, record) VALUES (?, ?)",
                             (clip_id, _json(metadata)))
        if created:
            row = self._db.execute(f"SELECT {self._CLIP_COLUMNS} FROM clips WHERE id = ?", (clip_id,)).fetchone()
        stored = self._stored(row, created)
        assert stored is not None
        return stored

    def _store_fingerprint(self, clip_id: int, fingerprint: Fingerprint) -> np.ndarray:
        """Store the fingerprint row; return its postings (chunk, value and posting per frame and chunk)."""
        self._require_layout()
        fingerprint = fingerprint.for_index()
        needed = needed_version(fingerprint)
        if needed > self._version_seen:
            # Versions never go down: once seen, not asked again. Raised in this transaction, the
            # fingerprint and the version are stored together.
            self._version_seen = self.schema_version()
            for version in range(self._version_seen + 1, needed + 1):
                self._apply(version)
            self._version_seen = max(self._version_seen, needed)
        header = fingerprint.to_dict()
        del header["frames"]
        self._db.execute("INSERT INTO frames (clip_id, header, packed) VALUES (?, ?, ?)",
                         (clip_id, _json(header), pack_frames(fingerprint)))
        return K.fingerprint_postings(clip_id, fingerprint)

    def _write_run(self, entries: np.ndarray) -> None:
        """Write postings (a ``keys.CHUNKED`` array) as a new run: one row per list."""
        if not len(entries):
            return
        self._require_layout()
        run = int(self._meta("runs") or 0) + 1
        lists, groups, keys = encode_lists(entries)
        self._db.executemany("INSERT INTO lists (list, run, groups, keys) VALUES (?, ?, ?, ?)",
                             ((number, run, g, k) for number, g, k in zip(lists, groups, keys)))
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'runs'", (str(run),))
        unmerged = int(self._meta("unmerged_runs") or 0) + 1
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('unmerged_runs', ?)", (str(unmerged),))
        if unmerged > MAX_RUNS:
            self._compact()

    def _flush_pending(self) -> None:
        rows = self._db.execute("SELECT chunk, value, clip_id, frame, key FROM pending").fetchall()
        if not rows:
            return
        data = np.array(rows, dtype=np.int64)
        entries = np.empty(len(data), dtype=K.CHUNKED)
        entries["chunk"], entries["value"], entries["clip"], entries["frame"] = data[:, 0], data[:, 1], data[:, 2], data[:, 3]
        entries["key"] = data[:, 4].view(np.uint64)
        self._db.execute("DELETE FROM pending")
        self._write_run(entries)

    def _compact(self) -> None:
        """Merge every posting list's runs into one row (inside a transaction).

        Groups and keys of one list join by concatenation (:mod:`vidprov.index.packing`).
        """
        self._require_layout()
        cursor = self._db.execute("SELECT list, groups, keys FROM lists WHERE list IN "
                                  "(SELECT list FROM lists GROUP BY list HAVING count(*) > 1) ORDER BY list, run")
        group: list[tuple[int, bytes, bytes]] = []
        merged: list[tuple[int, bytes, bytes]] = []

        def close() -> None:
            if group:
                merged.append((group[0][0], b"".join(g[1] for g in group), b"".join(g[2] for g in group)))

        for row in cursor:
            if group and row[0] != group[0][0]:
                close()
                group = []
            group.append(row)
        close()
        for number, groups, keys in merged:
            self._db.execute("DELETE FROM lists WHERE list = ?", (number,))
            self._db.execute("INSERT INTO lists (list, run, groups, keys) VALUES (?, 0, ?, ?)",
                             (number, groups, keys))
        self._db.execute("UPDATE lists SET run = 0 WHERE run != 0")
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('unmerged_runs', '0')")

    def optimize(self) -> None:
        """Write out pending postings and merge every posting list into one BLOB."""
        with self.transaction():
            self._flush_pending()
            self._compact()
        self._db.execute("PRAGMA optimize")

    def count_clips(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM clips").fetchone()[0])

    def clip_by_id(self, clip_id: int) -> StoredClip | None:
        return self._stored(self._db.execute(f"SELECT {self._CLIP_COLUMNS} FROM clips WHERE id = ?",
                                             (clip_id,)).fetchone())

    def clip_by_sha256(self, sha256: str) -> StoredClip | None:
        return self._stored(self._db.execute(f"SELECT {self._CLIP_COLUMNS} FROM clips WHERE sha256 = ?",
                                             (sha256,)).fetchone())

    def clips_by_prefix(self, prefix: str, limit: int = 2) -> list[StoredClip]:
        prefix = prefix.lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        # A range scan on the unique index: prefix <= sha256 < prefix + 'g'.
        rows = self._db.execute(f"SELECT {self._CLIP_COLUMNS} FROM clips WHERE sha256 >= ? AND sha256 < ? "
                                "ORDER BY sha256 LIMIT ?", (prefix, prefix + "g", limit)).fetchall()
        return [s for s in (self._stored(row) for row in rows) if s is not None]

    def list_clips(self, where: ClipFilter | None = None) -> list[StoredClip]:
        where = where or ClipFilter()
        conditions, params = [], []
        if where.publisher is not None:
            conditions.append("a.publisher = ?")
            params.append(where.publisher)
        if where.platform is not None:
            conditions.append("a.platform = ?")
            params.append(where.platform)
        if where.posted_after is not None:
            conditions.append("a.posted_at >= ?")
            params.append(where.posted_after.astimezone(timezone.utc).isoformat())
        if where.posted_before is not None:
            conditions.append("a.posted_at <= ?")
            params.append(where.posted_before.astimezone(timezone.utc).isoformat())
        if conditions:
            query = (f"SELECT DISTINCT c.id, c.sha256, c.record, c.added_at FROM clips c "
                     f"JOIN appearances a ON a.clip_sha256 = c.sha256 WHERE {' AND '.join(conditions)} ORDER BY c.id")
        else:
            query = f"SELECT {self._CLIP_COLUMNS} FROM clips ORDER BY id"
        return [s for s in (self._stored(row) for row in self._db.execute(query, params)) if s is not None]

    def _frame_rows(self, clip_ids: list[int]) -> Iterator[tuple[int, dict[str, Any], bytes]]:
        """(clip id, header, packed frames) of the stored fingerprints of these clips."""
        self._require_layout()
        for clip_id, header, packed in self._select_in("SELECT clip_id, header, packed FROM frames "
                                                       "WHERE clip_id IN ({marks})", [int(c) for c in clip_ids]):
            yield int(clip_id), json.loads(header), packed

    def fingerprints(self, clip_ids: list[int]) -> dict[int, Fingerprint]:
        found: dict[int, Fingerprint] = {}
        for clip_id, data, packed in self._frame_rows(clip_ids):
            frames = unpack_frames(packed, ALGORITHMS[data["algorithm"]].bits, data, self.location)
            found[clip_id] = _with_frames(Fingerprint.from_dict({**data, "frames": []}), frames)
        return found

    def frame_arrays(self, clip_ids: list[int]) -> dict[int, FrameArrays]:
        return {clip_id: packed_arrays(data["sha256"], data, packed, self.location)
                for clip_id, data, packed in self._frame_rows(clip_ids)}

    def metadata(self, clip_id: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT record FROM metadata WHERE clip_id = ?", (clip_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- records -------------------------------------------------------------

    def add_appearance(self, appearance: Appearance) -> str:
        posted = appearance.posted_at.value.astimezone(timezone.utc).isoformat() if appearance.posted_at else None
        platform = getattr(appearance.platform, "value", appearance.platform)
        with self.transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO appearances (id, clip_sha256, publisher, platform, posted_at, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (appearance.id, appearance.clip_sha256, appearance.publisher, platform, posted,
                 _json(appearance.to_dict())))
        return appearance.id

    def add_claim(self, claim: Claim) -> str:
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO claims (id, clip_sha256, appearance_id, record) "
                             "VALUES (?, ?, ?, ?)",
                             (claim.id, claim.clip_sha256, claim.appearance_id, _json(claim.to_dict())))
        return claim.id

    def add_assessment(self, assessment: Assessment) -> str:
        with self.transaction():
            inserted = self._db.execute("INSERT OR IGNORE INTO assessments (id, made_at, record) VALUES (?, ?, ?)",
                                        (assessment.id, assessment.made_at.astimezone(timezone.utc).isoformat(),
                                         _json(assessment.to_dict()))).rowcount
            if inserted:
                self._db.executemany("INSERT OR IGNORE INTO assessment_clips (assessment_id, clip_sha256) "
                                     "VALUES (?, ?)", [(assessment.id, sha) for sha in assessment.clip_sha256s])
        return assessment.id

    def add_verdict(self, verdict: Verdict) -> str:
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO verdicts (id, clip_sha256, decided_at, record) "
                             "VALUES (?, ?, ?, ?)",
                             (verdict.id, verdict.clip_sha256,
                              verdict.decided_at.astimezone(timezone.utc).isoformat(), _json(verdict.to_dict())))
        return verdict.id

    def records(self, sha256s: list[str] | None = None) -> RecordBundle:
        db = self._db
        if sha256s is None:
            clips = [r[0] for r in db.execute("SELECT record FROM clips ORDER BY id")]
            appearances = [r[0] for r in db.execute("SELECT record FROM appearances ORDER BY rowid")]
            claims = [r[0] for r in db.execute("SELECT record FROM claims ORDER BY rowid")]
            assessments = [r[0] for r in db.execute("SELECT record FROM assessments ORDER BY rowid")]
            verdicts = [r[0] for r in db.execute("SELECT record FROM verdicts ORDER BY decided_at, rowid")]
        else:
            wanted = list(dict.fromkeys(sha256s))
            marks = ",".join("?" * len(wanted))
            clips = [r[0] for r in db.execute(f"SELECT record FROM clips WHERE sha256 IN ({marks}) ORDER BY id",
                                              wanted)]
            appearance_rows = db.execute(f"SELECT id, record FROM appearances WHERE clip_sha256 IN ({marks}) "
                                         "ORDER BY rowid", wanted).fetchall()
            appearance_ids = [r[0] for r in appearance_rows]
            appearances = [r[1] for r in appearance_rows]
            id_marks = ",".join("?" * len(appearance_ids))
            claims = [r[0] for r in db.execute(
                f"SELECT record FROM claims WHERE clip_sha256 IN ({marks}) "
                + (f"OR appearance_id IN ({id_marks}) " if appearance_ids else "") + "ORDER BY rowid",
                wanted + appearance_ids)]
            assessments = [r[0] for r in db.execute(
                f"SELECT DISTINCT a.record, a.rowid FROM assessments a JOIN assessment_clips c "
                f"ON c.assessment_id = a.id WHERE c.clip_sha256 IN ({marks}) ORDER BY a.rowid", wanted)]
            verdicts = [r[0] for r in db.execute(f"SELECT record FROM verdicts WHERE clip_sha256 IN ({marks}) "
                                                 "ORDER BY decided_at, rowid", wanted)]
        return RecordBundle(
            clips=tuple(Clip.from_dict(json.loads(r)) for r in clips),
            appearances=tuple(Appearance.from_dict(json.loads(r)) for r in appearances),
            claims=tuple(Claim.from_dict(json.loads(r)) for r in claims),
            assessments=tuple(Assessment.from_dict(json.loads(r)) for r in assessments),
            verdicts=tuple(Verdict.from_dict(json.loads(r)) for r in verdicts),
        )

    # -- candidate search ----------------------------------------------------

    def posting_lists(self, lists: Sequence[int]) -> K.PostingLists:
        self._require_layout()
        wanted = sorted({int(list_id) for list_id in lists})
        # Each half of a split read is decoded on the thread that read it; the halves are searched as pieces.
        halves = self._read_halves("SELECT list, groups, keys FROM lists WHERE list IN ({marks}) ORDER BY list, run",
                                   wanted, lambda rows: read_stored(rows, self.location))
        pending: list[tuple[int, int, int, int]] = []
        if self._db.execute("SELECT 1 FROM pending LIMIT 1").fetchone() is not None:
            # One statement for all the lists asked (not one per chunk number): each list's (chunk, value)
            # is looked up in the pending table's index, its rows coming in the order they were added.
            for batch in iter_batches(wanted, 500):
                pending += self._db.execute(
                    f"WITH asked (list) AS (VALUES {','.join(['(?)'] * len(batch))}) "
                    f"SELECT asked.list, p.clip_id, p.frame, p.key FROM asked CROSS JOIN pending AS p "
                    f"ON p.chunk = asked.list >> {K.CHUNK_BITS} AND p.value = asked.list & {(1 << K.CHUNK_BITS) - 1}",
                    batch).fetchall()
        return functools.reduce(K.PostingLists.join, halves).join(pending_lists(pending))

    # -- imported hashes ---------------------------------------------------------

    def log_import(self, entry: HashImport, origins: Sequence[tuple[str, str]]) -> bool:
        if self.schema_version() < 2:
            raise SchemaVersionError(f"importing hashes needs index schema version 2 (this index is at "
                                     f"{self.schema_version()}): run vidprov index migrate", self.location)
        with self.transaction():
            logged = self._db.execute(
                "INSERT OR IGNORE INTO hash_imports (bundle_sha256, desk, format, imported_at, counts) "
                "VALUES (?, ?, ?, ?, ?)", (entry.bundle_sha256, entry.desk, entry.format,
                                           entry.imported_at.astimezone(timezone.utc).isoformat(),
                                           _json(entry.counts))).rowcount
            if logged:
                self._db.executemany("INSERT OR IGNORE INTO record_origins (kind, ref, bundle_sha256) VALUES (?, ?, ?)",
                                     [(kind, ref, entry.bundle_sha256) for kind, ref in sorted(set(origins))])
        return bool(logged)

    def hash_imports(self) -> list[HashImport]:
        if self.schema_version() < 2:
            return []
        return [HashImport(row[0], row[1], row[2], datetime.fromisoformat(row[3]), json.loads(row[4]))
                for row in self._db.execute("SELECT bundle_sha256, desk, format, imported_at, counts "
                                            "FROM hash_imports ORDER BY rowid")]

    def record_origins(self) -> dict[tuple[str, str], str]:
        if self.schema_version() < 2:
            return {}
        return {(row[0], row[1]): row[2] for row in self._db.execute(
            "SELECT kind, ref, bundle_sha256 FROM record_origins ORDER BY kind, ref")}


def _connect(location: str) -> sqlite3.Connection:
    """A connection to the index file in autocommit mode (writes open their own transactions), waiting
    up to :data:`BUSY_TIMEOUT` for another process's lock."""
    db = sqlite3.connect(location, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    return db


def _select_batches(db: sqlite3.Connection, statement: str, ids: list[int]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for batch in iter_batches(ids, 500):
        rows += db.execute(statement.format(marks=",".join("?" * len(batch))), batch).fetchall()
    return rows


class _SecondReader:
    """A second connection to an index file, kept on a thread of its own, that reads half of a search's
    rows while the index's own connection reads the other half.

    SQLite reads without holding Python's GIL, and most of a search's read
    of a large index is the first touch of the memory-mapped pages of the
    few hundred posting lists it asks for: on two cores, two connections
    read them in about two thirds of the time. The connection is made and
    used on its thread only; it reads what has been committed, as the
    index's own connection does outside a transaction.
    """

    def __init__(self, location: str) -> None:
        self.pid = os.getpid()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="vidprov-sqlite-reader")
        try:
            self._db = self._thread.submit(self._connect, location).result()
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    @staticmethod
    def _connect(location: str) -> sqlite3.Connection:
        db = _connect(location)
        db.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
        return db

    def run(self, work: Callable[[sqlite3.Connection], _T]) -> Future[_T]:
        """``work(connection)``, on the thread."""
        return self._thread.submit(work, self._db)

    def close(self) -> None:
        self._thread.submit(self._db.close).result()
        self._thread.shutdown()


def _fingerprint_from_row(row: tuple[Any, ...]) -> Fingerprint:
    header, times, hashes, qualities, numbers = row
    data = json.loads(header)
    t = np.frombuffer(times, dtype="<f8")
    q = np.frombuffer(qualities, dtype=np.uint8)
    n = np.frombuffer(numbers, dtype="<i4")
    width = len(hashes) // max(1, len(t))
    frames = tuple(FrameRecord(float(t[i]), FrameHash(hashes[i * width:(i + 1) * width], width * 8),
                               int(q[i]), int(n[i])) for i in range(len(t)))
    data["frames"] = []
    return _with_frames(Fingerprint.from_dict(data), frames)


def _with_frames(fp: Fingerprint, frames: tuple[FrameRecord, ...]) -> Fingerprint:
    from dataclasses import replace

    return replace(fp, frames=frames)


def _pending_rows(entries: np.ndarray) -> Iterator[tuple[int, int, int, int, int]]:
    for chunk, value, clip, frame, key in zip(entries["chunk"].tolist(), entries["value"].tolist(),
                                             entries["clip"].tolist(), entries["frame"].tolist(),
                                             entries["key"].tolist()):
        yield chunk, value, clip, frame, _signed(key)
