"""A new user's first steps: the commands README.md and docs/quickstart.md print, run as printed.

In a fresh copy of the repository and a fresh virtual environment (made with
``--system-site-packages``, so that the heavy wheels already installed are
reused), every command of every ``sh`` block of README.md and then of
docs/quickstart.md runs in order, from the repository's folder. Each must
succeed, and a ``text`` block that follows an ``sh`` block must be what that
block printed: compared with runs of whitespace made one space (so the docs
may wrap long lines), and ``...`` standing for anything.

One command is changed: the README's ``python -m pytest`` (the whole suite,
which includes this test) only collects the suite, to show that it installs
and imports in a fresh environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", ROOT / "docs" / "quickstart.md")
#: Commands run differently here, and why.
STAND_INS = {"python -m pytest": "python -m pytest --collect-only -q -p no:cacheprovider"}
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Step:
    """The commands of one ``sh`` block, and the output the docs show for them, if any."""

    commands: list[str]
    expected: str | None = None


def steps(markdown: str) -> list[Step]:
    """The ``sh`` blocks of a page, each with the ``text`` block that follows it (before the next ``sh``)."""
    found: list[Step] = []
    for match in _FENCE.finditer(markdown):
        language, body = match.group(1), match.group(2)
        if language == "sh":
            found.append(Step(commands(body)))
        elif language == "text" and found and found[-1].expected is None:
            found[-1].expected = body
    return found


def commands(block: str) -> list[str]:
    """Shell commands of a block: comments and blank lines dropped, ``\\`` continuations joined."""
    joined = re.sub(r"[ \t]*\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def flat(text: str) -> str:
    return " ".join(text.split())


def shows(output: str, expected: str) -> bool:
    """Whether ``output`` contains ``expected``, whitespace runs aside, ``...`` matching anything."""
    pattern = ".*?".join(re.escape(part) for part in flat(expected).split("..."))
    return re.search(pattern, flat(output), re.DOTALL) is not None


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def fresh_checkout(target: Path) -> Path:
    """The repository's files as a clone would have them (tracked files; everything but build output without git)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True)
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
        return target
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".git", "build", "site", "*.egg-info", "__pycache__",
                                                                ".pytest_cache", "vidprov.db*"))
    return target


def test_the_doc_parser_reads_blocks_and_outputs() -> None:
    page = "text\n\n```sh\n# set up\npip install .\nvidprov add a \\\n    --index x.db\n```\n\nSays:\n\n" \
           "```text\nadded clip 1\n  sha256 ...\n```\n\n```python\nx = 1\n```\n\n```sh\nls\n```\n"
    parsed = steps(page)
    assert [(s.commands, s.expected) for s in parsed] == [
        (["pip install .", "vidprov add a --index x.db"], "added clip 1\n  sha256 ...\n"), (["ls"], None)]
    assert shows("added clip 1\n  sha256 abc123\n", parsed[0].expected or "")
    assert shows("verdict: one two\nthree", "verdict: one\n  two three")
    assert not shows("added clip 2\n", parsed[0].expected or "")


@pytest.mark.slow
def test_a_new_user_following_the_readme_and_the_quickstart(tmp_path: Path) -> None:
    checkout = fresh_checkout(tmp_path / "vidprov")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIDPROV_INDEX", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")

    for doc in DOCS:
        page = doc.read_text(encoding="utf-8")
        doc_steps = steps(page)
        assert doc_steps, f"{doc.name} shows no sh block"
        for step in doc_steps:
            printed = []
            for command in step.commands:
                for original, stand_in in STAND_INS.items():
                    command = re.sub(rf"{re.escape(original)}(?=$|\s*&&|\s*;)", stand_in, command)
                result = run(command, checkout, env)
                assert result.returncode == 0, (f"{doc.name}: `{command}` failed ({result.returncode}):\n"
                                                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
                assert "Traceback" not in result.stderr, f"{doc.name}: `{command}`:\n{result.stderr[-3000:]}"
                printed.append(result.stdout)
            if step.expected is not None:
                output = "".join(printed)
                assert shows(output, step.expected), (
                    f"{doc.name}: `{step.commands[-1]}` printed\n{output}\nbut the docs say it prints\n{step.expected}")

    # The commands ran the vidprov installed from the copy, not the one under test here.
    where = run("python -c 'import vidprov, os; print(os.path.realpath(vidprov.__file__))'", tmp_path, env)
    assert where.stdout.startswith((str(venv.resolve()), str(checkout.resolve()))), where.stdout
    assert (checkout / "work" / "report.html").is_file()
