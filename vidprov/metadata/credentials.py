"""C2PA content credentials, through the optional ``c2pa-python`` package.

Without the package nothing is checked, and the result says so: "not
checked" must never read as "no credentials". vidprov's own box scan may
still notice a manifest box, which goes into the detail text.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .model import ContentCredentials

INSTALL_HINT = "install the c2pa extra (pip install 'vidprov[c2pa]') to check content credentials"

#: The MIME types c2pa-python is given; formats missing here are not checked.
MIME_TYPES = {
    "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime", "3gp": "video/mp4",
    "3g2": "video/mp4", "avi": "video/x-msvideo", "jpeg": "image/jpeg", "png": "image/png",
    "tiff": "image/tiff", "webp": "image/webp", "heic": "image/heic", "avif": "image/avif",
}


def _load() -> Any:
    try:
        import c2pa
    except ImportError:
        return None
    return c2pa


def read_credentials(handle: BinaryIO, container: str, box_seen: bool = False) -> ContentCredentials:
    """Read and validate the manifest store of an open file, if the reader is installed."""
    c2pa = _load()
    seen = "; vidprov saw a C2PA manifest box in the file" if box_seen else ""
    if c2pa is None:
        return ContentCredentials("not checked", detail=INSTALL_HINT + seen)
    mime = MIME_TYPES.get(container)
    if mime is None:
        return ContentCredentials("not checked", detail=f"c2pa-python does not read {container} files" + seen)
    handle.seek(0)
    try:
        with c2pa.Reader(mime, handle) as reader:
            state = reader.get_validation_state()
            manifest = reader.get_active_manifest() or {}
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return ContentCredentials("absent")
    except c2pa.C2paError.NotSupported as error:
        return ContentCredentials("not checked", detail=f"c2pa-python cannot read this file: {error}" + seen)
    except (c2pa.C2paError, ValueError) as error:
        return ContentCredentials("unreadable", detail=f"c2pa-python: {error}")
    return ContentCredentials(
        "present",
        validation_state=state or _state_from_store(store),
        signer=_signer(manifest.get("signature_info") or {}),
        actions=_actions(manifest.get("assertions") or ()),
        detail=_failures(store),
    )


def _signer(info: dict[str, Any]) -> str | None:
    names = [str(info[key]) for key in ("common_name", "issuer") if info.get(key)]
    if not names:
        return None
    return names[0] if len(names) == 1 else f"{names[0]} ({names[1]})"


def _actions(assertions: Any) -> tuple[str, ...]:
    found: list[str] = []
    for assertion in assertions:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions", ()):
            if isinstance(action, dict) and action.get("action"):
                found.append(str(action["action"]))
    return tuple(found)


def _state_from_store(store: dict[str, Any]) -> str | None:
    state = store.get("validation_state")
    return str(state) if state else None


def _failures(store: dict[str, Any]) -> str | None:
    """The validator's failure codes, which say why a manifest is not valid."""
    statuses = store.get("validation_status") or ()
    codes = [str(item.get("code")) for item in statuses if isinstance(item, dict) and item.get("code")]
    return "validation: " + ", ".join(codes) if codes else None
