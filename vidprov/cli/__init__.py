"""The ``vidprov`` command line: a thin layer that parses, calls the library and prints.

Each command lives in its own module and registers itself on :data:`main`.
"""

from __future__ import annotations

from ._base import main

# Importing a command module registers its command on ``main``.
from . import (  # noqa: E402,F401
    hash_cmd,
    index_cmd,
    keyframes_cmd,
    match_cmd,
    meta_cmd,
    places_cmd,
    records_cmd,
    report_cmd,
)

__all__ = ["main"]
