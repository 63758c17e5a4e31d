"""Writing command output to standard output or, whole or not at all, to a file."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import IO, Iterator

from ..errors import FileAccessError


@contextlib.contextmanager
def atomic_output(path: str | None) -> Iterator[IO[str]]:
    """Yield a text stream: stdout, or a temporary file renamed over ``path`` on success.

    A failure part-way leaves any earlier ``path`` untouched.
    """
    if path is None:
        yield sys.stdout
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle = tempfile.NamedTemporaryFile("w", dir=directory, prefix=".vidprov-", suffix=".tmp",
                                             delete=False, encoding="utf-8")
    except OSError as error:
        raise FileAccessError(f"cannot write ({error.strerror or error})", path) from None
    try:
        with handle:
            yield handle
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
