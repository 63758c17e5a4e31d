"""``vidprov report``: one self-contained HTML file with everything known about a clip."""

from __future__ import annotations

import os

import click

from .. import match as matching
from .. import report as reporting
from ..metadata import printable
from ._base import clip_progress, main
from .options import index_option


@main.command("report")
@click.argument("clip")
@index_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The HTML file to write (default: <clip name>_report.html; written whole or not at all).")
@click.option("--clips-dir", "folders", multiple=True, type=click.Path(file_okay=False), metavar="DIR",
              help="A folder (searched with its subfolders) holding clip files, so that matched clips' frames "
                   "can be shown beside this clip's; repeatable. The clip's own folder is always looked in.")
@click.option("--claimed-date", help="The date now claimed for this clip (e.g. 2024-10-15/2024-10-18), "
                                     "if it is not recorded in the index.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=matching.DEFAULT_THRESHOLD, show_default=True,
              help="Score from which a clip counts as sharing footage.")
def report_command(clip: str, index_location: str | None, output: str | None, folders: tuple[str, ...],
                   claimed_date: str | None, threshold: float) -> None:
    """Write a provenance report on CLIP as one HTML file a colleague can open offline.

    CLIP is a clip file (fingerprinted, and looked up in the index by its
    sha256: it need not be indexed), or an indexed clip's id or sha256
    prefix. The report holds the keyframes (each links to its full-size
    frame, ready for reverse image search), the file's embedded metadata,
    the clip's records and verdict, the indexed clips sharing its footage
    with matched frames side by side, a timeline of every known appearance
    against the claimed date, and the places claimed, with map links.

    Pictures are embedded and the page has no script and loads nothing, so
    the file can be mailed or archived as it is.

    \b
    Examples:
      vidprov report x_post.mp4 -o x_post.html --index desk.db
      vidprov report 3 --clips-dir footage/ -o clip3.html
    """
    if output is None:
        stem = os.path.splitext(os.path.basename(clip))[0] if os.path.isfile(clip) else f"clip{clip}"
        output = f"{stem}_report.html"
    with clip_progress(click.format_filename(clip)) as progress:
        made = reporting.create(clip, output, index_location=index_location, folders=folders,
                                threshold=threshold, claimed_date=claimed_date, progress=progress)
    keyframes = len(made.keyframes.keyframes) if made.keyframes is not None else 0
    click.echo(f"wrote {printable(click.format_filename(output))}: {keyframes} keyframes, "
               f"{len(made.matches) or 'no'} match{'es' if len(made.matches) != 1 else ''}")
    click.echo(f"verdict: {printable(made.provenance.summary)}")
