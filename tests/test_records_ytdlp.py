"""Appearances from yt-dlp's ``.info.json``.

The fixtures in ``tests/fixtures/ytdlp/`` are hand-built, not downloaded:
each holds the fields yt-dlp documents in its README ("OUTPUT TEMPLATE")
with the value types its extractors give, for invented posts:

- ``x_status.info.json``: the Twitter extractor (``extractor_key`` Twitter),
  a float ``timestamp`` and a caption with HTML and quotes;
- ``youtube_watch.info.json``: the Youtube extractor with ``upload_date``
  only (no ``timestamp``), as older downloads have;
- ``telegram_post.info.json``: the ``telegram:embed`` extractor, which gives
  ``channel``/``channel_id`` and no ``uploader``; Cyrillic text.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidprov.errors import FileAccessError, FormatError, ValidationError, VidprovError
from vidprov.records import Appearance, Platform, Precision, Timestamp, appearance_from_info_json
from vidprov.records.ytdlp import platform_from_info

FIXTURES = Path(__file__).parent / "fixtures" / "ytdlp"
UTC = timezone.utc


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_x_post() -> None:
    appearance = appearance_from_info_json(FIXTURES / "x_status.info.json")
    assert appearance.platform is Platform.X
    assert appearance.publisher == "Example Reporter"
    assert appearance.handle == "example_reporter"
    assert appearance.url == "https://x.com/example_reporter/status/1846123456789012345"
    assert appearance.post_id == "1846123456789012345"
    assert appearance.posted_at == Timestamp(value=datetime(2024, 10, 15, 17, 12, 25, tzinfo=UTC),
                                             precision=Precision.SECOND)
    assert appearance.description == load("x_status.info.json")["description"]
    assert "<script>alert(1)</script>" in (appearance.title or "")


def test_youtube_video_with_only_an_upload_date_is_day_precision() -> None:
    appearance = appearance_from_info_json(str(FIXTURES / "youtube_watch.info.json"))
    assert appearance.platform is Platform.YOUTUBE
    assert (appearance.publisher, appearance.handle) == ("Example News", "@examplenews")
    assert appearance.url == "https://www.youtube.com/watch?v=Ab3dEfGhIjK"
    assert appearance.posted_at == Timestamp(value=datetime(2024, 10, 16, tzinfo=UTC), precision=Precision.DAY)
    assert appearance.posted_at is not None and appearance.posted_at.edtf == "2024-10-16"
    assert appearance.description == "Our correspondent reports from the city centre.\n\nFilmed on 16 October."


def test_telegram_post_uses_the_channel() -> None:
    appearance = appearance_from_info_json(FIXTURES / "telegram_post.info.json")
    assert appearance.platform is Platform.TELEGRAM
    assert (appearance.publisher, appearance.handle) == ("Пример канала ✔", "example_channel")
    assert appearance.url == "https://t.me/example_channel/613"
    assert appearance.posted_at is not None and appearance.posted_at.edtf == "2024-10-15T14:06:43Z"
    assert appearance.description == "Видео снято сегодня утром в Уссурийске.\n«Цитата» и 'кавычки'"


@pytest.mark.parametrize("name", ["x_status.info.json", "youtube_watch.info.json", "telegram_post.info.json"])
def test_imported_appearances_round_trip(name: str) -> None:
    appearance = appearance_from_info_json(load(name), appearance_id="app-1", clip_sha256="f" * 64)
    assert appearance.id == "app-1" and appearance.clip_sha256 == "f" * 64
    assert Appearance.from_dict(json.loads(json.dumps(appearance.to_dict()))) == appearance


@pytest.mark.parametrize(("info", "platform"), [
    ({"extractor_key": "Twitter"}, Platform.X),
    ({"extractor_key": "TwitterBroadcast"}, Platform.X),
    ({"extractor_key": "Youtube"}, Platform.YOUTUBE),
    ({"extractor_key": "TelegramEmbed"}, Platform.TELEGRAM),
    ({"extractor_key": "TikTok"}, Platform.TIKTOK),
    ({"extractor_key": "Facebook"}, Platform.FACEBOOK),
    ({"extractor_key": "Instagram"}, Platform.INSTAGRAM),
    ({"extractor_key": "Generic"}, Platform.WEB),
    ({"extractor_key": "Vimeo"}, Platform.OTHER),
    ({"extractor": "tiktok"}, Platform.TIKTOK),
    ({"webpage_url_domain": "m.facebook.com"}, Platform.FACEBOOK),
    ({"webpage_url_domain": "twitter.com"}, Platform.X),
    ({"webpage_url": "https://www.instagram.com/reel/abc/"}, Platform.INSTAGRAM),
    ({"webpage_url": "https://youtu.be/abc"}, Platform.YOUTUBE),
    ({"webpage_url": "https://notx.com/abc"}, Platform.OTHER),
    ({}, Platform.OTHER),
])
def test_platform_mapping(info: dict[str, Any], platform: Platform) -> None:
    assert platform_from_info(info) is platform


def test_timestamp_wins_over_upload_date_and_original_url_is_the_fallback() -> None:
    appearance = appearance_from_info_json({"extractor_key": "Generic", "timestamp": 0, "upload_date": "20241016",
                                            "original_url": "https://example.org/clip"})
    assert appearance.posted_at is not None and appearance.posted_at.edtf == "1970-01-01T00:00:00Z"
    assert appearance.url == "https://example.org/clip"
    assert appearance.platform is Platform.WEB


def test_missing_fields_stay_unknown() -> None:
    appearance = appearance_from_info_json({"extractor_key": "Youtube", "uploader": "", "uploader_id": " "})
    assert (appearance.publisher, appearance.handle, appearance.url, appearance.posted_at) == (None, None, None, None)


# ------------------------------------------------------------------ errors


def test_not_json_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.info.json"
    path.write_text('{"id": "1", "title": ', encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        appearance_from_info_json(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: not a yt-dlp .info.json: not valid JSON")


def test_not_utf8_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "latin1.info.json"
    path.write_bytes(b'{"title": "caf\xe9"}')
    with pytest.raises(FormatError) as caught:
        appearance_from_info_json(path)
    assert caught.value.path == str(path)


def test_not_an_object_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "list.info.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(FormatError, match="expected a JSON object, got list") as caught:
        appearance_from_info_json(path)
    assert caught.value.path == str(path)


@pytest.mark.parametrize(("field", "value", "error"), [
    ("timestamp", "1729012345", FormatError),
    ("timestamp", True, FormatError),
    ("upload_date", 20241016, FormatError),
    ("upload_date", "2024-10-16", ValidationError),
    ("upload_date", "20241332", ValidationError),
    ("title", ["a"], FormatError),
    ("uploader", {"name": "x"}, FormatError),
    ("webpage_url", "not a url", ValidationError),
    ("description", "nul \x00 inside", ValidationError),
])
def test_wrong_types_name_the_path_and_the_field(tmp_path: Path, field: str, value: Any,
                                                 error: type[VidprovError]) -> None:
    info = load("x_status.info.json")
    info[field] = value
    if field == "upload_date":
        del info["timestamp"]
    path = tmp_path / "bad.info.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(error) as caught:
        appearance_from_info_json(path)
    assert caught.value.path == str(path)
    assert field in str(caught.value)


def test_a_playlist_is_not_one_appearance() -> None:
    with pytest.raises(FormatError, match="playlist, not one video"):
        appearance_from_info_json({"_type": "playlist", "entries": []})


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError) as caught:
        appearance_from_info_json(tmp_path / "absent.info.json")
    assert caught.value.path == str(tmp_path / "absent.info.json")


DOCUMENTED = ["id", "title", "description", "uploader", "uploader_id", "channel", "channel_id", "timestamp",
              "upload_date", "webpage_url", "original_url", "webpage_url_domain", "extractor", "extractor_key",
              "_type"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["https://x.com/a/status/1", "20241016", "Twitter", "telegram:embed", "t.me"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(info=st.dictionaries(st.sampled_from(DOCUMENTED), json_values, max_size=8) | json_values)
def test_any_info_dict_gives_an_appearance_or_a_vidprov_error(info: Any) -> None:
    try:
        appearance = appearance_from_info_json(info) if isinstance(info, dict) else None
    except VidprovError:
        return
    if appearance is not None:
        assert Appearance.from_dict(json.loads(json.dumps(appearance.to_dict()))) == appearance
