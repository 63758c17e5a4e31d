"""vidprov: video provenance for verification desks."""

from __future__ import annotations

__version__ = "0.1.0"
