"""Which tools and platforms a file has passed through, judged from its tags.

Each rule looks at one key (case-insensitive, in any group) and says what a
matching value suggests and how sure that is. Tags can be edited, so even
"certain" means "this writer's own signature", not proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .model import Hint


_CONTROL = "".join(map(chr, range(32)))


@dataclass(frozen=True)
class Rule:
    keys: frozenset[str]
    pattern: re.Pattern[str]
    kind: str
    name: str
    confidence: str
    reason: str

    def match(self, key: str, value: str) -> str | None:
        if key.lower() not in self.keys:
            return None
        # Some writers leave a Pascal length byte in front of the name.
        found = self.pattern.search(value.lstrip(_CONTROL).strip())
        if found is None:
            return None
        return self.name.format(*((group or "").strip() for group in found.groups()))


def _rule(keys: str, pattern: str, kind: str, name: str, confidence: str, reason: str) -> Rule:
    return Rule(frozenset(key.strip() for key in keys.split(",")), re.compile(pattern, re.IGNORECASE),
                kind, name, confidence, reason)

RULES: tuple[Rule, ...] = (
    _rule("encoder,software,encoded_by", r"^Lavf(\d+(?:\.\d+)*)", "tool", "FFmpeg (libavformat {0})",
          "certain", "libavformat writes its own version here when it muxes a file"),
    _rule("encoder", r"^Lavc(\d+(?:\.\d+)*)\s*(\S*)", "tool", "FFmpeg (libavcodec {0} {1})",
          "certain", "libavcodec writes its version and encoder name on streams it encoded"),
    _rule("handler_name", r"^(?:VideoHandler|SoundHandler|DataHandler|SubtitleHandler)$", "tool", "FFmpeg",
          "likely", "the default handler name of FFmpeg's MP4/MOV muxer"),
    _rule("vendor_id", r"^FFMP$", "tool", "FFmpeg", "likely",
          "FFmpeg's MOV muxer signs the sample description with vendor FFMP"),
    _rule("vendor_id", r"^appl$", "platform", "Apple (QuickTime or AVFoundation)", "likely",
          "Apple's writers sign the sample description with vendor appl"),
    _rule("handler_name", r"^Core Media (?:Video|Audio|Metadata|Data)", "platform",
          "Apple iOS, iPadOS or macOS (Core Media)", "likely",
          "the handler name Apple's Core Media / AVFoundation writers use"),
    _rule("handler_name,encoder,software,com.apple.quicktime.software", r"AVAssetWriter", "platform",
          "Apple iOS, iPadOS or macOS (AVAssetWriter)", "likely",
          "AVAssetWriter is Apple's AVFoundation file writer"),
    _rule("handler_name", r"^Apple (?:Video|Sound|Alias Data|Text|Time ?Code) (?:Media )?Handler", "tool",
          "Apple QuickTime", "likely", "the handler names Apple QuickTime writes"),
    _rule("handler_name", r"^(?:VideoHandle|SoundHandle|MetaHandle)$", "platform", "Android (MediaMuxer)",
          "likely", "the handler names Android's MPEG4Writer uses for camera and MediaMuxer files"),
    _rule("handler_name", r"^ISO Media file produced by Google", "platform",
          "Google (YouTube or another Google service)", "likely",
          "Google's media servers write this handler name on files they serve"),
    _rule("handler_name", r"mainconcept", "tool", "MainConcept codec SDK (Adobe, Sony and other editors)",
          "likely", "MainConcept's MP4 writer names its handlers after itself"),
    _rule("comment", r"^vid:", "platform", "TikTok", "likely",
          "TikTok writes a vid: identifier into the comment of videos it serves"),
    _rule("com.android.version", r"(\S.*)", "platform", "Android {0}", "certain",
          "Android's camera and MediaRecorder write the OS version under this key"),
    _rule("com.apple.quicktime.software", r"^(\d+(?:\.\d+)*)$", "platform", "Apple iOS or iPadOS {0}",
          "possible", "Apple cameras write the OS version as the software"),
    _rule("major_brand", r"^qt\s*$", "tool", "QuickTime file format (Apple devices and software)", "possible",
          "the QuickTime brand; Apple devices write it, and so can editors that write MOV"),
    _rule("major_brand", r"^3g[p2s]", "platform", "3GPP writer (phone or messaging app)", "possible",
          "3GPP brands come from phones and the apps that recompress for them"),
    _rule("major_brand", r"^dash$", "platform", "DASH streaming segment (downloaded from a streaming service)",
          "likely", "the DASH brand marks files cut for adaptive streaming"),
    _rule("encoder,software,writing_application", r"HandBrake", "tool", "HandBrake", "certain",
          "HandBrake names itself in the encoder tag"),
    _rule("encoder,software,writing_application", r"mkvmerge", "tool", "MKVToolNix (mkvmerge)", "certain",
          "mkvmerge names itself as the writing application"),
    _rule("image software,software", r"(Adobe [A-Za-z ]+|Photoshop|Lightroom)", "tool", "Adobe ({0})",
          "likely", "Adobe applications name themselves in the software tag"),
    _rule("image software,software", r"^(GIMP|Snapseed|Instagram|Picasa|Pixelmator\w*)", "tool", "{0}",
          "likely", "the editing application names itself in the software tag"),
    _rule("image software", r"^HDR\+", "platform", "Google Pixel camera (HDR+)", "likely",
          "the Pixel camera app writes its HDR+ pipeline version as the software"),
)


def derive_hints(tags: Iterable[tuple[str, str, str]]) -> tuple[Hint, ...]:
    """Hints from (group, key, value) triples; one hint per rule and key name."""
    hints: list[Hint] = []
    seen: set[tuple[str, str]] = set()
    for group, key, value in tags:
        for rule in RULES:
            name = rule.match(key, value)
            if name is None:
                continue
            marker = (name.strip(), key.lower())
            if marker in seen:
                continue
            seen.add(marker)
            hints.append(Hint(rule.kind, " ".join(name.split()), rule.confidence, f"{group}:{key}", value,
                              rule.reason))
    return tuple(hints)
