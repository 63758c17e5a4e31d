"""Exports of a :class:`RecordBundle`: lossless JSON, CSV tables and schema.org JSON-LD.

These are pure functions of the bundle; they touch no storage. Only the JSON
export is lossless (:func:`from_json` rebuilds identical records). CSV is
for reading in a spreadsheet and JSON-LD for publishing fact-check markup.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Sequence

from ..errors import FormatError, VidprovError
from ._serial import attach_path
from .bundle import RecordBundle
from .dates import DateClaim, Timestamp
from .model import Appearance, Claim, Clip, Platform, Verdict, VerdictStatus
from .places import PlaceClaim

# ------------------------------------------------------------------- JSON


def to_json(bundle: RecordBundle, *, indent: int | None = 2) -> str:
    """The lossless export: every field of every record, re-importable with :func:`from_json`."""
    return json.dumps(bundle.to_dict(), ensure_ascii=False, indent=indent)


def from_json(text: str | bytes, *, path: str | None = None) -> RecordBundle:
    """Rebuild the bundle :func:`to_json` wrote; ``path`` names the file in errors."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as error:  # json.JSONDecodeError and bad UTF-8 are ValueErrors
        raise FormatError(f"not valid JSON ({error})", path) from error
    try:
        return RecordBundle.from_dict(data)
    except VidprovError as error:
        attach_path(error, path)
        raise


# -------------------------------------------------------------------- CSV

# Spreadsheets run a cell that starts with one of these as a formula, and
# captions are written by whoever posted the footage.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

APPEARANCE_COLUMNS = (
    "appearance_id", "clip_sha256", "platform", "url", "publisher", "handle", "post_id",
    "posted_at", "posted_at_precision", "title", "description", "archive_urls", "relay_kind", "relay_of",
)

CLAIM_COLUMNS = (
    "claim_id", "clip_sha256", "appearance_id", "appearance_url", "platform", "publisher", "claimant",
    "text", "date_kind", "date_edtf", "date_earliest", "date_latest", "date_precision", "date_derivation",
    "place_name", "place_country", "place_subdivision", "place_lat", "place_lon", "place_radius_m",
    "place_geometry", "place_basis",
)

_FREE_TEXT = frozenset({"publisher", "handle", "post_id", "title", "description", "claimant", "text",
                        "place_name", "place_basis"})


def appearances_csv(bundle: RecordBundle, *, spreadsheet_safe: bool = True) -> str:
    """One row per appearance.

    With ``spreadsheet_safe`` (the default) a free-text cell that a
    spreadsheet would run as a formula gets a leading ``'``.
    """
    rows = (_appearance_row(item) for item in bundle.appearances)
    return _write_csv(APPEARANCE_COLUMNS, rows, spreadsheet_safe)


def claims_csv(bundle: RecordBundle, *, spreadsheet_safe: bool = True) -> str:
    """One row per claim, with the appearance it was made in alongside."""
    rows = (_claim_row(bundle, claim) for claim in bundle.claims)
    return _write_csv(CLAIM_COLUMNS, rows, spreadsheet_safe)


def _appearance_row(item: Appearance) -> dict[str, Any]:
    return {
        "appearance_id": item.id,
        "clip_sha256": item.clip_sha256,
        "platform": item.platform.value,
        "url": item.url,
        "publisher": item.publisher,
        "handle": item.handle,
        "post_id": item.post_id,
        "posted_at": _edtf(item.posted_at),
        "posted_at_precision": item.posted_at.precision.value if item.posted_at else None,
        "title": item.title,
        "description": item.description,
        "archive_urls": " ".join(item.archive_urls),  # URLs hold no spaces, so a space separates them
        "relay_kind": item.relay_of.kind.value if item.relay_of else None,
        "relay_of": item.relay_of.appearance_id if item.relay_of else None,
    }


def _claim_row(bundle: RecordBundle, claim: Claim) -> dict[str, Any]:
    appearance = bundle.appearance(claim.appearance_id) if claim.appearance_id else None
    row: dict[str, Any] = {
        "claim_id": claim.id,
        "clip_sha256": bundle.claim_clip(claim),
        "appearance_id": claim.appearance_id,
        "appearance_url": appearance.url if appearance else None,
        "platform": appearance.platform.value if appearance else None,
        "publisher": appearance.publisher if appearance else None,
        "claimant": claim.claimant,
        "text": claim.text,
    }
    date = claim.date
    if date is not None:
        row.update(date_kind=date.kind.value, date_edtf=date.edtf,
                   date_earliest=date.earliest.isoformat() if date.earliest else None,
                   date_latest=date.latest.isoformat() if date.latest else None,
                   date_precision=date.precision.value if date.precision else None,
                   date_derivation=date.derivation.text if date.derivation else None)
    place = claim.place
    if place is not None:
        row.update(place_name=place.name, place_country=place.country, place_subdivision=place.subdivision,
                   place_basis=place.basis)
        if place.point is not None:
            row.update(place_lat=place.point.lat, place_lon=place.point.lon, place_radius_m=place.point.radius_m)
        if place.geometry is not None:
            row["place_geometry"] = json.dumps(place.geometry.to_dict(), separators=(",", ":"))
    return row


