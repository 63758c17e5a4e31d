"""``vidprov index copy``, ``export-hashes``, ``import-hashes`` and ``imports``: moving and sharing an index."""

from __future__ import annotations

import os

import click

from ..errors import IndexStoreError
from ..index import is_postgres, open_index, transfer
from ..metadata import printable
from ._base import echo_json, json_option
from .match_cmd import index_group
from .options import index_option
from .output import atomic_output


def _same_place(first: str, second: str) -> bool:
    if is_postgres(first) or is_postgres(second):
        return first == second
    return os.path.realpath(first) == os.path.realpath(second)


@index_group.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option("--merge", is_flag=True, help="Copy into an index that already holds clips, merging records by id.")
@json_option
def index_copy(source: str, destination: str, merge: bool, as_json: bool) -> None:
    """Copy the index at SRC to DST: an SQLite file to PostgreSQL, or back.

    Everything is copied: clips, fingerprints, metadata, appearances, claims,
    assessments, verdicts and the log of imported hashes. DST is created if
    need be and must hold no clips yet, unless --merge is given.

    \b
      vidprov index copy desk.db postgresql://desk@db.example:5432/vidprov
      vidprov index copy postgresql://desk@db.example:5432/vidprov backup.db
    """
    if _same_place(source, destination):
        raise IndexStoreError("is both the source and the destination of the copy", source)
    with open_index(source) as src, open_index(destination, create=True, algorithm=src.algorithm) as dst:
        result = transfer.copy_index(src, dst, merge=merge)
        where = dst.location
    if as_json:
        echo_json({"source": src.location, "destination": where, **result.to_dict()})
        return
    records = ", ".join(f"{count} {name}" for name, count in result.records.items())
    click.echo(f"copied {src.location} to {where}: {result.clips} clips ({result.new_clips} new), "
               f"{result.fingerprints} fingerprints, {result.metadata} metadata records, {records}, "
               f"{result.imports} hash imports")


@index_group.command("export-hashes")
@index_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the bundle to FILE (whole or not at all) instead of standard output.")
def index_export_hashes(index_location: str | None, output: str | None) -> None:
    """Write a hash bundle for another desk: fingerprints, appearances and claims, no video.

    The bundle is JSON lines: a versioned header, then each clip's record and
    fingerprint, then the appearances and claims. Assessments and verdicts,
    the desk's own conclusions, stay behind. Read it with import-hashes.
    """
    with open_index(index_location) as index, atomic_output(output) as out:
        counts = transfer.export_hashes(index, out)
    if output is not None:
        click.echo(f"wrote {click.format_filename(output)}: {counts['clips']} clips, {counts['fingerprints']} "
                   f"fingerprints, {counts['appearances']} appearances, {counts['claims']} claims", err=True)


@index_group.command("import-hashes")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--desk", required=True, help="Name of the desk that sent FILE; kept with everything it brings.")
@index_option
@json_option
def index_import_hashes(file: str, desk: str, index_location: str | None, as_json: bool) -> None:
    """Merge FILE, a hash bundle or a vPDQ file, into the index, noting the desk it came from.

    Importing the same file twice changes nothing. A vPDQ file
    (frame_number,quality,hash_hex,timestamp lines from another tool) does
    not say which video it hashes: its hashes are filed under the sha256 of
    the vPDQ file itself, as a clip of media type text/x-vpdq.
    """
    with open_index(index_location, create=True) as index:
        outcome = transfer.import_hashes(index, file, desk=desk)
    if as_json:
        echo_json({"file": file, **outcome.to_dict()})
        return
    entry = outcome.entry
    name = click.format_filename(file)
    if not outcome.imported:
        click.echo(f"{name}: already imported from desk {printable(entry.desk)} on "
                   f"{entry.imported_at.strftime('%Y-%m-%d %H:%M:%S UTC')}; nothing changed")
        return
    held = ", ".join(f"{count} {kind}" + (f" ({outcome.new[kind]} new)" if kind in outcome.new else "")
                     for kind, count in entry.counts.items())
    click.echo(f"imported {name} from desk {printable(entry.desk)} ({entry.format}): {held}")


@index_group.command("imports")
@index_option
@json_option
def index_imports(index_location: str | None, as_json: bool) -> None:
    """List the hash files imported into the index: when, from which desk, and what they held."""
    with open_index(index_location) as index:
        entries = index.hash_imports()
        where = index.location  # never the password
    for entry in entries:
        if as_json:
            echo_json(entry.to_dict())
            continue
        held = ", ".join(f"{count} {kind}" for kind, count in entry.counts.items())
        click.echo(f"{entry.imported_at.strftime('%Y-%m-%d %H:%M:%S UTC')}  {printable(entry.desk)}  {entry.format}  "
                   f"{entry.bundle_sha256[:16]}  {held}")
    if not entries and not as_json:
        click.echo(f"{where}: no hashes imported yet")
