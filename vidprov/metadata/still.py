"""Still images: EXIF through exifread, the rest through Pillow (and pillow-heif).

Pillow is used only lazily: ``Image.open`` reads the header, never the pixels.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any, BinaryIO

from . import bmff
from .collect import Collector
from .model import Field, FormatInfo, StreamInfo
from .text import clean

#: Signature bytes of each still format; HEIF brands are checked apart.
_HEIF_BRANDS = {b"heic": "heic", b"heix": "heic", b"heim": "heic", b"heis": "heic", b"hevc": "heic",
                b"hevx": "heic", b"mif1": "heic", b"msf1": "heic", b"avif": "avif", b"avis": "avif"}

#: EXIF Orientation to clockwise display rotation; mirrored orientations
#: (2, 4, 5, 7) also flip, which the rotation alone does not say.
_ORIENTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}

_EXIF_TIMES = (
    ("EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal", "recorded"),
    ("EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized", "digitized"),
    ("Image DateTime", "EXIF OffsetTime", "modified"),
)


def sniff(head: bytes) -> str | None:
    """The still format a file's first bytes announce, or None for anything else."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12])
    return None


def reader_version() -> str:
    import exifread
    import PIL

    try:
        import pillow_heif

        heif = f" / pillow-heif {pillow_heif.__version__}"
    except ImportError:  # pragma: no cover - a declared dependency
        heif = ""
    return f"exifread {exifread.__version__} / Pillow {PIL.__version__}{heif}"


class _Quiet(logging.Filter):
    """Keeps exifread's "no EXIF found" chatter off the user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _exif(handle: BinaryIO) -> tuple[dict[str, Any], str | None]:
    """exifread's tags, or none and the reason it failed."""
    import exifread

    logger = logging.getLogger("exifread")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        handle.seek(0)
        tags = exifread.process_file(handle, details=False, extract_thumbnail=False, truncate_tags=False)
        return dict(tags), None
    # exifread raises assorted exceptions (even AssertionError) on damaged
    # EXIF; the file is still worth describing, so the damage becomes a
    # problem instead of a crash.
    except Exception as error:  # noqa: BLE001
        return {}, f"exifread failed: {type(error).__name__}: {error}"
    finally:
        logger.removeFilter(quiet)


def _exif_with_fallback(handle: BinaryIO, info: dict[str, Any], collector: Collector) -> dict[str, Any]:
    tags, failure = _exif(handle)
    blob = info.get("exif")
    if not tags and isinstance(blob, bytes) and blob:
        # exifread cannot find the EXIF item in every HEIF layout; Pillow can.
        # The item is a TIFF stream after an optional "Exif" header.
        start = blob.find(b"MM\x00*") if b"MM\x00*" in blob[:16] else blob.find(b"II*\x00")
        if 0 <= start < 16:
            tags, failure = _exif(io.BytesIO(blob[start:]))
    if failure is not None:
        collector.problem("unreadable_exif", "exif", failure)
    return tags


def _image(handle: BinaryIO, kind: str, collector: Collector) -> tuple[str | None, tuple[int, int] | None,
                                                                        dict[str, Any]]:
    from PIL import Image

    if kind in ("heic", "avif"):
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # pragma: no cover - a declared dependency
            pass
    handle.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(handle) as image:
                return image.format, image.size, {str(key): value for key, value in image.info.items()}
    # Same reasoning as for exifread: report, do not crash.
    except Exception as error:  # noqa: BLE001
        collector.problem("unreadable_image", "image", f"Pillow failed: {type(error).__name__}: {error}")
        return None, None, {}


def _printable_tag(tag: Any) -> str:
    return clean(tag.printable if hasattr(tag, "printable") else str(tag))


def _info_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return clean(str(value))


def read_still(handle: BinaryIO, path: str, size: int, digest: str, kind: str,
               collector: Collector) -> tuple[FormatInfo, tuple[StreamInfo, ...],
                                              tuple[tuple[str, tuple[tuple[str, str], ...]], ...],
                                              bmff.BmffFacts | None]:
    facts = bmff.scan(handle, size) if kind in ("heic", "avif") else None
    image_format, dimensions, info = _image(handle, kind, collector)
    exif = _exif_with_fallback(handle, info, collector)

    exif_raw = tuple((clean(key), _printable_tag(tag)) for key, tag in exif.items())
    info_raw = tuple((clean(str(key)), _info_value(value)) for key, value in info.items())
    groups: list[tuple[str, tuple[tuple[str, str], ...]]] = [("exif", exif_raw), ("image", info_raw)]

    format_info = FormatInfo(
        container=Field(kind, "signature", None),
        size=Field(size, "file"),
        sha256=Field(digest, "file"),
        major_brand=Field(facts.major_brand, "bmff:ftyp", facts.major_brand)
        if facts is not None and facts.major_brand else None,
        compatible_brands=Field(facts.compatible_brands, "bmff:ftyp", " ".join(facts.compatible_brands))
        if facts is not None and facts.compatible_brands else None,
    )
    rotation = None
    orientation = exif.get("Image Orientation")
    heif_orientation = info.get("original_orientation")
    if isinstance(heif_orientation, int) and heif_orientation in _ORIENTATION:
        # HEIF rotates with irot/imir item properties, which override EXIF;
        # pillow-heif reports them as the orientation it undid.
        rotation = Field(_ORIENTATION[heif_orientation], "image:original_orientation", str(heif_orientation))
    elif orientation is not None:
        value = _first_int(orientation)
        if value in _ORIENTATION:
            rotation = Field(_ORIENTATION[value], "exif:Image Orientation", _printable_tag(orientation))
        else:
            collector.problem("unparseable_orientation", "exif:Image Orientation",
                              "EXIF orientation must be 1 to 8", _printable_tag(orientation))
    stream = StreamInfo(
        0, "image",
        codec=Field(image_format.lower(), "image:format", image_format) if image_format else None,
        width=Field(dimensions[0], "image:size", f"{dimensions[0]}x{dimensions[1]}") if dimensions else None,
        height=Field(dimensions[1], "image:size", f"{dimensions[0]}x{dimensions[1]}") if dimensions else None,
        rotation=rotation,
    )
    _collect_exif(exif, collector)
    _collect_info(info_raw, collector)
    return format_info, (stream,), tuple(groups), facts


