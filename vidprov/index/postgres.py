"""The PostgreSQL backend: one index shared by a team (extra ``vidprov[postgres]``).

Open it with a URL, ``postgresql://user@host:port/database``; the password
comes from the URL, ``$PGPASSWORD`` or ``~/.pgpass`` and is never shown.

Layout (the same idea as :mod:`vidprov.index.sqlite`):

* ``clips``, ``fingerprints``, ``metadata`` and the record tables hold each
  record's full JSON form as ``text`` (lossless: NUL escapes and long
  strings survive, where ``jsonb`` refuses the one) beside the few columns
  that are searched; a clip's and a fingerprint's sha256 is kept only in
  its column.
* ``postings`` keeps the posting lists as ``bytea`` *runs*, one row per
  (list, run), where ``list = chunk * 65536 + value``. Postings of one clip
  at consecutive frames share one 7-byte *group* (clip, first frame, count)
  in the row's ``groups``, and each posting adds to ``keys`` the 6 bytes of
  its key that are not the list's own chunk: about 8.5 bytes a posting where
  a plain array takes 14. Both columns are plain arrays, so runs merge by
  concatenating them. A query reads its few hundred lists through the
  primary key in one statement and decodes them in numpy.
* ``pending`` takes the postings of clips added one at a time, one row each.
  Past :data:`PENDING_LIMIT` rows they are written out as a run. Bulk loads
  (:meth:`PostgresIndex.add_clips`) write their run directly.
* Runs merge in tiers: when :data:`FANOUT` runs of one tier exist they are
  concatenated server-side into one run of the next tier, so a list is never
  spread over more than a few rows and each posting is rewritten only a few
  times however large the index grows. :meth:`PostgresIndex.optimize`
  merges everything into one run per list.

Concurrency: every write is one transaction at READ COMMITTED. Clips are
inserted with ``ON CONFLICT (sha256) DO NOTHING`` in sha256 order, so that
parallel adders never duplicate a clip nor wait on each other in a cycle;
records are keyed by their ids the same way. Flushing and merging happen
after the writing transaction has committed, under advisory locks, and touch
no row a writer holds. Deadlocks and serialization failures are retried.
Reads that take several statements run in one REPEATABLE READ snapshot, so a
reader sees each transaction whole or not at all.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Sequence, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
import psycopg.conninfo
from psycopg import errors as pg_errors

from ..errors import (
    CorruptIndexError,
    IndexNotFoundError,
    IndexStoreError,
    SchemaVersionError,
    ValidationError,
)
from ..fingerprint import Fingerprint, FrameArrays
from ..hashing import ALGORITHMS, DEFAULT_ALGORITHM
from ..records import Appearance, Assessment, Claim, Clip, RecordBundle, Verdict
from . import keys as K
from .base import SCHEMA_VERSION, ClipFilter, HashImport, Index, StoredClip, needed_version
from .packing import encode_lists, pack_frames, read_lists, unpack_frames
from .packing import frame_arrays as packed_arrays
from .sqlite import _json

T = TypeVar("T")

#: Pending postings are written out as a run past this many rows.
PENDING_LIMIT = 200_000
#: Runs of one tier merged into one run of the next.
FANOUT = 8
#: Attempts at a write that meets a deadlock or a serialization failure.
WRITE_ATTEMPTS = 6
#: Seconds to wait for a lock while migrating before giving up.
MIGRATION_LOCK_TIMEOUT = "60s"
#: Seconds to wait for the server when connecting, unless the URL says otherwise.
CONNECT_TIMEOUT = 10

# Advisory lock keys (pg_advisory_xact_lock): one for migrations, one for merging runs,
# one for writing out pending postings. Any 64-bit numbers unlikely to be used by others.
MIGRATION_LOCK = 0x7669_6470_726F_0001
MERGE_LOCK = 0x7669_6470_726F_0002
FLUSH_LOCK = 0x7669_6470_726F_0003

#: The tables vidprov keeps, in the order they can be dropped.
TABLES = ("record_origins", "hash_imports", "pending", "postings", "posting_runs", "verdicts", "assessment_clips",
          "assessments", "claims", "appearances", "metadata", "fingerprints", "clips", "meta")
SEQUENCES = ("clip_ids", "pending_rows", "posting_run_ids")

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)""",
        """CREATE SEQUENCE IF NOT EXISTS clip_ids AS integer""",
        """CREATE TABLE IF NOT EXISTS clips (
               id integer PRIMARY KEY DEFAULT nextval('clip_ids'),
               sha256 text COLLATE "C" NOT NULL UNIQUE,
               record text NOT NULL,
               added_at timestamptz NOT NULL)""",
        """ALTER SEQUENCE clip_ids OWNED BY clips.id""",
        # header: the fingerprint's JSON form without its frames and sha256 (the clip's);
        # frames: times, qualities, frame numbers and hashes, packed (see _fingerprint_columns).
        """CREATE TABLE IF NOT EXISTS fingerprints (
               clip_id integer PRIMARY KEY REFERENCES clips(id),
               header text NOT NULL,
               frames bytea NOT NULL)""",
        # Already compressed: the server need not try again.
        """ALTER TABLE fingerprints ALTER COLUMN frames SET STORAGE EXTERNAL""",
        """CREATE TABLE IF NOT EXISTS metadata (clip_id integer PRIMARY KEY REFERENCES clips(id), record text NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS appearances (
               seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
               id text COLLATE "C" PRIMARY KEY,
               clip_sha256 text COLLATE "C",
               publisher text,
               platform text,
               posted_at timestamptz,
               record text NOT NULL)""",
        """CREATE INDEX IF NOT EXISTS appearances_clip ON appearances(clip_sha256)""",
        """CREATE TABLE IF NOT EXISTS claims (
               seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
               id text COLLATE "C" PRIMARY KEY,
               clip_sha256 text COLLATE "C",
               appearance_id text COLLATE "C",
               record text NOT NULL)""",
        """CREATE INDEX IF NOT EXISTS claims_clip ON claims(clip_sha256)""",
        """CREATE INDEX IF NOT EXISTS claims_appearance ON claims(appearance_id)""",
        """CREATE TABLE IF NOT EXISTS assessments (
               seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
               id text COLLATE "C" PRIMARY KEY,
               made_at timestamptz,
               record text NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS assessment_clips (
               assessment_id text COLLATE "C" NOT NULL REFERENCES assessments(id),
               clip_sha256 text COLLATE "C" NOT NULL,
               PRIMARY KEY (assessment_id, clip_sha256))""",
        """CREATE INDEX IF NOT EXISTS assessment_clips_clip ON assessment_clips(clip_sha256)""",
        """CREATE TABLE IF NOT EXISTS verdicts (
               seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
               id text COLLATE "C" PRIMARY KEY,
               clip_sha256 text COLLATE "C" NOT NULL,
               decided_at timestamptz NOT NULL,
               record text NOT NULL)""",
        """CREATE INDEX IF NOT EXISTS verdicts_clip ON verdicts(clip_sha256, decided_at)""",
        """CREATE SEQUENCE IF NOT EXISTS posting_run_ids AS integer""",
        """CREATE TABLE IF NOT EXISTS posting_runs (
               run integer PRIMARY KEY,
               tier integer NOT NULL,
               entries bigint NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS postings (
               list integer NOT NULL,
               run integer NOT NULL,
               groups bytea NOT NULL,
               keys bytea NOT NULL,
               PRIMARY KEY (list, run))""",
        """CREATE INDEX IF NOT EXISTS postings_run ON postings(run)""",
        # A list's row stays in its heap page up to a page's size, and is not compressed (the bits are
        # random): one page read per list, where TOAST would read four or five chunks.
        """ALTER TABLE postings SET (toast_tuple_target = 8160)""",
        """ALTER TABLE postings ALTER COLUMN groups SET STORAGE MAIN, ALTER COLUMN keys SET STORAGE MAIN""",
        """CREATE SEQUENCE IF NOT EXISTS pending_rows AS bigint""",
        """CREATE TABLE IF NOT EXISTS pending (
               seq bigint NOT NULL DEFAULT nextval('pending_rows'),
               list integer NOT NULL,
               clip_id integer NOT NULL,
               frame integer NOT NULL,
               key bigint NOT NULL)""",
        """CREATE INDEX IF NOT EXISTS pending_list ON pending(list)""",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS hash_imports (
               seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
               bundle_sha256 text COLLATE "C" PRIMARY KEY,
               desk text NOT NULL,
               format text NOT NULL,
               imported_at timestamptz NOT NULL,
               counts text NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS record_origins (
               kind text COLLATE "C" NOT NULL,
               ref text COLLATE "C" NOT NULL,
               bundle_sha256 text COLLATE "C" NOT NULL REFERENCES hash_imports(bundle_sha256),
               PRIMARY KEY (kind, ref))""",
    ],
    # Version 3 packed the SQLite backend's fingerprints and posting lists the way this backend
    # always stored them (vidprov.index.packing): nothing changes here but the number.
    3: [
        """COMMENT ON TABLE postings IS 'posting lists: per list and run, 7-byte groups and 48-bit keys'""",
    ],
    # Inner pictures in packed frames and posting lists 4-7: the tables do not change.
    4: [],
    # Strips in packed frames and posting lists 8-11: likewise.
    5: [],
}

#: The candidate-search query: every run of the wanted lists, and their pending postings, in one snapshot.
POSTINGS_QUERY = """
SELECT list, groups, keys, NULL::integer AS clip_id, NULL::integer AS frame, NULL::bigint AS key
  FROM postings WHERE list = ANY(%(lists)s::integer[])
UNION ALL
SELECT list, NULL, NULL, clip_id, frame, key FROM pending WHERE list = ANY(%(lists)s::integer[])
"""

_CLIP_COLUMNS = "id, sha256, record, added_at"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def safe_location(url: str) -> str:
    """The URL without its password (in the user part or as a ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"])
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1@", url.split("?", 1)[0])


@dataclass(frozen=True)
class _Server:
    """Where a URL points, for messages (never the password)."""

    host: str
    port: str
    database: str
    user: str

    @classmethod
    def of(cls, url: str) -> _Server:
        try:
            info = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error:
            info = {}
        host = str(info.get("host") or info.get("hostaddr") or "localhost")
        user = str(info.get("user") or "")
        return cls(host, str(info.get("port") or "5432"), str(info.get("dbname") or user or "?"), user)

    def __str__(self) -> str:
        return f"host {self.host}, port {self.port}, database {self.database}"


class _ConflictError(IndexStoreError):
    """A deadlock or serialization failure: the write can simply be tried again."""


class PostgresIndex(Index):
    """An index in one PostgreSQL database."""

    backend = "postgresql"

    def __init__(self, url: str, *, create: bool = True, algorithm: str | None = None) -> None:
        self._url = url  # with the password, if it has one: only for connecting
        self.location = safe_location(url)
        self.server = _Server.of(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._depth = 0
        self._maintenance: set[str] = set()
        self._unchecked_pending = 0  # postings this client queued since it last looked at the pending table
        self._version_seen = 0  # the schema version last seen (see _store_fingerprints)
        conn = self._connection()
        with self._errors():
            tables = {row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        if "meta" not in tables:
            if tables:
                self.close()
                raise CorruptIndexError("the database holds tables that are not a vidprov index; it was left "
                                        "untouched (use an empty database)", self.location)
            if not create:
                self.close()
                raise IndexNotFoundError("no index in this database yet; create one with vidprov index migrate "
                                         "or add a clip", self.location)
            self._create(algorithm or DEFAULT_ALGORITHM)
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            self.close()
            raise SchemaVersionError(f"index schema version {version} is newer than this vidprov supports "
                                     f"({SCHEMA_VERSION}); upgrade vidprov", self.location)
        self.algorithm = self._meta("algorithm") or DEFAULT_ALGORITHM
        if algorithm and algorithm != self.algorithm:
            self.close()
            raise ValidationError("algorithm", algorithm, f"{self.algorithm}, the algorithm of {self.location}")

    # -- connection and errors ---------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._depth:
            # Reconnecting now would carry on outside the transaction that was lost.
            raise IndexStoreError("the connection was lost during this transaction, which was rolled back; "
                                  "run the command again", self.location)
        settings: dict[str, Any] = {}
        try:
            given = psycopg.conninfo.conninfo_to_dict(self._url)
        except psycopg.ProgrammingError as error:
            raise IndexStoreError(f"not a valid PostgreSQL URL ({_first_line(error)}); expected "
                                  "postgresql://user@host:port/database", self.location) from None
        if "connect_timeout" not in given:
            settings["connect_timeout"] = CONNECT_TIMEOUT
        if "application_name" not in given:
            settings["application_name"] = "vidprov"
        try:
            conn = psycopg.connect(self._url, autocommit=True, **settings)
            conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as error:
            raise IndexStoreError(f"cannot connect to PostgreSQL at {self.server}: {self._reason(error)}") from None
        self._conn = conn
        return conn

    def _reason(self, error: psycopg.Error) -> str:
        text = " ".join(str(error).split())
        try:
            password = psycopg.conninfo.conninfo_to_dict(self._url).get("password")
        except psycopg.Error:
            password = None
        if password:
            text = text.replace(str(password), "***")
        text = re.sub(r"(connection failed: )?connection to server (at|on) \S+( \([^)]*\))?, port \d+ failed: "
                      r"|FATAL: +", "", text)
        lowered = text.lower()
        if "role" in lowered and "does not exist" in lowered:
            return f"the server has no user {self.server.user or '(default)'}"
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            return f"the server refused user {self.server.user or '(default)'} or its password"
        if "does not exist" in lowered and "database" in lowered:
            return f"database {self.server.database} does not exist (create it first: createdb)"
        if "connection refused" in lowered:
            return "connection refused (is the server running and listening there?)"
        if "timeout" in lowered:
            return "no answer from the server (timed out)"
        if "could not translate host name" in lowered:
            return f"unknown host {self.server.host}"
        return text[:300]

    def _translate(self, error: psycopg.Error) -> IndexStoreError:
        conn = self._conn
        if isinstance(error, psycopg.OperationalError) and (conn is None or conn.broken or conn.closed):
            self._drop_connection()
            return IndexStoreError(f"lost the connection to PostgreSQL at {self.server} ({self._reason(error)}); "
                                   "the change in progress was rolled back: run the command again", self.location)
        if isinstance(error, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)):
            return _ConflictError("another client's change conflicted with this one and it was rolled back; "
                                  "run the command again", self.location)
        if isinstance(error, pg_errors.LockNotAvailable):
            return IndexStoreError("timed out waiting for other clients to finish; try again", self.location)
        if isinstance(error, pg_errors.InsufficientPrivilege):
            return IndexStoreError(f"permission denied ({_first_line(error)}); the user "
                                   f"{self.server.user or '(default)'} needs to own the index tables",
                                   self.location)
        return IndexStoreError(f"the server refused the request ({error.sqlstate}: {_first_line(error)})",
                               self.location)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as error:
            if _is_bug(error):
                raise
            raise self._translate(error) from None

    def _execute(self, query: str, params: Any = None, *, binary: bool = False) -> psycopg.Cursor[Any]:
        return self._connection().execute(query, params, binary=binary)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- schema --------------------------------------------------------------

    def _create(self, algorithm: str) -> None:
        def create() -> None:
            self._execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            found = self._execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
            if found and found[0]:
                return  # another client made it meanwhile
            for version in sorted(MIGRATIONS):
                self._apply(version)
            self._execute("INSERT INTO meta (key, value) VALUES ('algorithm', %s), ('created_at', %s), "
                          "('pending_flushed', '0') ON CONFLICT (key) DO NOTHING",
                          (algorithm, _now().isoformat(timespec="microseconds")))

        self._write(create)

    def _apply(self, version: int) -> None:
        for statement in MIGRATIONS[version]:
            self._execute(statement)
        self._execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(version),))

    def _meta(self, key: str) -> str | None:
        with self._errors():
            row = self._execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def schema_version(self) -> int:
        return int(self._meta("schema_version") or 0)

    def migrate(self) -> list[int]:
        """Apply missing schema versions, one transaction, under an advisory lock.

        Other clients may stay connected: new versions only add tables and
        indexes, every statement is idempotent, and a second client migrating
        at the same time waits and then finds nothing left to do.
        """
        def apply() -> list[int]:
            self._execute(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")
            self._execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            current = self.schema_version()
            done = []
            for version in sorted(MIGRATIONS):
                if version > current:
                    self._apply(version)
                    done.append(version)
            return done

        return self._write(apply)

    def _require(self, version: int, what: str) -> None:
        if self.schema_version() < version:
            raise SchemaVersionError(f"{what} needs index schema version {version} (this index is at "
                                     f"{self.schema_version()}): run vidprov index migrate", self.location)

    # -- transactions ----------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._errors():
            self._execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException as error:
            self._depth = 0
            self._maintenance.clear()
            if self._conn is not None and not self._conn.broken:
                with contextlib.suppress(psycopg.Error):
                    self._execute("ROLLBACK")
            if isinstance(error, psycopg.Error) and not _is_bug(error):
                raise self._translate(error) from None
            raise
        self._depth = 0
        try:
            self._execute("COMMIT")
        except psycopg.Error as error:
            self._maintenance.clear()
            raise self._translate(error) from None
        if self._maintenance:
            self._after_commit()

    def _write(self, body: Callable[[], T]) -> T:
        """Run ``body`` as one transaction (or inside the caller's), retrying conflicts."""
        if self._depth:
            with self._errors():
                return body()
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.transaction():
                    return body()
            except _ConflictError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (2 ** attempt))
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads that must see one committed state of the index."""
        if self._depth:
            yield
            return
        with self._errors():
            self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            with self._errors():
                yield
        finally:
            if self._conn is not None and not self._conn.broken:
                with self._errors():
                    self._execute("COMMIT")

    # -- clips and fingerprints ----------------------------------------------

    @staticmethod
    def _stored(row: Sequence[Any], created: bool = False) -> StoredClip:
        clip_id, sha256, record, added_at = row
        return StoredClip(int(clip_id), sha256, _clip_from(sha256, record), _utc(added_at), created)

    def add_clip(self, clip: Clip, fingerprint: Fingerprint | None = None,
                 metadata: dict[str, Any] | None = None) -> StoredClip:
        return self._add([(clip, fingerprint, metadata)], bulk=False)[0]

    def add_clips(self, items: list[tuple[Clip, Fingerprint | None, dict[str, Any] | None]]) -> list[StoredClip]:
        """Add many clips in one transaction, writing their postings straight out as one run."""
        return self._add(items, bulk=True)

    def _add(self, items: list[tuple[Clip, Fingerprint | None, dict[str, Any] | None]],
             bulk: bool) -> list[StoredClip]:
        for clip, fingerprint, _ in items:
            if fingerprint is not None:
                self._check_algorithm(fingerprint)
                if fingerprint.sha256 != clip.sha256:
                    raise ValidationError("fingerprint sha256", fingerprint.sha256, f"the clip's, {clip.sha256}")
        if not items:
            return []
        return self._write(lambda: self._add_rows(items, bulk))

    def _add_rows(self, items: list[tuple[Clip, Fingerprint | None, dict[str, Any] | None]],
                  bulk: bool) -> list[StoredClip]:
        # The first clip record for each sha256 is stored, with the first fingerprint and metadata given.
        clips: dict[str, Clip] = {}
        fingerprints: dict[str, Fingerprint] = {}
        metadata: dict[str, dict[str, Any]] = {}
        for clip, fingerprint, meta in items:
            clips.setdefault(clip.sha256, clip)
            if fingerprint is not None:
                fingerprints.setdefault(clip.sha256, fingerprint)
            if meta is not None:
                metadata.setdefault(clip.sha256, meta)
        rows = {row[1]: row for row in self._execute(
            f"SELECT {_CLIP_COLUMNS} FROM clips WHERE sha256 = ANY(%s::text[])", (list(clips),))}
        missing = [sha for sha in clips if sha not in rows]
        created: set[str] = set()
        if len(missing) == 1:  # its id comes with the insert
            inserted = self._execute(
                f"INSERT INTO clips (sha256, record, added_at) VALUES (%s, %s, %s) "
                f"ON CONFLICT (sha256) DO NOTHING RETURNING {_CLIP_COLUMNS}",
                (missing[0], _clip_json(clips[missing[0]]), _now())).fetchall()
        elif missing:
            # Ids in the order given, as SQLite numbers them.
            ids = sorted(r[0] for r in self._execute(
                "SELECT nextval('clip_ids') FROM generate_series(1, %s)", (len(missing),)))
            # Inserting in sha256 order means two writers lock shared clips in one order: no deadlock.
            inserted = self._execute(
                f"INSERT INTO clips (id, sha256, record, added_at) "
                f"SELECT * FROM unnest(%b::integer[], %b::text[], %b::text[], %b::timestamptz[]) "
                f"ORDER BY 2 ON CONFLICT (sha256) DO NOTHING RETURNING {_CLIP_COLUMNS}",
                (ids, missing, [_clip_json(clips[sha]) for sha in missing], [_now()] * len(missing))).fetchall()
        if missing:
            for row in inserted:
                rows[row[1]] = row
                created.add(row[1])
            lost = [sha for sha in missing if sha not in created]
            if lost:  # another client added them meanwhile
                rows.update((row[1], row) for row in self._execute(
                    f"SELECT {_CLIP_COLUMNS} FROM clips WHERE sha256 = ANY(%s::text[])", (lost,)))
        if fingerprints:
            self._store_fingerprints({int(rows[sha][0]): fp for sha, fp in fingerprints.items()}, bulk)
        if metadata:
            self._execute("INSERT INTO metadata (clip_id, record) SELECT * FROM unnest(%b::integer[], %b::text[]) "
                          "ORDER BY 1 ON CONFLICT (clip_id) DO NOTHING",
                          ([int(rows[sha][0]) for sha in metadata], [_json(m) for m in metadata.values()]))
        results = []
        reported: set[str] = set()
        for clip, _, _ in items:
            first = clip.sha256 in created and clip.sha256 not in reported
            reported.add(clip.sha256)
            results.append(self._stored(rows[clip.sha256], first))
        return results

    def _store_fingerprints(self, by_id: dict[int, Fingerprint], bulk: bool) -> None:
        needed = max((needed_version(fp) for fp in by_id.values()), default=0)
        if needed > self._version_seen:
            # Versions never go down: once seen, not asked again. Raised in this transaction, the
            # fingerprints and the version are stored together.
            self._version_seen = self.schema_version()
            for version in range(self._version_seen + 1, needed + 1):
                self._apply(version)
            self._version_seen = max(self._version_seen, needed)
        ids = sorted(by_id)
        columns = [list(column) for column in zip(*(_fingerprint_columns(by_id[clip_id]) for clip_id in ids))]
        insert = ("INSERT INTO fingerprints (clip_id, header, frames) "
                  "SELECT * FROM unnest(%b::integer[], %b::text[], %b::bytea[]) "
                  "ON CONFLICT (clip_id) DO NOTHING RETURNING clip_id")
        if bulk:
            stored = [int(row[0]) for row in self._execute(insert, (ids, *columns))]
            if stored:
                self._write_run(np.concatenate([K.fingerprint_postings(clip_id, by_id[clip_id])
                                                for clip_id in stored]))
            return
        # One statement: the fingerprints, and the postings of those that were new to the index.
        entries = np.concatenate([K.fingerprint_postings(clip_id, by_id[clip_id])
                                  for clip_id in ids])
        lists = (entries["chunk"].astype(np.int64) << K.CHUNK_BITS) | entries["value"]
        row = self._execute(
            f"WITH stored AS ({insert}), queued AS ("
            "INSERT INTO pending (list, clip_id, frame, key) SELECT p.* FROM "
            "unnest(%b::integer[], %b::integer[], %b::integer[], %b::bigint[]) AS p(list, clip_id, frame, key) "
            "WHERE p.clip_id IN (SELECT clip_id FROM stored) RETURNING 1) SELECT count(*) FROM queued",
            (ids, *columns, lists.tolist(), entries["clip"].tolist(), entries["frame"].tolist(),
             entries["key"].view(np.int64).tolist())).fetchone()
        if row and row[0]:
            self._unchecked_pending += int(row[0])
            self._maintenance.add("pending")

    # -- posting lists -----------------------------------------------------------

    def _write_run(self, entries: np.ndarray, tier: int = 0) -> None:
        """Write postings (a ``keys.CHUNKED`` array) as a new run: one row per list."""
        if not len(entries):
            return
        lists, groups, keys = encode_lists(entries)
        row = self._execute("SELECT nextval('posting_run_ids')").fetchone()
        assert row is not None
        run = int(row[0])
        self._execute("INSERT INTO posting_runs (run, tier, entries) VALUES (%s, %s, %s)", (run, tier, len(entries)))
        with self._connection().cursor() as cursor:
            with cursor.copy("COPY postings (list, run, groups, keys) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "int4", "bytea", "bytea"])
                for row in zip(lists, [run] * len(lists), groups, keys):
                    copy.write_row(row)
        self._maintenance.add("runs")

    def _after_commit(self) -> None:
        """Housekeeping a write made due, each in its own transaction, never holding a writer's locks."""
        due, self._maintenance = self._maintenance, set()
        try:
            # Looking at the pending table costs a round trip: only after a sixteenth of the limit.
            if "pending" in due and self._unchecked_pending >= PENDING_LIMIT // 16:
                self._unchecked_pending = 0
                if self._pending_estimate() > PENDING_LIMIT:
                    self._write(self._flush_pending)  # its commit merges the run it wrote, if due
            if "runs" in due:
                self._write(self._merge_tiers)
        except IndexStoreError:
            # The write itself is committed; what failed here (a conflict with another client's
            # housekeeping, a lost connection) is tried again after a later write.
            self._unchecked_pending = PENDING_LIMIT

    def _pending_estimate(self) -> int:
        with self._errors():
            row = self._execute("SELECT (SELECT last_value FROM pending_rows) - "
                                "(SELECT value::bigint FROM meta WHERE key = 'pending_flushed')").fetchone()
        return int(row[0] or 0) if row else 0

    def _flush_pending(self, force: bool = False) -> None:
        locked = self._execute("SELECT pg_try_advisory_xact_lock(%s)", (FLUSH_LOCK,)).fetchone()
        if not locked or not locked[0]:
            return  # another client is writing them out
        if not force and self._pending_estimate() <= PENDING_LIMIT:
            return
        self._execute("UPDATE meta SET value = (SELECT last_value FROM pending_rows)::text "
                      "WHERE key = 'pending_flushed'")
        rows = self._execute("DELETE FROM pending RETURNING list, clip_id, frame, key").fetchall()
        if rows:
            data = np.array(rows, dtype=np.int64)
            entries = np.empty(len(data), dtype=K.CHUNKED)
            entries["chunk"] = data[:, 0] >> K.CHUNK_BITS
            entries["value"] = data[:, 0] & 0xFFFF
            entries["clip"], entries["frame"] = data[:, 1], data[:, 2]
            entries["key"] = data[:, 3].view(np.uint64)
            self._write_run(entries)

    def _merge_tiers(self) -> None:
        """Merge :data:`FANOUT` runs of one tier into one run of the next, as often as needed."""
        locked = self._execute("SELECT pg_try_advisory_xact_lock(%s)", (MERGE_LOCK,)).fetchone()
        if not locked or not locked[0]:
            return
        while True:
            row = self._execute("SELECT tier, array_agg(run ORDER BY run) FROM posting_runs GROUP BY tier "
                                "HAVING count(*) >= %s ORDER BY tier LIMIT 1", (FANOUT,)).fetchone()
            if row is None:
                return
            self._merge_runs(list(row[1]), int(row[0]) + 1)

    def _merge_runs(self, runs: list[int], tier: int) -> None:
        """Concatenate each list's rows in ``runs`` into one row of a new run (server-side)."""
        row = self._execute("SELECT nextval('posting_run_ids')").fetchone()
        assert row is not None
        run = int(row[0])
        self._execute("INSERT INTO posting_runs (run, tier, entries) "
                      "SELECT %s, %s, coalesce(sum(entries), 0) FROM posting_runs WHERE run = ANY(%s::integer[])",
                      (run, tier, runs))
        self._execute("INSERT INTO postings (list, run, groups, keys) "
                      "SELECT list, %s, string_agg(groups, ''::bytea ORDER BY run), "
                      "string_agg(keys, ''::bytea ORDER BY run) FROM postings "
                      "WHERE run = ANY(%s::integer[]) GROUP BY list ORDER BY list", (run, runs))
        self._execute("DELETE FROM postings WHERE run = ANY(%s::integer[])", (runs,))
        self._execute("DELETE FROM posting_runs WHERE run = ANY(%s::integer[])", (runs,))

    def optimize(self) -> None:
        """Write out pending postings, merge each posting list into one row, reclaim space and analyze.

        The rewrite of the posting table at the end (``VACUUM FULL``) makes
        searches wait while it runs, a few seconds per 100,000 clips.
        """
        def merge_all() -> None:
            self._execute("SELECT pg_advisory_xact_lock(%s)", (MERGE_LOCK,))
            self._flush_pending(force=True)
            runs = [int(r[0]) for r in self._execute("SELECT run FROM posting_runs ORDER BY run")]
            if len(runs) > 1:
                top = self._execute("SELECT max(tier) FROM posting_runs").fetchone()
                self._merge_runs(runs, int(top[0] if top else 0) + 1)

        self._write(merge_all)
        if not self._depth:
            with self._errors():
                self._execute("VACUUM (FULL, ANALYZE) postings")
                for table in ("pending", "posting_runs", "clips", "fingerprints", "metadata", "appearances",
                              "claims", "assessments", "assessment_clips", "verdicts"):
                    self._execute(f"VACUUM (ANALYZE) {table}")

    def posting_lists(self, lists: Sequence[int]) -> K.PostingLists:
        wanted = sorted({int(list_id) for list_id in lists})
        if not wanted:
            return K.PostingLists.empty()
        with self._errors():
            rows = self._execute(POSTINGS_QUERY, {"lists": wanted}, binary=True).fetchall()
        return read_lists([row[:3] for row in rows if row[1] is not None],
                          [row[:1] + row[3:] for row in rows if row[1] is None], self.location)

    # -- reading clips ---------------------------------------------------------

    def count_clips(self) -> int:
        with self._errors():
            row = self._execute("SELECT count(*) FROM clips").fetchone()
        return int(row[0]) if row else 0

    def _one_clip(self, where: str, value: Any) -> StoredClip | None:
        with self._errors():
            row = self._execute(f"SELECT {_CLIP_COLUMNS} FROM clips WHERE {where} = %s", (value,)).fetchone()
        return self._stored(row) if row else None

    def clip_by_id(self, clip_id: int) -> StoredClip | None:
        if not -2**31 <= int(clip_id) < 2**31:
            return None
        return self._one_clip("id", int(clip_id))

    def clip_by_sha256(self, sha256: str) -> StoredClip | None:
        return self._one_clip("sha256", sha256)

    def clips_by_prefix(self, prefix: str, limit: int = 2) -> list[StoredClip]:
        prefix = prefix.lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        with self._errors():
            rows = self._execute(f"SELECT {_CLIP_COLUMNS} FROM clips WHERE sha256 >= %s AND sha256 < %s "
                                 "ORDER BY sha256 LIMIT %s", (prefix, prefix + "g", limit)).fetchall()
        return [self._stored(row) for row in rows]

    def list_clips(self, where: ClipFilter | None = None) -> list[StoredClip]:
        where = where or ClipFilter()
        conditions: list[str] = []
        params: list[Any] = []
        if where.publisher is not None:
            conditions.append("a.publisher = %s")
            params.append(where.publisher)
        if where.platform is not None:
            conditions.append("a.platform = %s")
            params.append(where.platform)
        if where.posted_after is not None:
            conditions.append("a.posted_at >= %s")
            params.append(_utc(where.posted_after))
        if where.posted_before is not None:
            conditions.append("a.posted_at <= %s")
            params.append(_utc(where.posted_before))
        if conditions:
            query = (f"SELECT c.id, c.sha256, c.record, c.added_at FROM clips c WHERE EXISTS (SELECT 1 FROM "
                     f"appearances a WHERE a.clip_sha256 = c.sha256 AND {' AND '.join(conditions)}) ORDER BY c.id")
        else:
            query = f"SELECT {_CLIP_COLUMNS} FROM clips ORDER BY id"
        with self._errors():
            return [self._stored(row) for row in self._execute(query, params)]

    def _fingerprint_rows(self, clip_ids: list[int]) -> list[tuple[Any, ...]]:
        """(clip id, sha256, header, packed frames) of the stored fingerprints of these clips."""
        ids = sorted({int(c) for c in clip_ids if -2**31 <= int(c) < 2**31})
        if not ids:
            return []
        with self._errors():
            return self._execute("SELECT f.clip_id, c.sha256, f.header, f.frames FROM fingerprints f "
                                 "JOIN clips c ON c.id = f.clip_id WHERE f.clip_id = ANY(%s::integer[])",
                                 (ids,), binary=True).fetchall()

    def fingerprints(self, clip_ids: list[int]) -> dict[int, Fingerprint]:
        return {int(row[0]): _fingerprint_from_columns(row[1], row[2], row[3], self.location)
                for row in self._fingerprint_rows(clip_ids)}

    def frame_arrays(self, clip_ids: list[int]) -> dict[int, FrameArrays]:
        return {int(row[0]): packed_arrays(row[1], json.loads(row[2]), row[3], self.location)
                for row in self._fingerprint_rows(clip_ids)}

    def metadata(self, clip_id: int) -> dict[str, Any] | None:
        if not -2**31 <= int(clip_id) < 2**31:
            return None
        with self._errors():
            row = self._execute("SELECT record FROM metadata WHERE clip_id = %s", (int(clip_id),)).fetchone()
        return json.loads(row[0]) if row else None

    # -- records ------------------------------------------------------------------

    def add_appearance(self, appearance: Appearance) -> str:
        posted = _utc(appearance.posted_at.value) if appearance.posted_at else None
        platform = getattr(appearance.platform, "value", appearance.platform)
        self._write(lambda: self._execute(
            "INSERT INTO appearances (id, clip_sha256, publisher, platform, posted_at, record) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (appearance.id, appearance.clip_sha256, appearance.publisher, platform, posted,
             _json(appearance.to_dict()))))
        return appearance.id

    def add_claim(self, claim: Claim) -> str:
        self._write(lambda: self._execute(
            "INSERT INTO claims (id, clip_sha256, appearance_id, record) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING", (claim.id, claim.clip_sha256, claim.appearance_id,
                                            _json(claim.to_dict()))))
        return claim.id

    def add_assessment(self, assessment: Assessment) -> str:
        def write() -> None:
            inserted = self._execute("INSERT INTO assessments (id, made_at, record) VALUES (%s, %s, %s) "
                                     "ON CONFLICT (id) DO NOTHING RETURNING id",
                                     (assessment.id, _utc(assessment.made_at),
                                      _json(assessment.to_dict()))).fetchone()
            if inserted:
                self._execute("INSERT INTO assessment_clips (assessment_id, clip_sha256) "
                              "SELECT %s, sha FROM unnest(%s::text[]) AS sha ON CONFLICT DO NOTHING",
                              (assessment.id, list(assessment.clip_sha256s)))

        self._write(write)
        return assessment.id

    def add_verdict(self, verdict: Verdict) -> str:
        self._write(lambda: self._execute(
            "INSERT INTO verdicts (id, clip_sha256, decided_at, record) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING",
            (verdict.id, verdict.clip_sha256, _utc(verdict.decided_at), _json(verdict.to_dict()))))
        return verdict.id

    def records(self, sha256s: list[str] | None = None) -> RecordBundle:
        def texts(query: str, *params: Any) -> list[str]:
            return [row[0] for row in self._execute(query, params or None)]

        with self._snapshot():
            if sha256s is None:
                clips = self._execute("SELECT sha256, record FROM clips ORDER BY id").fetchall()
                appearances = texts("SELECT record FROM appearances ORDER BY seq")
                claims = texts("SELECT record FROM claims ORDER BY seq")
                assessments = texts("SELECT record FROM assessments ORDER BY seq")
                verdicts = texts("SELECT record FROM verdicts ORDER BY decided_at, seq")
            else:
                wanted = list(dict.fromkeys(sha256s))
                clips = self._execute("SELECT sha256, record FROM clips WHERE sha256 = ANY(%s::text[]) ORDER BY id",
                                      (wanted,)).fetchall()
                rows = self._execute("SELECT id, record FROM appearances WHERE clip_sha256 = ANY(%s::text[]) "
                                     "ORDER BY seq", (wanted,)).fetchall()
                appearances = [row[1] for row in rows]
                claims = texts("SELECT record FROM claims WHERE clip_sha256 = ANY(%s::text[]) "
                               "OR appearance_id = ANY(%s::text[]) ORDER BY seq", wanted, [row[0] for row in rows])
                assessments = texts("SELECT a.record FROM assessments a WHERE EXISTS (SELECT 1 FROM "
                                    "assessment_clips c WHERE c.assessment_id = a.id AND "
                                    "c.clip_sha256 = ANY(%s::text[])) ORDER BY a.seq", wanted)
                verdicts = texts("SELECT record FROM verdicts WHERE clip_sha256 = ANY(%s::text[]) "
                                 "ORDER BY decided_at, seq", wanted)
        return RecordBundle(
            clips=tuple(_clip_from(sha256, record) for sha256, record in clips),
            appearances=tuple(Appearance.from_dict(json.loads(r)) for r in appearances),
            claims=tuple(Claim.from_dict(json.loads(r)) for r in claims),
            assessments=tuple(Assessment.from_dict(json.loads(r)) for r in assessments),
            verdicts=tuple(Verdict.from_dict(json.loads(r)) for r in verdicts),
        )

    # -- imported hashes ------------------------------------------------------------

    def log_import(self, entry: HashImport, origins: Sequence[tuple[str, str]]) -> bool:
        self._require(2, "importing hashes")

        def write() -> bool:
            logged = self._execute(
                "INSERT INTO hash_imports (bundle_sha256, desk, format, imported_at, counts) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (bundle_sha256) DO NOTHING RETURNING 1",
                (entry.bundle_sha256, entry.desk, entry.format, _utc(entry.imported_at),
                 _json(entry.counts))).fetchone()
            if not logged:
                return False
            if origins:
                kinds, refs = zip(*sorted(set(origins)))
                self._execute("INSERT INTO record_origins (kind, ref, bundle_sha256) "
                              "SELECT kind, ref, %s FROM unnest(%s::text[], %s::text[]) AS t(kind, ref) "
                              "ON CONFLICT DO NOTHING", (entry.bundle_sha256, list(kinds), list(refs)))
            return True

        return self._write(write)

    def hash_imports(self) -> list[HashImport]:
        if self.schema_version() < 2:
            return []
        with self._errors():
            rows = self._execute("SELECT bundle_sha256, desk, format, imported_at, counts FROM hash_imports "
                                 "ORDER BY seq").fetchall()
        return [HashImport(row[0], row[1], row[2], _utc(row[3]), json.loads(row[4])) for row in rows]

    def record_origins(self) -> dict[tuple[str, str], str]:
        if self.schema_version() < 2:
            return {}
        with self._errors():
            rows = self._execute("SELECT kind, ref, bundle_sha256 FROM record_origins ORDER BY kind, ref").fetchall()
        return {(row[0], row[1]): row[2] for row in rows}

    # -- administration -------------------------------------------------------------

    @property
    def backend_pid(self) -> int:
        """The server process serving this connection (for ``pg_terminate_backend``)."""
        return int(self._connection().info.backend_pid)

    def disk_size(self) -> int:
        """Bytes the database takes on the server's disk (tables, TOAST and indexes; WAL left out)."""
        with self._errors():
            row = self._execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def drop_everything(self) -> None:
        """Drop every vidprov table and sequence in this database; the index object is unusable after."""
        def drop() -> None:
            self._execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            for table in TABLES:
                self._execute(f"DROP TABLE IF EXISTS {table} CASCADE")
            for sequence in SEQUENCES:
                self._execute(f"DROP SEQUENCE IF EXISTS {sequence} CASCADE")

        self._write(drop)


