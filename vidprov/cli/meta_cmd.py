"""``vidprov meta``: what each file says about itself."""

from __future__ import annotations

import json

import click

from ..errors import VidprovError
from ..metadata import read_metadata, render_raw, render_text
from ._base import json_option, main, report_failures


@main.command("meta")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@json_option
@click.option("--raw", "raw", is_flag=True,
              help="Print every tag exactly as read, grouped by container and stream "
                   "(with --json: include them in the JSON).")
def meta_command(files: tuple[str, ...], as_json: bool, raw: bool) -> None:
    """Show the embedded metadata of each FILE: times, place, device, tools.

    Every value names the tag it came from. Times without a stated time zone
    are shown as such, never as UTC. Strings from the file are escaped, so a
    tag cannot inject terminal control sequences.

    \b
    Examples:
      vidprov meta clip.mp4
      vidprov meta --json *.mp4 > metadata.jsonl
      vidprov meta --raw photo.jpg
    """
    failures: list[VidprovError] = []
    for number, path in enumerate(files):
        try:
            meta = read_metadata(path)
        except VidprovError as error:
            failures.append(error)
            continue
        if as_json:
            # ASCII-only JSON: tags may hold C1 controls (8-bit CSI) and bidi
            # overrides, which JSON would otherwise pass through verbatim.
            click.echo(json.dumps(meta.to_dict(raw=raw), ensure_ascii=True, separators=(",", ":")))
            continue
        if number:
            click.echo()
        click.echo("\n".join(render_raw(meta) if raw else render_text(meta)))
    report_failures(failures)
