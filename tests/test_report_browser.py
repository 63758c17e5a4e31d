"""The report in a real browser: headless Chromium (Debian's ``chromium``) opens it offline.

Checks that the page loads with no console message at all (a blocked load
or a script would log one), that the hostile publisher name, caption and
tags never run (they would change the title and add ``#pwned`` to the DOM),
both with the Content-Security-Policy and with it removed, and that the
policy itself blocks a script that got in. A screenshot is saved too.

The tests install nothing: they skip when Chromium is absent, except under
CI (``$CI``), where ``.ci/run`` installs it and its absence is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from test_report import make_desk

from vidprov import report
from vidprov.index import open_index

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Under CI a missing Chromium is not skipped: browse() fails, naming what is missing.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Chromium is not installed (apt-get install chromium)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0")
#: How Chromium logs a message of the page's console on stderr.
CONSOLE = re.compile(r"CONSOLE[:(]\d+")
TITLE = "Provenance report: reupload.mp4"


def browse(folder: Path, page: Path, *extra: str) -> tuple[str, list[str]]:
    """Open ``page`` in a fresh headless Chromium; return stdout and the console lines it logged."""
    assert CHROMIUM is not None, "CI needs Debian's chromium for these tests; .ci/run installs it"
    profile = folder / f"profile-{page.stem}"
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if CONSOLE.search(line)]


def title_of(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert found is not None, dom[:500]
    return found.group(1)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    desk = make_desk(tmp_path_factory.mktemp("desk"))
    with open_index(desk.index) as index:
        built = report.build(desk.reupload, index)
    return report.save(built, desk.folder / "report.html")


def test_the_report_loads_cleanly_and_nothing_in_it_runs(page: Path, tmp_path: Path) -> None:
    dom, console = browse(tmp_path, page, "--dump-dom")
    assert console == []
    assert title_of(dom) == TITLE
    assert 'id="pwned"' not in dom and "<script" not in dom
    assert "&lt;script&gt;document.title='pwned'" in dom  # the publisher's name, shown as text


def test_escaping_alone_keeps_the_payloads_inert(page: Path, tmp_path: Path) -> None:
    text = page.read_text(encoding="utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', text)
    assert policy is not None
    bare = tmp_path / "no_policy.html"
    bare.write_text(text.replace(policy.group(0), ""), encoding="utf-8")
    dom, console = browse(tmp_path, bare, "--dump-dom")
    assert console == []
    assert title_of(dom) == TITLE and 'id="pwned"' not in dom


def test_the_policy_blocks_a_script_that_got_in(page: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.html"
    text = page.read_text(encoding="utf-8")
    tampered.write_text(text.replace("</body>", "<script>document.title='pwned'</script></body>"), encoding="utf-8")
    dom, console = browse(tmp_path, tampered, "--dump-dom")
    assert title_of(dom) == TITLE
    assert any("Content Security Policy" in line for line in console), console


def test_screenshot(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _, console = browse(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,2000",
                        "--hide-scrollbars")
    assert console == []
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 1000  # text and pictures, not a blank page
    keep = os.environ.get("VIDPROV_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")
