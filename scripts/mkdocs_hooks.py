"""MkDocs hooks for vidprov's docs (named in mkdocs.yml).

The docstrings cross-reference in Sphinx style (``:class:`Fingerprint```),
which Markdown renders as the role's name followed by code. The role names
are dropped, leaving the code: ``Fingerprint``; a leading ``~`` (show the
last part only) is applied.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):(<code>)~?([^<]*)</code>")


def _shown(match: re.Match[str]) -> str:
    target = match.group(2)
    if match.group(0).find("~", 0, match.start(2) - match.start(0)) >= 0:
        target = target.rsplit(".", 1)[-1]
    return f"{match.group(1)}{target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_shown, html)
