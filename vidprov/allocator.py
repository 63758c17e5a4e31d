"""How the process's memory allocator treats large freed blocks.

A search of a large index builds arrays of a few megabytes for each query
(the posting lists read and the comparisons against them) and frees them
when it is done. glibc hands blocks that large straight back to the
operating system, so the next query starts on fresh pages again: one page
fault for every 4 KiB, which on a virtual machine costs more than the
arithmetic done on the page. On the 2-core benchmark machine it doubled the
time of a query at one million clips (docs/benchmarks.md, "Index scale").

:func:`keep_freed_memory` raises glibc's two thresholds so freed blocks stay
in the process for the next query. The ``vidprov`` command calls it when it
starts; a long-running process that searches an index may call it too. The
price is memory held back: up to :data:`TRIM_THRESHOLD` bytes of freed heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap, and are reused once freed.
MMAP_THRESHOLD = 32 << 20
#: Freed memory the heap keeps at its top before giving any back.
TRIM_THRESHOLD = 128 << 20

_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Keep freed blocks of up to 32 MiB in the process for reuse; True when the allocator took it.

    Only glibc has these settings: elsewhere (macOS, Windows, musl) nothing
    changes and the answer is False. Calling it again changes nothing more.
    """
    global _kept
    if _kept is None:
        _kept = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                mallopt = libc.mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _kept = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _kept
