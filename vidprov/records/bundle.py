"""A bundle: every record about one or more clips, as exports take them.

A bundle does not require every reference to resolve inside it: an
appearance may relay one that belongs to another clip's bundle, and an
assessment may cover clips that were left out. :meth:`RecordBundle.dangling`
lists such references for whoever wants them complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Union

from ..errors import ValidationError
from ._fields import check_sha256
from ._serial import DictReader, envelope
from .model import Appearance, Assessment, Claim, Clip, Verdict


@dataclass(frozen=True, kw_only=True)
class RecordBundle:
    clips: tuple[Clip, ...] = ()
    appearances: tuple[Appearance, ...] = ()
    claims: tuple[Claim, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    verdicts: tuple[Verdict, ...] = ()

    def __post_init__(self) -> None:
        for name, record_type, key in (("clips", Clip, "sha256"), ("appearances", Appearance, "id"),
                                       ("claims", Claim, "id"), ("assessments", Assessment, "id"),
                                       ("verdicts", Verdict, "id")):
            records = getattr(self, name)
            if isinstance(records, (str, bytes, dict)) or not isinstance(records, Iterable):
                raise ValidationError(f"bundle.{name}", records, f"a tuple of {record_type.__name__} records")
            records = tuple(records)
            seen: set[str] = set()
            for record in records:
                if not isinstance(record, record_type):
                    raise ValidationError(f"bundle.{name}", record, f"{record_type.__name__} records only")
                identity = getattr(record, key)
                if identity in seen:
                    raise ValidationError(f"bundle.{name}", identity, f"each {key} once (this one is repeated)")
                seen.add(identity)
            object.__setattr__(self, name, records)

    # ------------------------------------------------------------ lookups

    def clip(self, sha256: str) -> Clip | None:
        sha256 = check_sha256("clip_sha256", sha256)  # type: ignore[assignment]
        return next((clip for clip in self.clips if clip.sha256 == sha256), None)

    def appearance(self, appearance_id: str) -> Appearance | None:
        return next((item for item in self.appearances if item.id == appearance_id), None)

    def appearances_of(self, sha256: str) -> tuple[Appearance, ...]:
        sha256 = check_sha256("clip_sha256", sha256)  # type: ignore[assignment]
        return tuple(item for item in self.appearances if item.clip_sha256 == sha256)

    def claim_clip(self, claim: Claim) -> str | None:
        """The clip a claim is about: its own, or that of the appearance it was made in."""
        if claim.clip_sha256 is not None:
            return claim.clip_sha256
        appearance = self.appearance(claim.appearance_id) if claim.appearance_id else None
        return appearance.clip_sha256 if appearance else None

    def claims_about(self, sha256: str) -> tuple[Claim, ...]:
        sha256 = check_sha256("clip_sha256", sha256)  # type: ignore[assignment]
        return tuple(claim for claim in self.claims if self.claim_clip(claim) == sha256)

    def assessments_of(self, sha256: str) -> tuple[Assessment, ...]:
        return tuple(item for item in self.assessments if item.applies_to(sha256))

    def current_verdict(self, sha256: str) -> Verdict | None:
        """The latest verdict on the clip (by ``decided_at``), if any."""
        sha256 = check_sha256("clip_sha256", sha256)  # type: ignore[assignment]
        verdicts = [verdict for verdict in self.verdicts if verdict.clip_sha256 == sha256]
        return max(verdicts, key=lambda verdict: verdict.decided_at) if verdicts else None

    def dangling(self) -> tuple[str, ...]:
        """References to clips or appearances that are not in the bundle, one line each."""
        clips = {clip.sha256 for clip in self.clips}
        appearances = {item.id for item in self.appearances}
        found: list[str] = []

        def need(owner: str, kind: str, reference: str | None, known: set[str]) -> None:
            if reference is not None and reference not in known:
                found.append(f"{owner} refers to {kind} {reference}, which is not in the bundle")

        for item in self.appearances:
            need(f"appearance {item.id}", "clip", item.clip_sha256, clips)
            need(f"appearance {item.id}", "appearance", item.relay_of.appearance_id if item.relay_of else None,
                 appearances)
        for claim in self.claims:
            need(f"claim {claim.id}", "appearance", claim.appearance_id, appearances)
            need(f"claim {claim.id}", "clip", claim.clip_sha256, clips)
        for assessment in self.assessments:
            for sha256 in assessment.clip_sha256s:
                need(f"assessment {assessment.id}", "clip", sha256, clips)
        for verdict in self.verdicts:
            need(f"verdict {verdict.id}", "clip", verdict.clip_sha256, clips)
        return tuple(found)

    # ------------------------------------------------------- dict form

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("bundle"),
            "clips": [clip.to_dict() for clip in self.clips],
            "appearances": [item.to_dict() for item in self.appearances],
            "claims": [claim.to_dict() for claim in self.claims],
            "assessments": [item.to_dict() for item in self.assessments],
            "verdicts": [verdict.to_dict() for verdict in self.verdicts],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "bundle") -> RecordBundle:
        reader = DictReader(data, where, record_type="bundle")
        bundle = cls(
            clips=reader.objects("clips", Clip.from_dict),
            appearances=reader.objects("appearances", Appearance.from_dict),
            claims=reader.objects("claims", Claim.from_dict),
            assessments=reader.objects("assessments", Assessment.from_dict),
            verdicts=reader.objects("verdicts", Verdict.from_dict),
        )
        reader.finish()
        return bundle


RECORD_TYPES: dict[str, Any] = {"clip": Clip, "appearance": Appearance, "claim": Claim,
                                "assessment": Assessment, "verdict": Verdict, "bundle": RecordBundle}

Record = Union[Clip, Appearance, Claim, Assessment, Verdict, RecordBundle]


def record_from_dict(data: Any, where: str = "record") -> Record:
    """Read any record's dict form, choosing the class by its ``"type"`` key.

    For storage that keeps every record as one JSON document and reads it
    back without knowing beforehand what it holds.
    """
    reader = DictReader(data, where)
    record_type = reader.value("type", str)
    if record_type not in RECORD_TYPES:
        reader.fail(f"unknown record type {record_type!r}; expected one of: {', '.join(RECORD_TYPES)}", "type")
    record: Record = RECORD_TYPES[record_type].from_dict(data, where)
    return record


__all__ = ["RECORD_TYPES", "Record", "RecordBundle", "record_from_dict"]
