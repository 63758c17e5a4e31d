"""The command group, shared options and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from typing import Any, Callable, Iterable, Iterator, TypeVar

import click

from .. import __version__
from ..allocator import keep_freed_memory
from ..errors import VidprovError, VidprovWarning

F = TypeVar("F", bound=Callable[..., Any])

#: Exit code for a command that failed on (some of) its input.
EXIT_FAILURE = 1


def error_line(error: BaseException) -> str:
    return f"vidprov: error: {error}"


def warning_line(message: str) -> str:
    return f"vidprov: warning: {message}"


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    if issubclass(category, VidprovWarning):
        click.echo(warning_line(str(message)), err=True)
    else:  # pragma: no cover - foreign warnings keep their usual form
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class VidprovGroup(click.Group):
    """A group that turns library errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = warnings.showwarning
        warnings.showwarning = _show_warning
        try:
            return super().invoke(ctx)
        except VidprovError as error:
            click.echo(error_line(error), err=True)
            ctx.exit(EXIT_FAILURE)
        finally:
            warnings.showwarning = previous


@click.group(cls=VidprovGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vidprov")
def main() -> None:
    """Video provenance for verification desks.

    Fingerprint clips, pull keyframes for reverse image search, read what a
    file says about itself, and find earlier copies of the same footage.
    """
    keep_freed_memory()


def json_option(func: F) -> F:
    """``--json``: machine-readable output on stdout, one JSON object per line."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON (one object per line) instead of text.")(func)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def report_failures(failures: Iterable[BaseException]) -> None:
    """Print each failure of a batch as one line and exit non-zero if there were any."""
    failures = list(failures)
    for failure in failures:
        click.echo(error_line(failure), err=True)
    if failures:
        raise click.exceptions.Exit(EXIT_FAILURE)


@contextlib.contextmanager
def clip_progress(label: str) -> Iterator[Callable[[float, float | None], None]]:
    """A progress callback for one clip, drawn as a bar on stderr.

    The bar appears once the clip's duration is known, and only when stderr
    is a terminal, so pipes and logs stay clean.
    """
    bar: Any = None
    shown = 0

    def update(seconds: float, total: float | None) -> None:
        nonlocal bar, shown
        if bar is None:
            if not total or not sys.stderr.isatty():
                return
            bar = click.progressbar(length=max(1, int(total * 1000)), label=label, file=sys.stderr,
                                    show_eta=True, show_percent=True, width=30)
            bar.__enter__()
        millis = int(seconds * 1000)
        if millis > shown:
            bar.update(millis - shown)
            shown = millis

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