def _first_int(tag: Any) -> int | None:
    values = getattr(tag, "values", None)
    try:
        return int(values[0]) if values else None
    except (TypeError, ValueError, IndexError):
        return None


def _collect_exif(exif: dict[str, Any], collector: Collector) -> None:
    for key, part in (("Image Make", "make"), ("Image Model", "model"), ("Image Software", "software")):
        if key in exif:
            collector.device(part, f"exif:{key}", _printable_tag(exif[key]))
    for key, offset_key, meaning in _EXIF_TIMES:
        if key not in exif:
            continue
        offset = _printable_tag(exif[offset_key]).strip() if offset_key in exif else None
        collector.time(meaning, "image", f"exif:{key}", _printable_tag(exif[key]),
                       offset=offset or None, offset_source=f"exif:{offset_key}" if offset else None)
    _collect_gps_time(exif, collector)
    _collect_gps_point(exif, collector)


def _collect_gps_time(exif: dict[str, Any], collector: Collector) -> None:
    date, stamp = exif.get("GPS GPSDate"), exif.get("GPS GPSTimeStamp")
    if date is None or stamp is None:
        return
    raw = f"{_printable_tag(date)} {_printable_tag(stamp)}"
    try:
        hours, minutes, seconds = (float(value) for value in stamp.values)
        text = f"{_printable_tag(date).strip()} {int(hours):02d}:{int(minutes):02d}:{int(seconds):02d}Z"
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        collector.problem("unparseable_date", "exif:GPS GPSTimeStamp", "GPS time is not three numbers", raw)
        return
    collector.time("gps fix", "gps", "exif:GPS GPSDate + GPS GPSTimeStamp", raw, text=text,
                   note="EXIF GPS time is UTC by specification")


def _degrees(tag: Any) -> float:
    values = [float(value) for value in tag.values]
    if not 1 <= len(values) <= 3:
        raise ValueError("expected degrees, minutes and seconds")
    values += [0.0] * (3 - len(values))
    return values[0] + values[1] / 60 + values[2] / 3600


def _collect_gps_point(exif: dict[str, Any], collector: Collector) -> None:
    latitude, longitude = exif.get("GPS GPSLatitude"), exif.get("GPS GPSLongitude")
    if latitude is None or longitude is None:
        return
    lat_ref = _printable_tag(exif.get("GPS GPSLatitudeRef", "")).strip().upper()
    lon_ref = _printable_tag(exif.get("GPS GPSLongitudeRef", "")).strip().upper()
    raw = f"{_printable_tag(latitude)} {lat_ref}, {_printable_tag(longitude)} {lon_ref}"
    source = "exif:GPS GPSLatitude + GPS GPSLongitude"
    if lat_ref[:1] not in ("N", "S") or lon_ref[:1] not in ("E", "W"):
        # Without the references the hemisphere is unknown; guessing N/E could be a continent off.
        collector.problem("unparseable_location", source, "GPS latitude/longitude reference (N/S, E/W) missing",
                          raw)
        return
    try:
        lat = _degrees(latitude) * (-1 if lat_ref.startswith("S") else 1)
        lon = _degrees(longitude) * (-1 if lon_ref.startswith("W") else 1)
    except (TypeError, ValueError, ZeroDivisionError, AttributeError) as error:
        collector.problem("unparseable_location", source, f"GPS position is not numeric ({error})", raw)
        return
    altitude = None
    if "GPS GPSAltitude" in exif:
        try:
            altitude = float(exif["GPS GPSAltitude"].values[0])
            if _first_int(exif.get("GPS GPSAltitudeRef")) == 1:
                altitude = -altitude
        except (TypeError, ValueError, ZeroDivisionError, AttributeError, IndexError):
            collector.problem("unparseable_location", "exif:GPS GPSAltitude", "GPS altitude is not numeric",
                              _printable_tag(exif["GPS GPSAltitude"]))
    collector.point(source, raw, lat, lon, altitude)


def _collect_info(info: tuple[tuple[str, str], ...], collector: Collector) -> None:
    for key, value in info:
        if key.lower() == "creation time":
            collector.time("created", "image", f"image:{key}", value)
        elif key.lower() == "software":
            collector.device("software", f"image:{key}", value)
