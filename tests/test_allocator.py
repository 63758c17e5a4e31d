from __future__ import annotations

import ctypes
import platform
import sys

import pytest

from vidprov import allocator


def test_keep_freed_memory_takes_on_glibc_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_kept", None)
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert allocator.keep_freed_memory() is glibc
    calls = []
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: calls.append(a))
    assert allocator.keep_freed_memory() is glibc and calls == []  # asked again: nothing more done


def test_keep_freed_memory_changes_nothing_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_kept", None)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
