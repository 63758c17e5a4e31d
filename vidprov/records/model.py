"""The provenance records: clips, appearances, claims, assessments and verdicts.

Two kinds of statement are kept apart on purpose. A :class:`Claim` is what
someone *asserts* about footage (a caption, a channel's description, a
source on the phone); it is recorded verbatim and judged later. An
:class:`Assessment` is what an analyst or team *established* (a geolocation,
a chronolocation, a source check), always about an explicit list of clips.
A :class:`Verdict` is the desk's current status for one clip.

Every record is a frozen dataclass checked when built; ``to_dict()`` gives
its stable, versioned JSON form and ``from_dict()`` reads it back exactly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import ValidationError
from ._fields import (
    check_aware_datetime,
    check_enum,
    check_number,
    check_optional,
    check_optional_text,
    check_record_id,
    check_sha256,
    check_sha256_tuple,
    check_text,
    check_url,
    check_url_tuple,
    new_record_id,
)
from ._serial import DictReader, envelope, format_datetime, nested_dict
from .dates import DateClaim, Timestamp
from .places import PlaceClaim

_MEDIA_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")


class Platform(str, enum.Enum):
    X = "x"
    TELEGRAM = "telegram"
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    WEB = "web"
    OTHER = "other"


class RelayKind(str, enum.Enum):
    QUOTE = "quote"  # re-posted with the publisher's own words added
    RELAY = "relay"  # forwarded or re-posted as is


class AssessmentKind(str, enum.Enum):
    GEOLOCATION = "geolocation"
    CHRONOLOCATION = "chronolocation"
    SOURCE_CHECK = "source_check"
    OTHER = "other"


class VerdictStatus(str, enum.Enum):
    UNVERIFIED = "unverified"  # not yet established either way
    VERIFIED = "verified"  # authentic, and shows what it is said to show
    DISPUTED = "disputed"  # credible evidence points both ways
    FALSE = "false"  # fabricated or manipulated footage
    MISATTRIBUTED = "misattributed"  # authentic footage, wrong place, event or people
    RECYCLED = "recycled"  # authentic older footage presented as new


# ------------------------------------------------------------------- Clip


@dataclass(frozen=True, kw_only=True)
class Clip:
    """The exact bytes of a video file and how the desk came to have them."""

    sha256: str
    size: int
    media_type: str
    duration_s: float | None = None
    source_url: str | None = None
    archive_urls: tuple[str, ...] = ()
    captured_at: datetime | None = None
    captured_by: str | None = None
    fingerprint_ref: str | None = None
    metadata_ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", check_sha256("clip.sha256", self.sha256))
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValidationError("clip.size", self.size, "a whole number of bytes, at least 1")
        object.__setattr__(self, "media_type", _check_media_type(self.media_type))
        object.__setattr__(self, "duration_s", check_number("clip.duration_s", self.duration_s, minimum=0,
                                                             required=False))
        check_url("clip.source_url", self.source_url)
        object.__setattr__(self, "archive_urls", check_url_tuple("clip.archive_urls", self.archive_urls))
        check_aware_datetime("clip.captured_at", self.captured_at, required=False)
        check_optional_text("clip.captured_by", self.captured_by)
        # The fingerprint and metadata records live elsewhere; an id or a digest both fit.
        check_record_id("clip.fingerprint_ref", self.fingerprint_ref, required=False)
        check_record_id("clip.metadata_ref", self.metadata_ref, required=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("clip"),
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "duration_s": self.duration_s,
            "source_url": self.source_url,
            "archive_urls": list(self.archive_urls),
            "captured_at": format_datetime(self.captured_at),
            "captured_by": self.captured_by,
            "fingerprint_ref": self.fingerprint_ref,
            "metadata_ref": self.metadata_ref,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "clip") -> Clip:
        reader = DictReader(data, where, record_type="clip")
        clip = cls(
            sha256=reader.value("sha256", str),
            size=reader.value("size", int),
            media_type=reader.value("media_type", str),
            duration_s=reader.optional("duration_s", float),
            source_url=reader.optional("source_url", str),
            archive_urls=reader.strings("archive_urls"),
            captured_at=reader.datetime("captured_at", optional=True),
            captured_by=reader.optional("captured_by", str),
            fingerprint_ref=reader.optional("fingerprint_ref", str),
            metadata_ref=reader.optional("metadata_ref", str),
        )
        reader.finish()
        return clip


def _check_media_type(value: Any) -> str:
    allowed = "a media type such as 'video/mp4'"
    if isinstance(value, str):
        lowered = value.lower()
        kind, slash, subtype = lowered.partition("/")
        if slash and kind and subtype and set(kind) <= _MEDIA_TYPE_CHARS and set(subtype) <= _MEDIA_TYPE_CHARS:
            return lowered
    raise ValidationError("clip.media_type", value, allowed)


# ------------------------------------------------------------- Appearance


@dataclass(frozen=True, kw_only=True)
class Relay:
    """That an appearance quotes or relays another appearance."""

    kind: RelayKind
    appearance_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", check_enum("relay_of.kind", RelayKind, self.kind))
        check_record_id("relay_of.appearance_id", self.appearance_id)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "appearance_id": self.appearance_id}

    @classmethod
    def from_dict(cls, data: Any, where: str = "relay_of") -> Relay:
        reader = DictReader(data, where)
        relay = cls(kind=reader.value("kind", str), appearance_id=reader.value("appearance_id", str))  # type: ignore[arg-type]
        reader.finish()
        return relay


@dataclass(frozen=True, kw_only=True)
class Appearance:
    """One place where footage was published.

    ``clip_sha256`` names the clip whose footage this appearance shows (the
    one captured from it, or matched to it); it may be unknown when the
    appearance is recorded before the footage is captured.
    """

    id: str = field(default_factory=new_record_id)
    platform: Platform
    url: str | None = None
    clip_sha256: str | None = None
    publisher: str | None = None
    handle: str | None = None
    post_id: str | None = None
    posted_at: Timestamp | None = None
    title: str | None = None
    description: str | None = None
    archive_urls: tuple[str, ...] = ()
    relay_of: Relay | None = None

    def __post_init__(self) -> None:
        check_record_id("appearance.id", self.id)
        object.__setattr__(self, "platform", check_enum("appearance.platform", Platform, self.platform))
        check_url("appearance.url", self.url)
        object.__setattr__(self, "clip_sha256", check_sha256("appearance.clip_sha256", self.clip_sha256,
                                                              required=False))
        check_optional_text("appearance.publisher", self.publisher)
        check_optional_text("appearance.handle", self.handle)
        check_optional_text("appearance.post_id", self.post_id)
        check_optional("appearance.posted_at", self.posted_at, Timestamp)
        check_text("appearance.title", self.title)
        check_text("appearance.description", self.description)
        object.__setattr__(self, "archive_urls", check_url_tuple("appearance.archive_urls", self.archive_urls))
        if self.relay_of is not None:
            if not isinstance(self.relay_of, Relay):
                raise ValidationError("appearance.relay_of", self.relay_of, "a Relay or None")
            if self.relay_of.appearance_id == self.id:
                raise ValidationError("appearance.relay_of", self.id, "another appearance's id, not its own")

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("appearance"),
            "id": self.id,
            "platform": self.platform.value,
            "url": self.url,
            "clip_sha256": self.clip_sha256,
            "publisher": self.publisher,
            "handle": self.handle,
            "post_id": self.post_id,
            "posted_at": nested_dict(self.posted_at),
            "title": self.title,
            "description": self.description,
            "archive_urls": list(self.archive_urls),
            "relay_of": nested_dict(self.relay_of),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "appearance") -> Appearance:
        reader = DictReader(data, where, record_type="appearance")
        appearance = cls(
            id=reader.value("id", str),
            platform=reader.value("platform", str),  # type: ignore[arg-type]
            url=reader.optional("url", str),
            clip_sha256=reader.optional("clip_sha256", str),
            publisher=reader.optional("publisher", str),
            handle=reader.optional("handle", str),
            post_id=reader.optional("post_id", str),
            posted_at=reader.nested("posted_at", Timestamp.from_dict, optional=True),
            title=reader.optional("title", str),
            description=reader.optional("description", str),
            archive_urls=reader.strings("archive_urls"),
            relay_of=reader.nested("relay_of", Relay.from_dict, optional=True),
        )
        reader.finish()
        return appearance


# ------------------------------------------------------------------ Claim


@dataclass(frozen=True, kw_only=True)
class Claim:
    """Who asserts what about footage, and where they asserted it.

    ``appearance_id`` is the appearance the claim was read in; a claim made
    elsewhere (to the desk directly, say) names the clip instead. ``claimant``
    None means the appearance's publisher. ``text`` is kept verbatim.
    """

    id: str = field(default_factory=new_record_id)
    appearance_id: str | None = None
    clip_sha256: str | None = None
    claimant: str | None = None
    text: str | None = None
    date: DateClaim | None = None
    place: PlaceClaim | None = None

    def __post_init__(self) -> None:
        check_record_id("claim.id", self.id)
        check_record_id("claim.appearance_id", self.appearance_id, required=False)
        object.__setattr__(self, "clip_sha256", check_sha256("claim.clip_sha256", self.clip_sha256,
                                                              required=False))
        if self.appearance_id is None and self.clip_sha256 is None:
            raise ValidationError("claim.appearance_id", None,
                                  "the appearance the claim was made in, or else the clip it is about")
        check_optional_text("claim.claimant", self.claimant)
        check_text("claim.text", self.text)
        check_optional("claim.date", self.date, DateClaim)
        check_optional("claim.place", self.place, PlaceClaim)
        if not ((self.text and self.text.strip()) or self.date or self.place):
            raise ValidationError("claim.text", self.text, "claim text, a date or a place (at least one)")
        if self.date is not None and self.date.derivation is not None and self.appearance_id is None:
            raise ValidationError("claim.appearance_id", None,
                                  f"the appearance whose posted_at anchors {self.date.derivation.text!r}")

    @property
    def derived_from_posting(self) -> bool:
        """Whether the date was derived from the appearance's posted_at (max-age)."""
        return self.date is not None and self.date.derivation is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("claim"),
            "id": self.id,
            "appearance_id": self.appearance_id,
            "clip_sha256": self.clip_sha256,
            "claimant": self.claimant,
            "text": self.text,
            "date": nested_dict(self.date),
            "place": nested_dict(self.place),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "claim") -> Claim:
        reader = DictReader(data, where, record_type="claim")
        claim = cls(
            id=reader.value("id", str),
            appearance_id=reader.optional("appearance_id", str),
            clip_sha256=reader.optional("clip_sha256", str),
            claimant=reader.optional("claimant", str),
            text=reader.optional("text", str),
            date=reader.nested("date", DateClaim.from_dict, optional=True),
            place=reader.nested("place", PlaceClaim.from_dict, optional=True),
        )
        reader.finish()
        return claim


