"""``vidprov hash``: fingerprint clips."""

from __future__ import annotations

import json
from typing import IO

import click

from ..errors import VidprovError
from ..fingerprint import HASH_INPUTS, Fingerprint, fingerprint
from ..keyframes import format_time
from ..media import Sampling
from ._base import clip_progress, main, report_failures
from .options import algorithm_option, clips_argument, crop_option, sampling_option
from .output import atomic_output

SHOWN_HASHES = 5


def summary(path: str, fp: Fingerprint, sampling: Sampling) -> str:
    lines = [path]
    facts = [f"{fp.fps:.2f} fps" if fp.fps else "unknown frame rate", f"{fp.width}x{fp.height}", fp.codec]
    duration = f"{fp.duration:.2f} s" if fp.duration is not None else "unknown"
    lines.append(f"  sha256     {fp.sha256}")
    lines.append(f"  duration   {duration} ({', '.join(facts)})")
    if fp.crop is not None and not fp.crop.is_full(fp.width, fp.height):
        lines.append(f"  crop       {fp.crop} (bars left out)")
    lines.append(f"  hashed     {len(fp.frames)} frames, {sampling.describe()}")
    lines.append(f"  algorithm  {fp.algorithm}")
    for number, frame in enumerate(fp.frames[:SHOWN_HASHES]):
        label = "hashes" if number == 0 else ""
        lines.append(f"  {label:<10} {format_time(frame.t)}  {frame.hash}  q{frame.quality}")
    if len(fp.frames) > SHOWN_HASHES:
        lines.append(f"  {'':<10} ... {len(fp.frames) - SHOWN_HASHES} more (use --json or --format vpdq)")
    return "\n".join(lines)


@main.command("hash")
@clips_argument
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "vpdq"]), default="text", show_default=True,
              help="text: a readable summary; json: one fingerprint object per line; "
                   "vpdq: Meta vPDQ lines (frame,quality,hash,timestamp), PDQ only.")
@algorithm_option
@sampling_option("2", "hash")
@crop_option
@click.option("--hash-input", type=click.Choice(HASH_INPUTS), default="gray64", show_default=True,
              help="Picture fed to the hash. native and rgb128 reproduce Meta's vPDQ bit for bit "
                   "(full-size frames, or frames shrunk to 128x128) at several times the cost, and never crop.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output (written whole or not at all).")
def hash_command(clips: tuple[str, ...], as_json: bool, fmt: str, algorithm: str, sampling: Sampling,
                 crop: bool, hash_input: str, output: str | None) -> None:
    """Fingerprint each CLIP: timestamped perceptual hashes of its frames.

    \b
    Examples:
      vidprov hash clip.mp4
      vidprov hash --json *.mp4 > fingerprints.jsonl
      vidprov hash --format vpdq --fps all clip.mp4 -o clip.vpdq.txt
    """
    if as_json:
        fmt = "json"
    if fmt == "vpdq" and algorithm != "pdq":
        raise click.UsageError("--format vpdq needs --algorithm pdq")
    if fmt == "vpdq" and output and len(clips) > 1:
        raise click.UsageError("a vPDQ file holds one clip: give one CLIP with -o, or leave out -o")
    failures: list[VidprovError] = []
    with atomic_output(output) as out:
        for number, path in enumerate(clips):
            try:
                fp = _hash_one(path, algorithm, sampling, crop, hash_input)
            except VidprovError as error:
                failures.append(error)
                continue
            _print(out, path, fp, fmt, sampling, first=number == 0)
    report_failures(failures)


def _hash_one(path: str, algorithm: str, sampling: Sampling, crop: bool, hash_input: str) -> Fingerprint:
    with clip_progress(click.format_filename(path)) as progress:
        return fingerprint(path, algorithm=algorithm, sampling=sampling, crop=crop,
                           hash_input=hash_input, progress=progress)


def _print(out: IO[str], path: str, fp: Fingerprint, fmt: str, sampling: Sampling, first: bool) -> None:
    if fmt == "json":
        # The path says which clip a line is about; the fingerprint itself is
        # about bytes, named by their sha256.
        out.write(json.dumps({"path": path, **fp.to_dict()}, separators=(",", ":"), allow_nan=False) + "\n")
    elif fmt == "vpdq":
        out.write(fp.to_vpdq())
    else:
        out.write(("" if first else "\n") + summary(click.format_filename(path), fp, sampling) + "\n")
    out.flush()
