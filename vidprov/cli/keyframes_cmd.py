"""``vidprov keyframes``: write the frames to run through reverse image search."""

from __future__ import annotations

import os

import click

from .. import keyframes as kf
from ..media import Sampling
from ._base import clip_progress, echo_json, main
from .options import algorithm_option, crop_option, sampling_option


@main.command("keyframes")
@click.argument("clip", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), default=None,
              help="Directory for the JPEGs and contact_sheet.jpg (default: <clip name>_keyframes).")
@sampling_option("4", "examine")
@click.option("--max-gap", type=click.FloatRange(min=0.5), default=4.0, show_default=True,
              help="Longest stretch of a shot, in seconds, without a keyframe.")
@crop_option
@algorithm_option
@click.option("--json", "as_json", is_flag=True, help="Print the keyframes and files as one JSON object.")
def keyframes_command(clip: str, outdir: str | None, sampling: Sampling, max_gap: float, crop: bool,
                      algorithm: str, as_json: bool) -> None:
    """Pick scene-aware keyframes of CLIP and save them as JPEGs with a contact sheet.

    One frame per shot at least, one every --max-gap seconds in long shots, no
    near-duplicates in a row and no black, flat or fading frames. Files are
    named by timestamp, e.g. clip_t0012.480.jpg.
    """
    stem = os.path.splitext(os.path.basename(clip))[0]
    outdir = outdir or f"{stem}_keyframes"
    with clip_progress(click.format_filename(clip)) as progress:
        selection = kf.extract(clip, sampling=sampling, max_gap=max_gap, crop=crop, algorithm=algorithm,
                               progress=progress)
    written = kf.save(selection, outdir, stem=stem)
    if as_json:
        data = selection.to_dict()
        data["files"] = [str(p) for p in written]
        echo_json(data)
        return
    click.echo(f"{click.format_filename(clip)}: {len(selection.keyframes)} keyframes")
    for keyframe, path in zip(selection.keyframes, written):
        click.echo(f"  {kf.format_time(keyframe.t)}  q{keyframe.quality:<3}  {path}")
    if len(written) > len(selection.keyframes):
        click.echo(f"  contact sheet: {written[-1]}")
