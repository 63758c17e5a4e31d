"""Appearances from the ``.info.json`` file yt-dlp writes with ``--write-info-json``.

Only documented output fields are read (``id``, ``title``, ``description``,
``uploader``, ``uploader_id``, ``channel``, ``channel_id``, ``timestamp``,
``upload_date``, ``webpage_url``, ``original_url``, ``webpage_url_domain``,
``extractor``, ``extractor_key``); the rest of the file is ignored.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import FileAccessError, FormatError, ValidationError, VidprovError
from ._fields import check_text, check_url
from ._serial import attach_path
from .dates import Precision, Timestamp
from .model import Appearance, Platform

# Checked in order against extractor_key and extractor; yt-dlp names its
# extractors after the site ("Twitter", "TwitterBroadcast", "telegram:embed").
_EXTRACTOR_PREFIXES = (
    ("twitter", Platform.X),
    ("youtube", Platform.YOUTUBE),
    ("telegram", Platform.TELEGRAM),
    ("tiktok", Platform.TIKTOK),
    ("facebook", Platform.FACEBOOK),
    ("instagram", Platform.INSTAGRAM),
    ("generic", Platform.WEB),  # yt-dlp's fallback for an ordinary web page
)

_DOMAINS = {
    "x.com": Platform.X, "twitter.com": Platform.X,
    "youtube.com": Platform.YOUTUBE, "youtu.be": Platform.YOUTUBE,
    "t.me": Platform.TELEGRAM, "telegram.me": Platform.TELEGRAM, "telegram.org": Platform.TELEGRAM,
    "tiktok.com": Platform.TIKTOK,
    "facebook.com": Platform.FACEBOOK, "fb.watch": Platform.FACEBOOK,
    "instagram.com": Platform.INSTAGRAM,
}

_UPLOAD_DATE = re.compile(r"[0-9]{8}", re.ASCII)


def appearance_from_info_json(source: str | os.PathLike[str] | Mapping[str, Any], *,
                              appearance_id: str | None = None,
                              clip_sha256: str | None = None) -> Appearance:
    """Build an :class:`Appearance` from a yt-dlp ``.info.json`` file or its parsed dict.

    The upload time keeps its precision: ``timestamp`` (seconds since 1970)
    gives second precision in UTC; failing that, ``upload_date`` (YYYYMMDD,
    UTC) gives day precision. Errors name the file.
    """
    path: str | None = None
    if isinstance(source, Mapping):
        info: Any = source
    else:
        path = os.fspath(source)
        info = _load(path)
    try:
        return _appearance(info, appearance_id, clip_sha256)
    except VidprovError as error:
        attach_path(error, path)
        raise


def platform_from_info(info: Mapping[str, Any]) -> Platform:
    """Which platform an info dict comes from; OTHER for sites vidprov has no name for."""
    for key in ("extractor_key", "extractor"):
        name = info.get(key)
        if isinstance(name, str) and name:
            for prefix, platform in _EXTRACTOR_PREFIXES:
                if name.lower().startswith(prefix):
                    return platform
            return Platform.OTHER
    domain = info.get("webpage_url_domain")
    if not isinstance(domain, str) or not domain:
        domain = _hostname(info.get("webpage_url") or info.get("original_url"))
    domain = domain.lower().rstrip(".")
    for known, platform in _DOMAINS.items():
        if domain == known or domain.endswith("." + known):
            return platform
    return Platform.OTHER


def _hostname(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # a malformed URL names no host; the URL check reports it
        return ""


def _load(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise FileAccessError(f"cannot read the yt-dlp info file ({error.strerror or error})", path) from error
    try:
        return json.loads(raw)
    except (ValueError, TypeError) as error:
        raise FormatError(f"not a yt-dlp .info.json: not valid JSON ({error})", path) from error


def _appearance(info: Any, appearance_id: str | None, clip_sha256: str | None) -> Appearance:
    if not isinstance(info, Mapping):
        raise FormatError(f"not a yt-dlp .info.json: expected a JSON object, got {type(info).__name__}")
    kind = info.get("_type", "video")
    if kind in ("playlist", "multi_video"):
        raise FormatError(f"this .info.json describes a {kind}, not one video; "
                          "pass the .info.json of one of its entries")
    fields: dict[str, Any] = dict(
        platform=platform_from_info(info),
        url=_url(info, "webpage_url") or _url(info, "original_url"),
        publisher=_text(info, "uploader") or _text(info, "channel"),
        handle=_text(info, "uploader_id") or _text(info, "channel_id"),
        post_id=_text(info, "id"),
        posted_at=_posted_at(info),
        title=_text(info, "title", verbatim=True),
        description=_text(info, "description", verbatim=True),
        clip_sha256=clip_sha256,
    )
    if appearance_id is not None:
        fields["id"] = appearance_id
    return Appearance(**fields)


def _text(info: Mapping[str, Any], key: str, *, verbatim: bool = False) -> str | None:
    value = info.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{key}: expected a string, got {type(value).__name__} {value!r:.40}")
    check_text(key, value)  # so that a refusal names the yt-dlp field, not the appearance's
    if verbatim:
        return value
    # An empty uploader or id means yt-dlp did not find one.
    return value.strip() or None


def _url(info: Mapping[str, Any], key: str) -> str | None:
    return check_url(key, _text(info, key))


def _posted_at(info: Mapping[str, Any]) -> Timestamp | None:
    timestamp = info.get("timestamp")
    if timestamp is not None:
        if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
            raise FormatError(f"timestamp: expected seconds since 1970 (a number), got "
                              f"{type(timestamp).__name__} {timestamp!r:.40}")
        return Timestamp.from_epoch(timestamp, field="timestamp")
    upload_date = info.get("upload_date")
    if upload_date is None:
        return None
    if not isinstance(upload_date, str):
        raise FormatError(f"upload_date: expected a string YYYYMMDD, got {type(upload_date).__name__} "
                          f"{upload_date!r:.40}")
    if not _UPLOAD_DATE.fullmatch(upload_date):
        raise ValidationError("upload_date", upload_date, "a date written YYYYMMDD")
    try:
        # yt-dlp documents upload_date as a UTC date.
        day = datetime(int(upload_date[:4]), int(upload_date[4:6]), int(upload_date[6:]), tzinfo=timezone.utc)
    except ValueError:
        raise ValidationError("upload_date", upload_date, "a real calendar date written YYYYMMDD") from None
    return Timestamp(value=day, precision=Precision.DAY)


__all__ = ["appearance_from_info_json", "platform_from_info"]
