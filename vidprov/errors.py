"""The exception hierarchy.

Every error the library raises on purpose derives from :class:`VidprovError`.
Only the command-line interface turns these into exit codes and one-line
messages; library callers catch them like any other exception.
"""

from __future__ import annotations

import os
from typing import Any


class VidprovError(Exception):
    """Root of every error vidprov raises on purpose.

    ``path`` names the file the error is about, when there is one; ``str()``
    then reads ``"<path>: <message>"`` so that one line says everything.
    """

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        super().__init__(message)

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path}: {self.message}"


class MediaError(VidprovError):
    """A file could not be read as video."""


class FileAccessError(MediaError):
    """The path is missing, is a directory, or cannot be opened."""


class EmptyFileError(MediaError):
    """The file has zero bytes."""


class NotMediaError(MediaError):
    """The bytes are not a container FFmpeg recognises."""


class NoVideoStreamError(MediaError):
    """The container holds no video stream (audio only, say)."""


class DecodeError(MediaError):
    """The container opened but no frame could be decoded."""


class ValidationError(VidprovError, ValueError):
    """A value given to a constructor or parser is not allowed.

    The message names the field, the value and what is allowed.
    """

    def __init__(self, field: str, value: Any, allowed: str, path: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {shown} is not allowed; expected {allowed}", path)


class FormatError(VidprovError, ValueError):
    """Serialized data (JSON, vPDQ text, ...) is malformed."""


class VidprovWarning(UserWarning):
    """Something was wrong with the input but work could go on.

    For example a clip truncated mid-stream: what decodes is hashed and this
    warning says how much was lost.
    """


class IndexStoreError(VidprovError):
    """The index (SQLite file or PostgreSQL database) cannot be used as asked."""


class IndexNotFoundError(IndexStoreError):
    """There is no index at the location given."""


class CorruptIndexError(IndexStoreError):
    """The location holds something that is not a readable vidprov index."""


class SchemaVersionError(IndexStoreError):
    """The index was made by a newer vidprov, or needs ``vidprov index migrate``."""


class BackendUnavailableError(IndexStoreError):
    """The backend named by the location needs an optional package that is missing."""


class NotFoundError(VidprovError, LookupError):
    """A clip or record reference matches nothing."""


class AmbiguousReferenceError(VidprovError, LookupError):
    """A clip reference (an sha256 prefix, say) matches more than one clip."""
