"""Safe text: strings taken from a file may contain anything.

A tag can hold terminal escape sequences (``ESC [ 2 J`` clears the screen,
OSC 8 forges links), bidirectional overrides that reorder what is shown, or
bytes that are not UTF-8. :func:`printable` makes a string safe to print;
:func:`clean` makes it safe to keep and to serialise as JSON.
"""

from __future__ import annotations

import unicodedata

# Categories never printed as themselves: controls (C0, DEL, C1, which
# includes the 8-bit CSI), format characters (bidi overrides, zero-width
# characters), line and paragraph separators, surrogates, unassigned and
# private-use code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean(value: str) -> str:
    """Replace lone surrogates (undecodable bytes) with ``\\udcNN`` so UTF-8 output cannot fail."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object, limit: int | None = None) -> str:
    """``value`` as text with every control or invisible character shown as an escape.

    ``limit`` cuts long values for tables; the cut is marked with the number
    of characters left out.
    """
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit]
        suffix = f"... ({len(value if isinstance(value, str) else str(value)) - limit} more characters)"
    else:
        suffix = ""
    out = [_escape(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char
           for char in text]
    return "".join(out) + suffix
