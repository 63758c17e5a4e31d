"""The index: where fingerprints and provenance records are kept and searched.

:func:`open_index` picks the backend from the location: a
``postgresql://user@host:port/db`` URL opens the team's PostgreSQL index (extra
``vidprov[postgres]``), anything else is the path of an SQLite file. With no
location given, ``$VIDPROV_INDEX`` is used, and failing that ``./vidprov.db``.
"""

from __future__ import annotations

import os

from ..errors import BackendUnavailableError
from .base import SCHEMA_VERSION, ClipFilter, Index, StoredClip

#: The index used when neither ``--index`` nor ``$VIDPROV_INDEX`` says otherwise.
DEFAULT_LOCATION = "vidprov.db"
ENVIRONMENT_VARIABLE = "VIDPROV_INDEX"


def resolve_location(location: str | os.PathLike[str] | None = None) -> str:
    """The location to use: the one given, else ``$VIDPROV_INDEX``, else ``./vidprov.db``."""
    if location:
        return os.fspath(location)
    return os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_LOCATION


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_index(location: str | os.PathLike[str] | None = None, *, create: bool = False,
               algorithm: str | None = None) -> Index:
    """Open the index at ``location``; with ``create``, make it if there is none yet."""
    where = resolve_location(location)
    if is_postgres(where):
        try:
            from .postgres import PostgresIndex
        except ImportError as error:
            raise BackendUnavailableError(
                f"a PostgreSQL index needs the postgres extra: pip install 'vidprov[postgres]' ({error})") from None
        return PostgresIndex(where, create=create, algorithm=algorithm)
    from .sqlite import SQLiteIndex

    return SQLiteIndex(where, create=create, algorithm=algorithm)


__all__ = ["ClipFilter", "DEFAULT_LOCATION", "Index", "SCHEMA_VERSION", "StoredClip", "open_index",
           "resolve_location"]
