"""Reading one file: checks, one pass for the hash, then the right reader."""

from __future__ import annotations

import hashlib
import os
import stat
from typing import BinaryIO

from ..errors import EmptyFileError, FileAccessError
from . import still, video
from .collect import Collector
from .credentials import read_credentials
from .hints import derive_hints
from .model import MediaMetadata, RawTags

_CHUNK = 1024 * 1024
_HEAD = 64


def _open(path: str) -> BinaryIO:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileAccessError("no such file", path) from None
    except OSError as error:
        raise FileAccessError(f"cannot access file ({error.strerror or error})", path) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError("is a directory, not a file", path)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end.
        raise FileAccessError("is not a regular file", path)
    try:
        return open(path, "rb")
    except PermissionError:
        raise FileAccessError("permission denied", path) from None
    except OSError as error:
        raise FileAccessError(f"cannot open file ({error.strerror or error})", path) from None


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def read_metadata(path: str | os.PathLike[str]) -> MediaMetadata:
    """What the file at ``path`` says about itself.

    The file is opened once. Its bytes are read once for the SHA-256 and the
    parsers then read only the headers they need; no frame is decoded.
    Raises :class:`~vidprov.errors.FileAccessError`,
    :class:`~vidprov.errors.EmptyFileError` or
    :class:`~vidprov.errors.NotMediaError` for files it cannot describe.
    Damaged or odd tag values never raise: they are kept raw and listed in
    ``problems``.
    """
    name = os.fspath(path)
    with _open(name) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise EmptyFileError("file is empty (0 bytes)", name)
        head = handle.read(_HEAD)
        handle.seek(0)
        digest = _sha256(handle)
        handle.seek(0)
        collector = Collector()
        kind = still.sniff(head)
        if kind is not None:
            format_info, streams, groups, facts = still.read_still(handle, name, size, digest, kind, collector)
            container, reader, media_kind = kind, still.reader_version(), "still"
        else:
            format_info, streams, groups, container, facts = video.read_video(
                handle, name, size, digest, head, collector)
            reader, media_kind = video.reader_version(), "video"
        if facts is not None:
            reader += " / vidprov bmff"
        credentials = read_credentials(handle, container, facts is not None and facts.has_c2pa_box)
    collector.check_times()
    hints = derive_hints((group, key, value) for group, tags in groups for key, value in tags)
    return MediaMetadata(
        path=name,
        kind=media_kind,
        format=format_info,
        raw=RawTags(reader, groups),
        streams=streams,
        times=tuple(collector.times),
        locations=tuple(collector.locations),
        device=collector.build_device(),
        hints=hints,
        credentials=credentials,
        problems=tuple(collector.problems),
    )
