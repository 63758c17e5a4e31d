"""The documentation stays true: every command is in the reference, the reference is current, the site builds.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing
from the nav that the nav names, or an API page whose module does not import.
The workflow page's commands run as written and print what the page shows.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from test_walkthrough import run, shows, steps

from vidprov.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import gen_cli_docs

CLI_DOC = ROOT / "docs" / "cli.md"


def every_command() -> list[str]:
    return [context.command_path for context in gen_cli_docs.contexts(main)]


def test_every_command_and_subcommand_has_its_section() -> None:
    names = every_command()
    assert "vidprov report" in names and "vidprov index info" in names
    headings = {line[3:] for line in CLI_DOC.read_text(encoding="utf-8").splitlines() if line.startswith("## ")}
    assert [name for name in names if name not in headings] == []


def test_the_cli_reference_is_current() -> None:
    assert CLI_DOC.read_text(encoding="utf-8") == gen_cli_docs.render(), \
        "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_every_group_lists_its_subcommands_in_the_reference() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    for name, command in main.commands.items():
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert f"## vidprov {name} {sub}\n" in text


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="mkdocs and mkdocstrings are not installed (pip install -e '.[docs]')")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "vidprov.report" / "index.html").is_file()
    # The theme's code highlighting would be fetched from a CDN: it is turned off.
    assert "cdnjs" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_workflow_page_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {key: value for key, value in os.environ.items() if key != "VIDPROV_INDEX"}
    page = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    for step in steps(page):
        output = []
        for command in step.commands:
            result = run(command, tmp_path, env)
            assert result.returncode == 0, f"`{command}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            output.append(result.stdout)
        if step.expected is not None:
            assert shows("".join(output), step.expected), \
                f"`{step.commands[-1]}` printed\n{''.join(output)}\nbut docs/workflow.md shows\n{step.expected}"
    assert (tmp_path / "x_post_report.html").is_file() and (tmp_path / "x_post.jsonld").is_file()
