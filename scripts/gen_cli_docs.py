"""Write docs/cli.md, the command-line reference, from the commands' own ``--help``.

    python scripts/gen_cli_docs.py           # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --check   # exit 1 if docs/cli.md is not what this would write

The help is rendered at a fixed width, so the file depends only on the code.
``tests/test_docs.py`` fails when a command is missing or the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import click

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"
WIDTH = 88

HEADER = """# Command-line reference

<!-- Written by scripts/gen_cli_docs.py from each command's --help: do not edit by hand. -->

Every `vidprov` command, with its help exactly as `vidprov COMMAND --help`
prints it. Commands that take `--index` use `$VIDPROV_INDEX` when it is not
given, and `./vidprov.db` when neither is. Errors are one line on standard
error, `vidprov: error: ...`, with exit status 1.

"""


def contexts(command: click.Command, parent: click.Context | None = None,
             name: str = "vidprov") -> Iterator[click.Context]:
    """A context for ``command`` and for every command under it, depth first, in ``--help`` order.

    Each context has its parent's, so that usage lines and inherited settings
    (``-h`` for help) read as they do on the command line.
    """
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    context = click.Context(command, parent=parent, info_name=name, **settings)
    yield context
    if isinstance(command, click.Group):
        for child in command.list_commands(context):
            sub = command.get_command(context, child)
            if sub is not None and not sub.hidden:
                yield from contexts(sub, context, child)


def render() -> str:
    from vidprov.cli import main

    sections = [f"## {context.command_path}\n\n```text\n{context.command.get_help(context)}\n```\n"
                for context in contexts(main)]
    return HEADER + "\n".join(sections)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
