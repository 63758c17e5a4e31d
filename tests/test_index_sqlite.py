"""The SQLite index file: where it is, and what happens when it is missing, foreign or too new."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidprov.cli import main
from vidprov.errors import CorruptIndexError, IndexNotFoundError, SchemaVersionError
from vidprov.index import DEFAULT_LOCATION, open_index, resolve_location
from vidprov.index.base import SCHEMA_VERSION


def test_location_comes_from_argument_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDPROV_INDEX", raising=False)
    assert resolve_location(None) == DEFAULT_LOCATION == "vidprov.db"
    monkeypatch.setenv("VIDPROV_INDEX", "/data/desk.db")
    assert resolve_location(None) == "/data/desk.db"
    assert resolve_location("other.db") == "other.db"


def test_missing_index_is_not_created_by_readers(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(IndexNotFoundError, match="no index here yet"):
        open_index(path)
    assert not path.exists()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"\x00" * 4096])
def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(content)
    with pytest.raises(CorruptIndexError, match="left untouched"):
        open_index(path, create=True)
    assert path.read_bytes() == content


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(CorruptIndexError, match="not a vidprov index"):
        open_index(path, create=True)
    assert path.read_bytes() == before


def test_newer_schema_is_refused_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_index(path, create=True).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 1}"):
        open_index(path)


def test_cli_errors_are_one_line(tmp_path: Path, footage: tuple[Path, object]) -> None:
    broken = tmp_path / "broken.db"
    broken.write_text("not an index")
    result = CliRunner().invoke(main, ["match", str(footage[0]), "--index", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"vidprov: error: {broken}: is not a vidprov index (not an SQLite file); " \
                                    "it was left untouched"
    result = CliRunner().invoke(main, ["index", "info", "--index", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no index here yet" in result.stderr


def test_migrate_reports_the_version(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = CliRunner().invoke(main, ["index", "migrate", "--index", str(path)])
    assert result.exit_code == 0
    assert f"schema version {SCHEMA_VERSION} is current" in result.stdout
    info = CliRunner().invoke(main, ["index", "info", "--json", "--index", str(path)])
    assert '"clips":0' in info.stdout and '"backend":"sqlite"' in info.stdout
