"""The report's HTML: one file, no script, every picture embedded, every string escaped.

Every string that came from a file or from a person (tags, names, captions,
claims, URLs) goes through :func:`text`: control and invisible characters are
shown as escapes (:func:`~vidprov.metadata.printable`, so a bidi override
cannot reorder a line) and the result is HTML-escaped, quotes included, so
it is safe in an attribute too. Links are made only of ``http`` and
``https`` URLs. On top of that the page carries a Content-Security-Policy
that forbids every script and every load from outside the page.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, timezone
from typing import IO, Any, Iterable, Sequence

from .. import __version__
from ..errors import MediaError
from ..keyframes import format_time, iter_images
from ..metadata import Field, MediaMetadata, printable
from ..metadata.render import _stream_text as stream_text
from ..records import Appearance, Assessment, Claim, PlaceClaim, RecordBundle, Verdict
from . import Report
from ._frames import encode_jpeg, shrink
from ._timeline import TimelineEvent, timeline_svg, utc

#: The page may show inline styles and data: images, and nothing else: no script, no fetch, no font, no frame.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
#: Width of keyframe thumbnails in the contact sheet, in pixels.
THUMB_WIDTH = 240
#: Keyframes whose full-size frame is embedded; past this a long clip's report would grow too large to send.
FULL_FRAMES = 150
#: Characters that fit in the timeline's column of labels.
LABEL_CHARACTERS = 46
#: A time without a zone may be in any zone from UTC-12 to UTC+14 (as :mod:`vidprov.match` reads it).
ZONE_SPREAD_HOURS = 14

STYLE = """
:root { color-scheme: light; --ink: #1d2329; --muted: #5b6670; --line: #d8dde2; --soft: #f4f6f8;
        --red: #b42318; --red-soft: #fdecea; --blue: #1f5fa8; --band: #dbe8f7; --green: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 28px 48px; font: 15px/1.5 system-ui, -apple-system,
       "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
a { color: var(--blue); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px;
              overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.facts { color: var(--muted); margin: 0; }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { margin-right: 14px; }
.verdict { font-size: 17px; padding: 12px 16px; border-left: 5px solid var(--blue); background: var(--soft);
           margin: 12px 0; overflow-wrap: anywhere; }
.verdict.conflict { border-color: var(--red); background: var(--red-soft); }
.flag { color: var(--red); font-weight: 600; }
.ok { color: var(--green); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--soft);
         border: 1px solid var(--line); font-size: 13px; font-weight: 600; }
.badge.recycled, .badge.false, .badge.misattributed, .badge.disputed { background: var(--red-soft);
         border-color: #f3b8b2; color: var(--red); }
.badge.verified { color: var(--green); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line);
         overflow-wrap: anywhere; }
th { background: var(--soft); font-weight: 600; }
td.label { width: 140px; color: var(--muted); }
td.nowrap { white-space: nowrap; overflow-wrap: normal; }
td.evidence { color: var(--muted); font-size: 12.5px; }
tr.conflict td { background: var(--red-soft); }
.note { padding: 8px 12px; background: #fff8e1; border-left: 4px solid #e0a800; margin: 8px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
.card h3 { margin-top: 0; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.pairs { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0; }
.pair { display: flex; gap: 4px; background: var(--soft); padding: 6px; border-radius: 4px; }
.pair figure { margin: 0; width: 200px; }
.pair img, .pair .missing { width: 200px; height: 150px; object-fit: contain; display: block; background: #222; }
.pair .missing { color: #ccc; font-size: 12px; padding: 8px; display: flex; align-items: center;
                 justify-content: center; text-align: center; }
figcaption { font-size: 12.5px; color: var(--muted); padding-top: 2px; }
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.sheet figure { margin: 0; }
.sheet img { width: 100%; height: auto; display: block; border: 1px solid var(--line); }
.timeline { width: 100%; height: auto; font-size: 12px; }
.timeline .claimed { fill: var(--band); }
.timeline .claimed-label { fill: var(--blue); font-weight: 600; }
.timeline .row { stroke: #eef0f2; }
.timeline .axis, .timeline .tick { stroke: #8a949c; }
.timeline .tick-label { fill: var(--muted); }
.timeline .event { fill: var(--blue); }
.timeline .event-label { fill: var(--ink); }
.timeline .event.conflict { fill: var(--red); }
.timeline .event.conflict-label { fill: var(--red); font-weight: 600; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--blue); }
footer { margin-top: 40px; font-size: 13px; color: var(--muted); border-top: 1px solid var(--line);
         padding-top: 10px; }
@media print { nav { display: none; } .card, figure { break-inside: avoid; } }
"""


# ------------------------------------------------------------ escaping


def text(value: object, limit: int | None = None) -> str:
    """Any value as HTML text, safe in element content and in quoted attributes."""
    return html.escape(printable(value, limit), quote=True)


def multiline(value: str) -> str:
    """Free text that may hold line breaks: each line escaped, the breaks kept (shown by ``white-space``)."""
    return "\n".join(text(line) for line in value.splitlines())


def link(url: str | None, label: str | None = None) -> str:
    """A link to an http(s) URL; anything else is shown as text only."""
    if not url:
        return ""
    shown = text(label if label is not None else url)
    if not url.lower().startswith(("https://", "http://")) or printable(url) != url or any(c in url for c in " <>\"'"):
        return shown
    return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{shown}</a>'


def osm_url(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=13/{lat:.6f}/{lon:.6f}"


def when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _row(label: str, value: str, evidence: str = "", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return (f'<tr{klass}><td class="label">{label}</td><td>{value}</td>'
            f'<td class="evidence">{evidence}</td></tr>')


# --------------------------------------------------------------- writing


def write(report: Report, out: IO[str]) -> None:
    """Write the whole page; the keyframes are decoded and encoded one at a time as they are written."""
    title = f"Provenance report: {report.name}"
    out.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
              '<meta name="referrer" content="no-referrer">\n'
              '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
              f'<meta name="generator" content="vidprov {text(__version__)}">\n'
              f"<title>{text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n")
    out.write(_header(report, title))
    out.write(_summary(report))
    out.write(_timeline(report))
    out.write(_matches(report))
    out.write(_places(report))
    out.write(_records(report))
    _keyframes(report, out)
    out.write(_metadata(report.metadata))
    out.write(f'<footer>Made by vidprov {text(__version__)} on {when(report.generated_at)}. This file is '
              "self-contained: its pictures are embedded and it loads nothing, so it opens offline. What the "
              "file says about itself, what people claim about it and what the desk established are kept "
              "apart; an assessment covers only the clips it names.</footer>\n</body>\n</html>\n")


def _header(report: Report, title: str) -> str:
    facts = [f'sha256 <span class="mono">{text(report.sha256)}</span>']
    fp = report.fingerprint
    if fp.duration is not None:
        facts.append(f"{fp.duration:.1f} s")
    facts.append(f"{fp.width}x{fp.height}")
    if report.clip is not None:
        facts.append(f"indexed as clip {report.clip.id}")
    elif report.index_location is not None:
        facts.append("not in the index")
    if report.index_location is not None:
        facts.append(f"index {text(report.index_location)}")
    sections = [("summary", "Summary"), ("timeline", "Timeline"), ("matches", "Matches"), ("places", "Places"),
                ("records", "Records"), ("keyframes", "Keyframes"), ("metadata", "File metadata")]
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label in sections)
    path = f'<p class="facts">file <span class="mono">{text(report.path)}</span></p>' if report.path else ""
    return (f"<header><h1>{text(title)}</h1>{path}<p class=\"facts\">{' · '.join(facts)}</p>"
            f"<nav>{nav}</nav></header>\n")


def _summary(report: Report) -> str:
    verdict = report.provenance
    conflict = verdict.date_conflict is not None or bool(verdict.place_conflicts)
    parts = ['<section id="summary"><h2>Summary</h2>',
             f'<p class="verdict{" conflict" if conflict else ""}">{text(verdict.summary)}</p><table>']
    first = verdict.earliest_appearance
    if first is not None:
        parts.append(_row("first seen", f"{_who(first)}, {text(first.posted_at)} {link(first.url)}"))
    if verdict.claimed_date is not None:
        parts.append(_row("claimed date", text(verdict.claimed_date)))
    if verdict.date_conflict is not None:
        days = verdict.date_conflict.days
        parts.append(_row("date conflict", f'<span class="flag">posted {days:.1f} days before the earliest '
                                           "claimed date</span>", css="conflict"))
    elif first is not None and verdict.claimed_date is not None:
        parts.append(_row("date conflict", '<span class="ok">none</span>'))
    for item in verdict.place_conflicts:
        parts.append(_row("place conflict", f'<span class="flag">{text(item.first.get("place"))} vs '
                                            f'{text(item.second.get("place"))}: {text(item.reason)}</span>',
                          css="conflict"))
    parts.append(_row("matches", str(len(report.matches)) if report.matches else "none in the index"))
    status = report.records.current_verdict(report.sha256) if report.records.verdicts else None
    parts.append(_row("desk verdict", _verdict_text(status) if status else "none yet"))
    parts.append("</table>")
    parts += [f'<p class="note">{text(note)}</p>' for note in report.notes]
    parts.append("</section>\n")
    return "".join(parts)


def _verdict_text(verdict: Verdict) -> str:
    status = verdict.status.value
    note = f' — <span class="text">{multiline(verdict.note)}</span>' if verdict.note else ""
    return (f'<span class="badge {text(status)}">{text(status)}</span> by {text(verdict.reviewer)}, '
            f"{when(verdict.decided_at)}{note}")


def _who(appearance: Appearance) -> str:
    name = appearance.publisher or appearance.handle or "unknown publisher"
    handle = f" ({text(appearance.handle)})" if appearance.publisher and appearance.handle else ""
    return f"{text(name)}{handle} on {text(appearance.platform.value)}"


def _clip_name(report: Report, sha256: str | None) -> str:
    if sha256 is None:
        return "clip not known"
    if sha256 == report.sha256:
        return "this clip"
    known = report.clip_ids.get(sha256)
    return f"clip {known}" if known is not None else f"clip {text(sha256[:12])}"


# -------------------------------------------------------------- timeline


def _shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit - 1].rstrip() + "…"


def _aware(moment: datetime, side: str) -> datetime:
    """Zone-less times read in the way least likely to conflict, as the verdict reads them."""
    from datetime import timedelta

    if moment.tzinfo is not None:
        return moment
    spread = timedelta(hours=ZONE_SPREAD_HOURS)
    moment = moment.replace(tzinfo=timezone.utc)
    return moment - spread if side == "earliest" else moment + spread


def _timeline(report: Report) -> str:
    records = report.records
    claimed = report.provenance.claimed_date
    claimed_start = _aware(claimed.earliest, "earliest") if claimed and claimed.earliest else None
    dated = sorted((a for a in records.appearances if a.posted_at is not None),
                   key=lambda a: (utc(a.posted_at.earliest), a.id))  # type: ignore[union-attr]
    undated = [a for a in records.appearances if a.posted_at is None]
    first = report.provenance.earliest_appearance
    events, rows = [], []
    for appearance in dated:
        posted = appearance.posted_at
        assert posted is not None
        conflict = claimed_start is not None and _aware(posted.latest, "latest") < claimed_start
        clip = _clip_name(report, appearance.clip_sha256)
        is_first = first is not None and appearance.id == first.id
        # The label column holds about 46 characters; the publisher's name gives way first.
        budget = LABEL_CHARACTERS - len(f" ({clip})") - (len("first seen: ") if is_first else 0)
        who = printable(appearance.publisher or appearance.handle or "unknown")
        label = f"{_shorten(who, max(8, budget))} ({clip})"
        detail = f"{posted} · {appearance.platform.value} · {appearance.url or 'no URL'}"
        events.append(TimelineEvent(utc(posted.earliest), utc(posted.latest), label, detail, conflict, is_first))
        zone = "" if posted.value.tzinfo is not None or posted.precision.value in ("year", "month", "day") \
            else ' <span class="muted">(time zone unknown)</span>'
        flag = '<span class="flag">before the claimed date</span>' if conflict else ""
        relay = ""
        if appearance.relay_of is not None:
            source = records.appearance(appearance.relay_of.appearance_id)
            relay = f"{text(appearance.relay_of.kind.value)}s " + (_who(source) if source else "another post")
        css = ' class="conflict"' if conflict else ""
        rows.append(f'<tr{css}><td class="nowrap">{text(posted)}{zone}</td>'
                    f"<td>{_who(appearance)}</td><td>{text(clip)}</td><td>{link(appearance.url)} {relay}</td>"
                    f"<td>{flag}</td></tr>")
    for appearance in undated:
        rows.append(f"<tr><td>date unknown</td><td>{_who(appearance)}</td>"
                    f"<td>{text(_clip_name(report, appearance.clip_sha256))}</td><td>{link(appearance.url)}</td>"
                    "<td></td></tr>")
    parts = ['<section id="timeline"><h2>Timeline</h2>',
             ('<p class="muted">Every known appearance of this footage (this clip and every matched copy), '
              "earliest first, against the date now claimed for it (the shaded band). Red: posted before the "
              "claimed date begins.</p>")]
    bounds = None
    if claimed is not None and (claimed.earliest or claimed.latest):
        bounds = (utc(claimed.earliest) if claimed.earliest else None,
                  utc(claimed.latest) if claimed.latest else None)
    svg = timeline_svg(events, bounds, str(claimed) if claimed else "")
    parts.append(svg or '<p class="muted">No dated appearance or claimed date is recorded.</p>')
    if rows:
        parts.append("<table><tr><th>posted</th><th>by</th><th>clip</th><th>where</th><th></th></tr>"
                     + "".join(rows) + "</table>")
    if report.provenance.date_conflict is not None:
        c = report.provenance.date_conflict
        parts.append(f'<p class="flag">The footage was first posted {c.days:.1f} days before the earliest date '
                     f"claimed for it ({text(c.claimed_earliest.isoformat())}).</p>")
    parts.append("</section>\n")
    return "".join(parts)


# --------------------------------------------------------------- matches


def _matches(report: Report) -> str:
    parts = ['<section id="matches"><h2>Matches in the index</h2>']
    if report.index_location is None:
        parts.append('<p class="muted">No index was searched.</p></section>\n')
        return "".join(parts)
    if not report.matches:
        parts.append('<p>No indexed clip shares footage with this one.</p></section>\n')
        return "".join(parts)
    parts.append('<p class="muted">Each indexed clip that shares footage with this one, best first. Frames are '
                 "shown side by side: this clip's frame, and the matched clip's frame at the time the match "
                 "maps it to. The distance is between the two frames' perceptual hashes (0 is identical; "
                 f"{_limit(report)} or less counts as the same picture).</p>")
    for number, evidence in enumerate(report.matches, 1):
        item = evidence.match
        stored = evidence.clip
        name = f"clip {item.clip_id}" if item.clip_id is not None else text(item.reference[:12])
        flags = []
        if item.mirrored:
            flags.append("mirrored (this clip's frames are shown flipped back)")
        if item.window is not None:
            flags.append(f"inside {text(item.window)} of this clip's frame")
        if item.cropped:
            flags.append("cropped (this clip shows part of the matched clip's picture)")
        if abs(item.speed - 1) > 0.03:
            flags.append(f"speed x{item.speed:.2f}")
        parts.append(f'<div class="card"><h3>{number}. {name}: {text(evidence.judgement)}, score '
                     f"{item.score:.2f}</h3>")
        facts = [f"covers {item.query_coverage:.0%} of this clip and {item.reference_coverage:.0%} of {name}",
                 f"{item.matched_frames} frames agree"] + flags
        parts.append(f'<p>{"; ".join(facts)}.</p>')
        parts.append(f'<p class="muted mono">sha256 {text(item.reference)}'
                     + (f" · {stored.clip.duration_s:.1f} s" if stored and stored.clip.duration_s else "") + "</p>")
        parts.append("<table><tr><th>this clip</th><th>" + name + "</th><th>length</th></tr>")
        for segment in item.segments:
            parts.append(f"<tr><td>{format_time(segment.query_start)} – {format_time(segment.query_end)}</td>"
                         f"<td>{format_time(segment.reference_start)} – {format_time(segment.reference_end)}</td>"
                         f"<td>{segment.duration:.1f} s</td></tr>")
        parts.append("</table>")
        parts.append(_pairs(evidence, name))
        parts.append(_copy_records(report, item.reference, name))
        parts.append("</div>")
    parts.append("</section>\n")
    return "".join(parts)


def _limit(report: Report) -> int:
    from ..hashing import ALGORITHMS
    from ..match import FRAME_DISTANCE_SHARE

    return int(FRAME_DISTANCE_SHARE * ALGORITHMS[report.fingerprint.algorithm].bits)


def _pairs(evidence: Any, name: str) -> str:
    if not evidence.pairs:
        return ""
    if evidence.file is None:
        where = (f'<p class="muted">The file of {name} was not found (give the folder that holds it with '
                 "--clips-dir): its frames are named by time only, from its stored fingerprint.</p>")
    else:
        where = f'<p class="muted">{name} frames from {text(evidence.file)}.</p>'
    items = []
    for pair in evidence.pairs:
        query = _picture(pair.query, "this clip's file was not available")
        reference = _picture(pair.reference, f"file of {name} not found")
        items.append(f'<div class="pair"><figure>{query}<figcaption>this clip at {format_time(pair.query_time)}'
                     f"</figcaption></figure><figure>{reference}<figcaption>{name} at "
                     f"{format_time(pair.reference_time)} · distance {pair.distance}</figcaption></figure></div>")
    return where + '<div class="pairs">' + "".join(items) + "</div>"


def _picture(picture: Any, missing: str) -> str:
    if picture is None:
        return f'<div class="missing">{text(missing)}</div>'
    return f'<img src="{picture.uri}" width="{picture.width}" height="{picture.height}" alt="">'


def _copy_records(report: Report, sha256: str, name: str) -> str:
    """Where a matched copy was published, and what the desk established about it (not about this clip)."""
    records = report.records
    lines = [f"<li>seen: {_who(a)}, {text(a.posted_at) if a.posted_at else 'date unknown'} {link(a.url)}</li>"
             for a in records.appearances_of(sha256)]
    for assessment in records.assessments_of(sha256):
        covers = ", ".join(_clip_name(report, sha) for sha in assessment.clip_sha256s)
        mine = "" if assessment.applies_to(report.sha256) else "; it does not cover this clip"
        lines.append(f"<li>{text(assessment.kind.value.replace('_', '-'))} by {text(assessment.made_by)}: "
                     f"{text(assessment.result)} <span class=\"muted\">(covers {text(covers)}{mine})</span></li>")
    return f"<ul>{''.join(lines)}</ul>" if lines else f'<p class="muted">Nothing is recorded about {name}.</p>'


# ---------------------------------------------------------------- places


def _places(report: Report) -> str:
    records = report.records
    rows = []
    for claim in records.claims:
        if claim.place is not None:
            about = _clip_name(report, records.claim_clip(claim) or claim.clip_sha256)
            rows.append(_place_row(claim.place, f"claimed by {_claimant(records, claim)}", about))
    for assessment in records.assessments:
        if assessment.place is not None:
            covers = ", ".join(_clip_name(report, sha) for sha in assessment.clip_sha256s)
            rows.append(_place_row(assessment.place, f"{text(assessment.kind.value.replace('_', '-'))} by "
                                                     f"{text(assessment.made_by)}", covers))
    parts = ['<section id="places"><h2>Places</h2>',
             ('<p class="muted">Where this footage, or a copy of it, is claimed or established to have been '
              "filmed. Map links open OpenStreetMap (they need a network only when clicked).</p>")]
    if rows:
        parts.append("<table><tr><th>place</th><th>coordinates</th><th>who</th><th>about</th></tr>"
                     + "".join(rows) + "</table>")
    else:
        parts.append("<p>No place is claimed or established.</p>")
    for conflict in report.provenance.place_conflicts:
        parts.append(f'<p class="flag">These places disagree: {text(conflict.first.get("place"))} and '
                     f'{text(conflict.second.get("place"))} ({text(conflict.reason)}).</p>')
    parts.append("</section>\n")
    return "".join(parts)


def _place_row(place: PlaceClaim, who: str, about: str) -> str:
    name = ", ".join(text(part) for part in (place.name, place.subdivision or place.country) if part) or "unnamed"
    if place.basis:
        name += f' <span class="muted">[{text(place.basis)}]</span>'
    where = ""
    if place.point is not None:
        point = place.point
        radius = f" ± {point.radius_m:g} m" if point.radius_m is not None else " (radius not stated)"
        where = (f'<span class="mono">{point.lat:.5f}, {point.lon:.5f}</span>{radius} '
                 f"{link(osm_url(point.lat, point.lon), 'map')}")
    elif place.geometry is not None:
        where = f"GeoJSON {text(place.geometry.type)}"
    return f"<tr><td>{name}</td><td>{where}</td><td>{who}</td><td>{text(about)}</td></tr>"


def _claimant(records: RecordBundle, claim: Claim) -> str:
    if claim.claimant:
        return text(claim.claimant)
    appearance = records.appearance(claim.appearance_id) if claim.appearance_id else None
    if appearance is not None:
        return text(appearance.publisher or appearance.handle or "the publisher")
    return "unknown"


# --------------------------------------------------------------- records


def _records(report: Report) -> str:
    records, sha = report.records, report.sha256
    parts = ['<section id="records"><h2>Records of this clip</h2>',
             "<h3>What people say: where it was published and what was claimed</h3>"]
    own = records.appearances_of(sha)
    claims = records.claims_about(sha)
    by_appearance: dict[str | None, list[Claim]] = {}
    for claim in claims:
        key = claim.appearance_id if claim.appearance_id and records.appearance(claim.appearance_id) else None
        by_appearance.setdefault(key, []).append(claim)
    if not own and not claims:
        parts.append("<p>Nothing recorded yet.</p>")
    for appearance in own:
        parts.append('<div class="card">' + _appearance(records, appearance))
        parts += [_claim(records, claim) for claim in by_appearance.get(appearance.id, [])]
        parts.append("</div>")
    if by_appearance.get(None):
        parts.append('<div class="card"><h3>Claims made elsewhere (not in a recorded appearance)</h3>')
        parts += [_claim(records, claim) for claim in by_appearance[None]]
        parts.append("</div>")
    parts.append("<h3>What the desk established</h3>")
    assessments = records.assessments_of(sha)
    if not assessments:
        parts.append("<p>No assessment covers this clip.</p>")
    for assessment in assessments:
        parts.append(_assessment(report, assessment))
    others = [a for a in records.assessments if not a.applies_to(sha)]
    if others:
        parts.append(f'<p class="muted">{len(others)} assessment{"s" if len(others) != 1 else ""} of matched '
                     "copies, which do not cover this clip, are listed with their matches above.</p>")
    history = sorted((v for v in records.verdicts if v.clip_sha256 == sha), key=lambda v: v.decided_at)
    parts.append("<h3>Verdict</h3>")
    if not history:
        parts.append("<p>No verdict yet.</p>")
    else:
        parts.append(f"<p>{_verdict_text(history[-1])}</p>")
        if len(history) > 1:
            earlier = "".join(f"<li>{_verdict_text(v)}</li>" for v in reversed(history[:-1]))
            parts.append(f"<details><summary>{len(history) - 1} earlier verdict(s)</summary><ul>{earlier}</ul>"
                         "</details>")
    parts.append("</section>\n")
    return "".join(parts)


def _appearance(records: RecordBundle, appearance: Appearance) -> str:
    rows = [_row("published", _who(appearance)),
            _row("posted", text(appearance.posted_at) if appearance.posted_at else "date unknown")]
    for label, value in (("url", appearance.url), ("post id", appearance.post_id)):
        if value:
            rows.append(_row(label, link(value) if label == "url" else text(value)))
    for label, value in (("title", appearance.title), ("text", appearance.description)):
        if value:
            rows.append(_row(label, f'<span class="text">{multiline(value)}</span>'))
    if appearance.relay_of is not None:
        source = records.appearance(appearance.relay_of.appearance_id)
        rows.append(_row(text(appearance.relay_of.kind.value) + "s", _who(source) if source
                         else text(appearance.relay_of.appearance_id)))
    for url in appearance.archive_urls:
        rows.append(_row("archived", link(url)))
    return f'<h3>Appearance <span class="mono muted">{text(appearance.id)}</span></h3><table>{"".join(rows)}</table>'


def _claim(records: RecordBundle, claim: Claim) -> str:
    rows = [_row("claimed by", _claimant(records, claim))]
    if claim.text:
        rows.append(_row("text", f'<span class="text">{multiline(claim.text)}</span>'))
    if claim.date is not None:
        date = text(claim.date)
        if claim.date.derivation is not None:
            date += (f' <span class="muted">(from {text(claim.date.derivation.text)}, counted back from the post '
                     f"at {text(claim.date.derivation.anchor)})</span>")
        rows.append(_row("date", date))
    if claim.place is not None:
        rows.append(_row("place", text(claim.place)))
    return f'<h3>Claim <span class="mono muted">{text(claim.id)}</span></h3><table>{"".join(rows)}</table>'


def _assessment(report: Report, assessment: Assessment) -> str:
    rows = [_row("kind", text(assessment.kind.value.replace("_", "-"))),
            _row("by", f"{text(assessment.made_by)}, {when(assessment.made_at)}"),
            _row("result", f'<span class="text">{multiline(assessment.result)}</span>')]
    if assessment.place is not None:
        rows.append(_row("place", text(assessment.place)))
    if assessment.date is not None:
        rows.append(_row("date", text(assessment.date)))
    if assessment.evidence_url:
        rows.append(_row("evidence", link(assessment.evidence_url)))
    others = [_clip_name(report, sha) for sha in assessment.clip_sha256s if sha != report.sha256]
    covers = "this clip" + (f' <span class="flag">and also {text(", ".join(others))}</span>' if others else " only")
    rows.append(_row("covers", covers))
    return (f'<div class="card"><h3>Assessment <span class="mono muted">{text(assessment.id)}</span></h3>'
            f'<table>{"".join(rows)}</table></div>')


# ------------------------------------------------------------- keyframes


def _keyframes(report: Report, out: IO[str]) -> None:
    out.write('<section id="keyframes"><h2>Keyframes</h2>')
    selection = report.keyframes
    if selection is None or report.path is None:
        out.write("<p>No keyframes: the clip's file was not available.</p></section>\n")
        return
    if not selection.keyframes:
        out.write("<p>No frame of this clip has enough picture to be a keyframe (black, flat or fading).</p>"
                  "</section>\n")
        return
    stem = os.path.splitext(os.path.basename(report.path))[0]
    count = len(selection.keyframes)
    out.write(f'<p class="muted">{count} frames, at least one per shot, for reverse image search. Each thumbnail '
              "links to its full-size frame (the active picture, without bars): click it to save the frame, named "
              "by its time.</p>")
    if count > FULL_FRAMES:
        out.write(f'<p class="note">Full-size frames are embedded for the first {FULL_FRAMES} keyframes only, '
                  "to keep this file small enough to send; the rest are thumbnails. For every frame as a file: "
                  f"vidprov keyframes {text(os.path.basename(report.path))} -o DIR</p>")
    out.write('<div class="sheet">')
    written = 0
    try:
        for keyframe, rgb in iter_images(selection):
            thumb = encode_jpeg(shrink(rgb, THUMB_WIDTH), 80)
            caption = f"{format_time(keyframe.t)} · {rgb.shape[1]}x{rgb.shape[0]}"
            image = (f'<img src="{thumb.uri}" width="{thumb.width}" height="{thumb.height}" '
                     f'alt="Frame at {format_time(keyframe.t)}">')
            if written < FULL_FRAMES:
                name = text(keyframe.filename(stem))
                full = encode_jpeg(rgb, 90)
                image = (f'<a href="{full.uri}" download="{name}" title="Save {name} ({full.width}x{full.height})">'
                         f"{image}</a>")
            out.write(f"<figure>{image}<figcaption>{caption}</figcaption></figure>")
            written += 1
    except MediaError as error:
        out.write(f'</div><p class="note">Only {written} of {len(selection.keyframes)} keyframes could be decoded '
                  f"again: {text(error)}</p></section>\n")
        return
    out.write("</div></section>\n")


# -------------------------------------------------------------- metadata


def _evidence(item: Field[Any]) -> str:
    shown = text(item.source)
    return shown if item.raw is None else f"{shown} = {text(item.raw, 200)}"


def _metadata(meta: MediaMetadata | None) -> str:
    parts = ['<section id="metadata"><h2>What the file says about itself</h2>']
    if meta is None:
        parts.append("<p>The file's embedded metadata is not available.</p></section>\n")
        return "".join(parts)
    parts.append('<p class="muted">Read from the file\'s own tags, never from what people say about it. Each '
                 "value names the tag it came from. Tags are easy to strip or forge: they support or question "
                 "a claim, they do not prove one.</p><table><tr><th>field</th><th>value</th><th>from</th></tr>")
    fmt = meta.format
    container = text(fmt.container.value)
    if fmt.major_brand is not None:
        container += f" (brand {text(fmt.major_brand.value)})"
    parts.append(_row("container", container, _evidence(fmt.container)))
    if fmt.duration is not None:
        parts.append(_row("duration", f"{fmt.duration.value:.3f} s", _evidence(fmt.duration)))
    parts.append(_row("size", f"{fmt.size.value:,} bytes"))
    # In the same words as `vidprov meta`.
    parts += [_row(f"stream {stream.index}", text(stream_text(stream))) for stream in meta.streams]
    for stamp in meta.times:
        zone = "" if stamp.zone_known else ' <span class="flag">(time zone unknown)</span>'
        evidence = text(stamp.source) + " = " + text(stamp.raw, 200)
        if stamp.zone_source:
            evidence += "; " + text(stamp.zone_source) + (" = " + text(stamp.zone_raw) if stamp.zone_raw else "")
        note = f'<br><span class="muted">{text(stamp.note)}</span>' if stamp.note else ""
        parts.append(_row("time", f"{text(stamp.meaning)} {text(stamp.value.isoformat())}{zone}{note}", evidence))
    for location in meta.locations:
        where = f'<span class="mono">{location.latitude:.6f}, {location.longitude:.6f}</span>'
        if location.altitude is not None:
            where += f", {location.altitude:g} m"
        if location.place:
            where += f" ({text(location.place, 60)})"
        where += " " + link(osm_url(location.latitude, location.longitude), "map")
        parts.append(_row("location", where, text(location.source) + " = " + text(location.raw, 200)))
    for part in ("make", "model", "software"):
        for item in getattr(meta.device, part):
            parts.append(_row(part, text(item.value, 300), _evidence(item)))
    for hint in meta.hints:
        parts.append(_row("hint", f"{text(hint.confidence)} {text(hint.kind)}: {text(hint.name)}<br>"
                                  f'<span class="muted">{text(hint.reason)}</span>',
                          text(hint.source) + " = " + text(hint.raw, 200)))
    credentials = meta.credentials
    c2pa = text(credentials.status)
    for label, value in (("", credentials.validation_state), ("signed by ", credentials.signer),
                         ("actions: ", ", ".join(credentials.actions) or None), ("", credentials.detail)):
        if value:
            c2pa += f", {label}{text(value)}"
    parts.append(_row("C2PA", c2pa))
    for problem in meta.problems:
        parts.append(_row("problem", f"{text(problem.code)}: {text(problem.message)}",
                          text(problem.source) + (" = " + text(problem.raw, 200) if problem.raw else ""), "conflict"))
    if not meta.times:
        parts.append(_row("time", '<span class="muted">none stated in the file</span>'))
    if not meta.locations:
        parts.append(_row("location", '<span class="muted">none stated in the file</span>'))
    parts.append("</table>")
    parts.append(_raw_tags(meta))
    parts.append("</section>\n")
    return "".join(parts)


def _raw_tags(meta: MediaMetadata) -> str:
    groups: Sequence[tuple[str, Iterable[tuple[str, str]]]] = meta.raw.groups
    count = sum(len(tuple(tags)) for _, tags in groups)
    if not count:
        return f'<p class="muted">No raw tags kept ({text(meta.raw.reader)}).</p>'
    body = []
    for group, tags in groups:
        rows = "".join(f'<tr><td class="mono">{text(key)}</td><td class="mono">{text(value)}</td></tr>'
                       for key, value in tags)
        body.append(f"<h3>{text(group)}</h3><table>{rows}</table>")
    return (f"<details><summary>Every tag exactly as read ({count} tags; read by {text(meta.raw.reader)})"
            f"</summary>{''.join(body)}</details>")
