"""Options shared by several commands."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import click

from ..errors import VidprovError
from ..hashing import ALGORITHMS, DEFAULT_ALGORITHM
from ..media import Sampling

F = TypeVar("F", bound=Callable[..., Any])


class SamplingType(click.ParamType):
    """``keyframes``, ``all``, or frames per second."""

    name = "FPS|keyframes|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Sampling:
        if isinstance(value, Sampling):
            return value
        try:
            return Sampling.parse(str(value))
        except VidprovError as error:
            self.fail(str(error), param, ctx)


def sampling_option(default: str | None, what: str, default_help: str = "") -> Callable[[F], F]:
    """``--fps``; with no ``default``, ``default_help`` says what happens when it is not given."""
    return click.option(
        "--fps", "sampling", type=SamplingType(), default=default, show_default=default is not None,
        help=f"Which frames to {what}: a number of frames per second, 'keyframes' "
             f"(codec keyframes only, the fast path) or 'all' (every frame).{default_help}")


def algorithm_option(func: F) -> F:
    return click.option(
        "--algorithm", type=click.Choice(sorted(ALGORITHMS)), default=DEFAULT_ALGORITHM, show_default=True,
        help="Frame hash: pdq (Meta PDQ, 256 bits, vPDQ-compatible), phash (64 bits) or phash256.")(func)


def crop_option(func: F) -> F:
    return click.option(
        "--crop/--no-crop", default=True, show_default=True,
        help="Find letterbox and pillarbox bars and leave them out.")(func)


def clips_argument(func: F) -> F:
    # Existence is checked by the library so that every bad path gets the same one-line error.
    return click.argument("clips", nargs=-1, required=True, type=click.Path(dir_okay=True))(func)


def index_option(func: F) -> F:
    """``--index PATH|URL``: which index to use (``$VIDPROV_INDEX``, else ./vidprov.db)."""
    return click.option(
        "--index", "index_location", metavar="PATH|URL", default=None,
        help="The index: an SQLite file, or postgresql://user@host:port/db for a shared one. "
             "Default: $VIDPROV_INDEX, else ./vidprov.db.")(func)