def _is_bug(error: psycopg.Error) -> bool:
    """A mistake in vidprov's own use of psycopg, which should surface as it is."""
    return isinstance(error, (psycopg.ProgrammingError, psycopg.InterfaceError)) and error.sqlstate is None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _clip_json(clip: Clip) -> str:
    """A clip record as stored: its JSON form without the sha256, which has a column of its own."""
    data = clip.to_dict()
    del data["sha256"]
    return _json(data)


def _clip_from(sha256: str, record: str) -> Clip:
    return Clip.from_dict({**json.loads(record), "sha256": sha256})


def _fingerprint_columns(fingerprint: Fingerprint) -> tuple[str, bytes]:
    """A fingerprint as stored: its JSON header (without frames and sha256), and its frames packed."""
    fingerprint = fingerprint.for_index()
    header = fingerprint.to_dict()
    del header["frames"], header["sha256"]
    return _json(header), pack_frames(fingerprint)


def _fingerprint_from_columns(sha256: str, header: str, frames: bytes, location: str = "") -> Fingerprint:
    fields = json.loads(header)
    records = unpack_frames(frames, ALGORITHMS[fields["algorithm"]].bits, fields, location)
    fields.update(sha256=sha256, frames=[])
    return replace(Fingerprint.from_dict(fields), frames=records)