def _write_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]], spreadsheet_safe: bool) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        cells = {}
        for column in columns:
            value = row.get(column)
            if value is None:
                value = ""
            elif spreadsheet_safe and column in _FREE_TEXT and str(value).startswith(_FORMULA_STARTS):
                value = "'" + str(value)
            cells[column] = value
        writer.writerow(cells)
    return out.getvalue()


# ---------------------------------------------------------------- JSON-LD

#: schema.org ``mediaAuthenticityCategory`` for each verdict status. Statuses
#: mapped to None get no MediaReview: schema.org has no "not yet known" or
#: "contested" category, and inventing one would misstate the desk's view.
MEDIA_AUTHENTICITY_CATEGORY: dict[VerdictStatus, str | None] = {
    VerdictStatus.UNVERIFIED: None,
    VerdictStatus.DISPUTED: None,
    VerdictStatus.VERIFIED: "OriginalMediaContent",
    VerdictStatus.FALSE: "TransformedContent",
    VerdictStatus.MISATTRIBUTED: "DecontextualizedContent",
    VerdictStatus.RECYCLED: "DecontextualizedContent",
}

#: The textual rating (``Rating.alternateName``) a ClaimReview carries.
VERDICT_LABEL: dict[VerdictStatus, str] = {
    VerdictStatus.UNVERIFIED: "Unverified",
    VerdictStatus.VERIFIED: "Verified",
    VerdictStatus.DISPUTED: "Disputed",
    VerdictStatus.FALSE: "False",
    VerdictStatus.MISATTRIBUTED: "Misattributed",
    VerdictStatus.RECYCLED: "Recycled: older footage presented as new",
}

_SOCIAL = frozenset({Platform.X, Platform.TELEGRAM, Platform.YOUTUBE, Platform.TIKTOK, Platform.FACEBOOK,
                     Platform.INSTAGRAM})


def to_jsonld(bundle: RecordBundle) -> dict[str, Any]:
    """schema.org JSON-LD: VideoObject, posts, Claim, ClaimReview and MediaReview nodes.

    A clip with a current verdict that maps to a ``mediaAuthenticityCategory``
    gets a MediaReview; each claim about a clip with a verdict other than
    unverified gets a ClaimReview whose rating is that verdict. vidprov does
    not rate claims one by one: the rating is the desk's verdict on the
    footage the claim is about.
    """
    graph: list[dict[str, Any]] = []
    graph.extend(_video_object(clip) for clip in bundle.clips)
    graph.extend(_posting(item) for item in bundle.appearances)
    for claim in bundle.claims:
        graph.append(_claim_node(bundle, claim))
        sha256 = bundle.claim_clip(claim)
        verdict = bundle.current_verdict(sha256) if sha256 else None
        if verdict is not None and verdict.status is not VerdictStatus.UNVERIFIED:
            graph.append(_claim_review(claim, verdict))
    for clip in bundle.clips:
        verdict = bundle.current_verdict(clip.sha256)
        if verdict is not None and MEDIA_AUTHENTICITY_CATEGORY[verdict.status] is not None:
            graph.append(_media_review(bundle, clip, verdict))
    return {"@context": "https://schema.org", "@graph": graph}


def jsonld_script(bundle: RecordBundle) -> str:
    """:func:`to_jsonld` as a ``<script type="application/ld+json">`` element for a web page.

    Claims are quoted verbatim and may contain ``</script>``; escaping ``<``,
    ``>`` and ``&`` as JSON ``\\u`` escapes keeps the text identical for a
    JSON reader while an HTML parser cannot end the element early.
    """
    text = json.dumps(to_jsonld(bundle), ensure_ascii=False, indent=2)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    # U+2028/U+2029 are legal in JSON but end a line in older JavaScript parsers.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _node_id(kind: str, identity: str) -> str:
    # Blank-node ids: they link nodes inside this document and claim nothing outside it.
    return f"_:{kind}-{identity}"


def _video_object(clip: Clip) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "VideoObject",
        "@id": _node_id("clip", clip.sha256),
        "identifier": {"@type": "PropertyValue", "propertyID": "sha256", "value": clip.sha256},
        "encodingFormat": clip.media_type,
        "contentSize": f"{clip.size} bytes",
    }
    if clip.duration_s is not None:
        # Fixed-point: "%g" would write 1e+06 for a long clip, which ISO 8601 does not allow.
        node["duration"] = "PT" + f"{clip.duration_s:.6f}".rstrip("0").rstrip(".") + "S"
    if clip.source_url:
        node["url"] = clip.source_url
    if clip.archive_urls:
        node["archivedAt"] = list(clip.archive_urls)
    return node