# ------------------------------------------------------------- Assessment


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What an analyst or team established, and exactly which clips it covers.

    ``clip_sha256s`` is the explicit list: a geolocation made of earlier
    copies does not cover a new clip until someone adds it, which keeps
    "geolocated" from spreading to footage nobody looked at.
    """

    id: str = field(default_factory=new_record_id)
    kind: AssessmentKind
    clip_sha256s: tuple[str, ...]
    made_by: str
    made_at: datetime
    result: str
    evidence_url: str | None = None
    place: PlaceClaim | None = None
    date: DateClaim | None = None

    def __post_init__(self) -> None:
        check_record_id("assessment.id", self.id)
        object.__setattr__(self, "kind", check_enum("assessment.kind", AssessmentKind, self.kind))
        object.__setattr__(self, "clip_sha256s", check_sha256_tuple("assessment.clip_sha256s",
                                                                    self.clip_sha256s, non_empty=True))
        check_text("assessment.made_by", self.made_by, required=True)
        check_aware_datetime("assessment.made_at", self.made_at)
        check_text("assessment.result", self.result, required=True)
        check_url("assessment.evidence_url", self.evidence_url)
        check_optional("assessment.place", self.place, PlaceClaim)
        check_optional("assessment.date", self.date, DateClaim)

    def applies_to(self, clip_sha256: str) -> bool:
        """Whether this assessment was made about that exact clip."""
        try:
            return check_sha256("clip_sha256", clip_sha256) in self.clip_sha256s
        except ValidationError:
            return False

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("assessment"),
            "id": self.id,
            "kind": self.kind.value,
            "clip_sha256s": list(self.clip_sha256s),
            "made_by": self.made_by,
            "made_at": format_datetime(self.made_at),
            "result": self.result,
            "evidence_url": self.evidence_url,
            "place": nested_dict(self.place),
            "date": nested_dict(self.date),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "assessment") -> Assessment:
        reader = DictReader(data, where, record_type="assessment")
        assessment = cls(
            id=reader.value("id", str),
            kind=reader.value("kind", str),  # type: ignore[arg-type]
            clip_sha256s=reader.strings("clip_sha256s"),
            made_by=reader.value("made_by", str),
            made_at=reader.datetime("made_at"),  # type: ignore[arg-type]
            result=reader.value("result", str),
            evidence_url=reader.optional("evidence_url", str),
            place=reader.nested("place", PlaceClaim.from_dict, optional=True),
            date=reader.nested("date", DateClaim.from_dict, optional=True),
        )
        reader.finish()
        return assessment


# ---------------------------------------------------------------- Verdict


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The desk's status for one clip at one time; the latest one is current."""

    id: str = field(default_factory=new_record_id)
    clip_sha256: str
    status: VerdictStatus
    reviewer: str
    decided_at: datetime
    note: str | None = None

    def __post_init__(self) -> None:
        check_record_id("verdict.id", self.id)
        object.__setattr__(self, "clip_sha256", check_sha256("verdict.clip_sha256", self.clip_sha256))
        object.__setattr__(self, "status", check_enum("verdict.status", VerdictStatus, self.status))
        check_text("verdict.reviewer", self.reviewer, required=True)
        check_aware_datetime("verdict.decided_at", self.decided_at)
        check_text("verdict.note", self.note)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("verdict"),
            "id": self.id,
            "clip_sha256": self.clip_sha256,
            "status": self.status.value,
            "reviewer": self.reviewer,
            "decided_at": format_datetime(self.decided_at),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "verdict") -> Verdict:
        reader = DictReader(data, where, record_type="verdict")
        verdict = cls(
            id=reader.value("id", str),
            clip_sha256=reader.value("clip_sha256", str),
            status=reader.value("status", str),  # type: ignore[arg-type]
            reviewer=reader.value("reviewer", str),
            decided_at=reader.datetime("decided_at"),  # type: ignore[arg-type]
            note=reader.optional("note", str),
        )
        reader.finish()
        return verdict


__all__ = ["Appearance", "Assessment", "AssessmentKind", "Claim", "Clip", "Platform", "Relay", "RelayKind",
           "Verdict", "VerdictStatus"]
