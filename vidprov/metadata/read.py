"""Reading one file: checks, one pass for the hash, then the right reader."""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

from ..errors import NotMediaError
from ..media import MAX_PIXELS, open_file, truncated_error, truncation
from . import still, video
from .collect import Collector
from .credentials import read_credentials
from .hints import derive_hints
from .model import MediaMetadata, RawTags, StreamInfo

_CHUNK = 1024 * 1024
_HEAD = 64


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _check_sizes(streams: tuple[StreamInfo, ...], collector: Collector) -> None:
    for stream in streams:
        if stream.width and stream.height and stream.width.value * stream.height.value > MAX_PIXELS:
            collector.problem("implausible_size", f"stream {stream.index}",
                              f"claims {stream.width.value}x{stream.height.value} pixels, more than the "
                              f"{MAX_PIXELS // 1_000_000} megapixels vidprov decodes; the header is probably damaged",
                              f"{stream.width.value}x{stream.height.value}")


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
    with open_file(name) as handle:
        size = os.fstat(handle.fileno()).st_size
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
            cut = truncation(handle, size)
            handle.seek(0)
            try:
                format_info, streams, groups, container, facts = video.read_video(
                    handle, name, size, digest, head, collector)
            except NotMediaError:
                if cut:
                    raise truncated_error(name, cut) from None
                raise
            if cut and not streams:
                raise truncated_error(name, cut)
            if cut:
                collector.problem("truncated", "file", f"the file is truncated ({cut})")
            _check_sizes(streams, collector)
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