def _posting(item: Appearance) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "SocialMediaPosting" if item.platform in _SOCIAL else
                 "WebPage" if item.platform is Platform.WEB else "CreativeWork",
        "@id": _node_id("appearance", item.id),
    }
    _put(node, "url", item.url)
    _put(node, "headline", item.title)
    _put(node, "text", item.description)
    _put(node, "datePublished", _edtf(item.posted_at))
    _put(node, "identifier", item.post_id)
    author = _agent(item.publisher, item.handle)
    _put(node, "author", author)
    if item.clip_sha256:
        node["sharedContent"] = {"@id": _node_id("clip", item.clip_sha256)}
    if item.relay_of:
        node["isBasedOn"] = {"@id": _node_id("appearance", item.relay_of.appearance_id)}
    if item.archive_urls:
        node["archivedAt"] = list(item.archive_urls)
    return node


def _claim_node(bundle: RecordBundle, claim: Claim) -> dict[str, Any]:
    appearance = bundle.appearance(claim.appearance_id) if claim.appearance_id else None
    node: dict[str, Any] = {"@type": "Claim", "@id": _node_id("claim", claim.id)}
    _put(node, "text", claim.text)
    author = _agent(claim.claimant, None) or (_agent(appearance.publisher, appearance.handle) if appearance else None)
    _put(node, "author", author)
    if claim.appearance_id:
        node["appearance"] = {"@id": _node_id("appearance", claim.appearance_id)}
    sha256 = bundle.claim_clip(claim)
    if sha256:
        node["about"] = {"@id": _node_id("clip", sha256)}
    if claim.date is not None and claim.date.edtf:
        # schema.org temporalCoverage takes ISO 8601 intervals, ".." for an open end.
        node["temporalCoverage"] = claim.date.edtf
    if claim.place is not None:
        node["spatialCoverage"] = _place(claim.place)
    return node


def _claim_review(claim: Claim, verdict: Verdict) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "ClaimReview",
        "@id": _node_id("claim-review", claim.id),
        "itemReviewed": {"@id": _node_id("claim", claim.id)},
        "claimReviewed": claim.text if claim.text else _claim_summary(claim),
        "reviewRating": {"@type": "Rating", "alternateName": VERDICT_LABEL[verdict.status]},
        "author": {"name": verdict.reviewer},
        "datePublished": verdict.decided_at.isoformat(),
    }
    _put(node, "reviewBody", verdict.note)
    return node


def _media_review(bundle: RecordBundle, clip: Clip, verdict: Verdict) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "MediaReview",
        "@id": _node_id("media-review", clip.sha256),
        "itemReviewed": {"@type": "MediaReviewItem", "mediaItemAppearance": [{"@id": _node_id("clip", clip.sha256)}]},
        "mediaAuthenticityCategory": MEDIA_AUTHENTICITY_CATEGORY[verdict.status],
        "author": {"name": verdict.reviewer},
        "datePublished": verdict.decided_at.isoformat(),
    }
    _put(node, "reviewBody", verdict.note)
    evidence = [item.evidence_url for item in bundle.assessments_of(clip.sha256) if item.evidence_url]
    if evidence:
        node["citation"] = evidence
    return node


def _place(place: PlaceClaim) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "Place"}
    _put(node, "name", place.name)
    address: dict[str, Any] = {}
    _put(address, "addressCountry", place.country_code)
    _put(address, "addressRegion", place.subdivision)
    if address:
        node["address"] = {"@type": "PostalAddress", **address}
    if place.point is not None:
        coordinates = {"@type": "GeoCoordinates", "latitude": place.point.lat, "longitude": place.point.lon}
        if place.point.radius_m is None:
            node["geo"] = coordinates
        else:
            node["geo"] = {"@type": "GeoCircle", "geoMidpoint": coordinates, "geoRadius": place.point.radius_m}
    _put(node, "description", place.basis)
    return node


def _agent(name: str | None, handle: str | None) -> dict[str, Any] | None:
    # Whether a publisher is a person or an organisation is often unknown, so no @type.
    if not name and not handle:
        return None
    node: dict[str, Any] = {}
    _put(node, "name", name)
    _put(node, "alternateName", handle)
    return node


def _claim_summary(claim: Claim) -> str:
    parts = []
    if claim.date is not None:
        parts.append(f"filmed {claim.date}")
    if claim.place is not None:
        parts.append(f"filmed at {claim.place}")
    return "; ".join(parts)


def _edtf(value: Timestamp | DateClaim | None) -> str | None:
    return None if value is None else value.edtf


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        node[key] = value


__all__ = ["APPEARANCE_COLUMNS", "CLAIM_COLUMNS", "MEDIA_AUTHENTICITY_CATEGORY", "VERDICT_LABEL",
           "appearances_csv", "claims_csv", "from_json", "jsonld_script", "to_json", "to_jsonld"]
