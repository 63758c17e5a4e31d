"""vidprov: video provenance for verification desks.

The pipeline runs one way: clip -> frames (:mod:`vidprov.media`) -> active
picture (:mod:`vidprov.borders`) -> frame hashes (:mod:`vidprov.hashing`) ->
fingerprint (:mod:`vidprov.fingerprint`), with scene-aware keyframes
(:mod:`vidprov.keyframes`) for reverse image search.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import keyframes
from .errors import VidprovError, VidprovWarning
from .fingerprint import Fingerprint, FrameRecord, fingerprint
from .hashing import FrameHash
from .media import Sampling

__all__ = [
    "Fingerprint",
    "FrameHash",
    "FrameRecord",
    "Sampling",
    "VidprovError",
    "VidprovWarning",
    "fingerprint",
    "keyframes",
    "__version__",
]
