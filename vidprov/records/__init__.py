"""Provenance records: what people claim about a clip, and what the desk established.

The value objects live in :mod:`.model` (records), :mod:`.dates` and
:mod:`.places` (what a claim says about time and place); :mod:`.ytdlp`
imports yt-dlp metadata, :mod:`.export` writes bundles out and
:mod:`.gazetteer` looks places up offline (optional extra). Every record is
immutable, validated when built, and has a versioned ``to_dict()`` form that
``from_dict()`` reads back exactly. See ``docs/records.md``.
"""

from __future__ import annotations

from ._serial import SCHEMA_VERSION
from .bundle import Record, RecordBundle, record_from_dict
from .dates import (
    DATE_SYNTAX,
    AgeUnit,
    DateClaim,
    DateKind,
    MaxAge,
    Precision,
    Timestamp,
    parse_date_claim,
    parse_timestamp,
)
from .export import (
    MEDIA_AUTHENTICITY_CATEGORY,
    appearances_csv,
    claims_csv,
    from_json,
    jsonld_script,
    to_json,
    to_jsonld,
)
from .model import (
    Appearance,
    Assessment,
    AssessmentKind,
    Claim,
    Clip,
    Platform,
    Relay,
    RelayKind,
    Verdict,
    VerdictStatus,
)
from .places import Geometry, PlaceClaim, Point, parse_point
from .ytdlp import appearance_from_info_json

__all__ = [
    "AgeUnit", "Appearance", "Assessment", "AssessmentKind", "Claim", "Clip", "DATE_SYNTAX", "DateClaim",
    "DateKind", "Geometry", "MEDIA_AUTHENTICITY_CATEGORY", "MaxAge", "PlaceClaim", "Platform", "Point",
    "Precision", "Record", "RecordBundle", "Relay", "RelayKind", "SCHEMA_VERSION", "Timestamp", "Verdict",
    "VerdictStatus", "appearance_from_info_json", "appearances_csv", "claims_csv", "from_json",
    "jsonld_script", "parse_date_claim", "parse_point", "parse_timestamp", "record_from_dict", "to_json", "to_jsonld",
]
