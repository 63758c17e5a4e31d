"""docs/records.md stays true: its Python examples run, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "records.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_examples_in_the_records_doc_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples name fixture files relative to the repository
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "records_doc"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{DOC.name} example {number}", "exec"), namespace)  # noqa: S102


def test_every_public_name_is_in_the_doc() -> None:
    import vidprov.records as records

    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in records.__all__ if f"`{name}`" not in text and name != "SCHEMA_VERSION"]
    assert missing == []
