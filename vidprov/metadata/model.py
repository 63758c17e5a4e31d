"""The value objects a metadata read returns, and their JSON form.

Every normalised value keeps the evidence it came from: the ``source`` (which
reader, which key) and the ``raw`` text exactly as read. A journalist can then
quote the file rather than vidprov's reading of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Mapping, TypeVar

from ..errors import FormatError, ValidationError

SCHEMA_VERSION = 1

T = TypeVar("T")

#: How sure a hint is. "certain": the evidence is written only by that tool
#: (short of deliberate forgery); "likely": it is that tool's default and
#: rarely seen elsewhere; "possible": consistent with it, shared by others.
CONFIDENCES = ("certain", "likely", "possible")

#: What a time stamp claims to be the time of.
TIME_MEANINGS = ("created", "recorded", "digitized", "modified", "muxed", "dated", "gps fix")

#: Content-credential states. "not checked" means the optional reader is not
#: installed: it must never be read as "absent".
CREDENTIAL_STATUSES = ("not checked", "absent", "present", "unreadable")


@dataclass(frozen=True)
class Field(Generic[T]):
    """One normalised value with the key it came from and the raw text read."""

    value: T
    source: str
    raw: str | None = None

    def to_dict(self) -> dict[str, Any]:
        value: Any = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": value, "source": self.source, "raw": self.raw}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Field[Any]:
        value: Any = data["value"]
        return Field(tuple(value) if isinstance(value, list) else value, data["source"], data.get("raw"))


def _field_or_none(data: Any) -> Field[Any] | None:
    return Field.from_dict(data) if data is not None else None


def _dict_or_none(item: Field[Any] | None) -> dict[str, Any] | None:
    return item.to_dict() if item is not None else None


@dataclass(frozen=True)
class Problem:
    """A value that was kept raw because it could not be read as what it claims to be."""

    code: str
    source: str
    message: str
    raw: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "source": self.source, "message": self.message, "raw": self.raw}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        return cls(data["code"], data["source"], data["message"], data.get("raw"))


@dataclass(frozen=True)
class FormatInfo:
    container: Field[str]
    size: Field[int]
    sha256: Field[str]
    major_brand: Field[str] | None = None
    compatible_brands: Field[tuple[str, ...]] | None = None
    duration: Field[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: _dict_or_none(getattr(self, name)) for name in _FORMAT_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FormatInfo:
        return cls(**{name: _field_or_none(data.get(name)) for name in _FORMAT_FIELDS})  # type: ignore[arg-type]


_FORMAT_FIELDS = ("container", "major_brand", "compatible_brands", "duration", "size", "sha256")


@dataclass(frozen=True)
class StreamInfo:
    """One track. ``rotation`` is clockwise degrees to turn the picture for display."""

    index: int
    kind: str
    codec: Field[str] | None = None
    profile: Field[str] | None = None
    width: Field[int] | None = None
    height: Field[int] | None = None
    frame_rate: Field[float] | None = None
    rotation: Field[int] | None = None
    bit_rate: Field[int] | None = None
    channels: Field[int] | None = None
    sample_rate: Field[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "kind": self.kind}
        out.update({name: _dict_or_none(getattr(self, name)) for name in _STREAM_FIELDS})
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamInfo:
        values = {name: _field_or_none(data.get(name)) for name in _STREAM_FIELDS}
        return cls(int(data["index"]), data["kind"], **values)


_STREAM_FIELDS = ("codec", "profile", "width", "height", "frame_rate", "rotation", "bit_rate",
                  "channels", "sample_rate")


@dataclass(frozen=True)
class TimeStamp:
    """A date or time the file states, with whether its time zone is known.

    ``value`` is time-zone aware exactly when ``zone_known``; otherwise it is
    the wall-clock reading as written, in an unknown zone. ``precision`` is
    "year", "month", "day", "minute" or "second": "2021" in a ``©day`` tag is
    a year, not 1 January.
    """

    meaning: str
    scope: str
    source: str
    raw: str
    value: datetime
    zone_known: bool
    precision: str = "second"
    zone_source: str | None = None
    zone_raw: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.meaning not in TIME_MEANINGS:
            raise ValidationError("meaning", self.meaning, ", ".join(TIME_MEANINGS))
        if self.zone_known != (self.value.tzinfo is not None):
            raise ValidationError("zone_known", self.zone_known,
                                  "true exactly when the value carries a UTC offset")

    def to_dict(self) -> dict[str, Any]:
        return {"meaning": self.meaning, "scope": self.scope, "value": self.value.isoformat(),
                "zone_known": self.zone_known, "precision": self.precision,
                "source": self.source, "raw": self.raw,
                "zone_source": self.zone_source, "zone_raw": self.zone_raw, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeStamp:
        return cls(data["meaning"], data["scope"], data["source"], data["raw"],
                   datetime.fromisoformat(data["value"]), bool(data["zone_known"]),
                   data.get("precision", "second"), data.get("zone_source"), data.get("zone_raw"),
                   data.get("note"))


@dataclass(frozen=True)
class Location:
    """A point the file states (WGS 84 unless ``crs`` says otherwise)."""

    source: str
    raw: str
    latitude: float
    longitude: float
    altitude: float | None = None
    crs: str | None = None
    place: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude, "altitude": self.altitude,
                "crs": self.crs, "place": self.place, "source": self.source, "raw": self.raw}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Location:
        return cls(data["source"], data["raw"], float(data["latitude"]), float(data["longitude"]),
                   data.get("altitude"), data.get("crs"), data.get("place"))


@dataclass(frozen=True)
class Device:
    """Every make, model and software string found; disagreeing ones are all kept."""

    make: tuple[Field[str], ...] = ()
    model: tuple[Field[str], ...] = ()
    software: tuple[Field[str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {name: [item.to_dict() for item in getattr(self, name)]
                for name in ("make", "model", "software")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Device:
        return cls(*(tuple(Field.from_dict(item) for item in data.get(name, ()))
                     for name in ("make", "model", "software")))


@dataclass(frozen=True)
class Hint:
    """A tool or platform the file has passed through, and the evidence for it."""

    kind: str
    name: str
    confidence: str
    source: str
    raw: str
    reason: str

    def __post_init__(self) -> None:
        if self.confidence not in CONFIDENCES:
            raise ValidationError("confidence", self.confidence, ", ".join(CONFIDENCES))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "confidence": self.confidence,
                "source": self.source, "raw": self.raw, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hint:
        return cls(data["kind"], data["name"], data["confidence"], data["source"], data["raw"],
                   data["reason"])


@dataclass(frozen=True)
class ContentCredentials:
    """C2PA content credentials as the optional ``c2pa-python`` reader sees them."""

    status: str
    validation_state: str | None = None
    signer: str | None = None
    actions: tuple[str, ...] = ()
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.status not in CREDENTIAL_STATUSES:
            raise ValidationError("status", self.status, ", ".join(CREDENTIAL_STATUSES))

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "validation_state": self.validation_state,
                "signer": self.signer, "actions": list(self.actions), "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContentCredentials:
        return cls(data["status"], data.get("validation_state"), data.get("signer"),
                   tuple(data.get("actions", ())), data.get("detail"))


@dataclass(frozen=True)
class RawTags:
    """Every tag exactly as read, grouped by where it was found.

    Groups are named "format" (container), "stream N", "bmff" (boxes vidprov
    reads itself), "exif" and "image". ``reader`` names the libraries and
    their versions, since what a key is called depends on them.
    """

    reader: str
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def group(self, name: str) -> dict[str, str]:
        for group_name, tags in self.groups:
            if group_name == name:
                return dict(tags)
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"reader": self.reader, "groups": {name: dict(tags) for name, tags in self.groups}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RawTags:
        groups = tuple((name, tuple(tags.items())) for name, tags in data.get("groups", {}).items())
        return cls(data["reader"], groups)


@dataclass(frozen=True)
class MediaMetadata:
    """What one file says about itself, normalised, with the raw tags kept."""

    path: str
    kind: str
    format: FormatInfo
    raw: RawTags
    streams: tuple[StreamInfo, ...] = ()
    times: tuple[TimeStamp, ...] = ()
    locations: tuple[Location, ...] = ()
    device: Device = field(default_factory=Device)
    hints: tuple[Hint, ...] = ()
    credentials: ContentCredentials = field(default_factory=lambda: ContentCredentials("not checked"))
    problems: tuple[Problem, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def to_dict(self, raw: bool = True) -> dict[str, Any]:
        """The JSON form; ``raw=False`` leaves out the full tag dump (evidence stays)."""
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "path": self.path,
            "kind": self.kind,
            "format": self.format.to_dict(),
            "streams": [stream.to_dict() for stream in self.streams],
            "times": [time.to_dict() for time in self.times],
            "locations": [location.to_dict() for location in self.locations],
            "device": self.device.to_dict(),
            "hints": [hint.to_dict() for hint in self.hints],
            "credentials": self.credentials.to_dict(),
            "problems": [problem.to_dict() for problem in self.problems],
        }
        if raw:
            out["raw"] = self.raw.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaMetadata:
        """Parse :meth:`to_dict` output back; a record without ``raw`` gets an empty one."""
        try:
            version = int(data.get("schema_version", 0))
            if version > SCHEMA_VERSION:
                raise ValidationError("schema_version", version,
                                      f"{SCHEMA_VERSION} or older (this vidprov is too old to read it)")
            raw = data.get("raw")
            return cls(
                path=data["path"],
                kind=data["kind"],
                format=FormatInfo.from_dict(data["format"]),
                raw=RawTags.from_dict(raw) if raw is not None else RawTags("not kept"),
                streams=tuple(StreamInfo.from_dict(item) for item in data.get("streams", ())),
                times=tuple(TimeStamp.from_dict(item) for item in data.get("times", ())),
                locations=tuple(Location.from_dict(item) for item in data.get("locations", ())),
                device=Device.from_dict(data.get("device", {})),
                hints=tuple(Hint.from_dict(item) for item in data.get("hints", ())),
                credentials=ContentCredentials.from_dict(data.get("credentials", {"status": "not checked"})),
                problems=tuple(Problem.from_dict(item) for item in data.get("problems", ())),
                schema_version=version,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, ValidationError):
                raise
            raise FormatError(f"metadata record is malformed ({type(error).__name__}: {error})") from error
