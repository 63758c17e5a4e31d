"""The report's timeline: every known appearance of the footage against the date claimed for it, as SVG.

Each appearance gets a row of its own, earliest first, so labels never
overlap however close the posts are. The claimed date interval is a band
across all rows. An appearance posted before the claimed interval opens is
drawn in red: the footage was online before it is said to have been filmed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

from ..metadata import printable

#: Width of the drawing, and of the column of labels on its left, in SVG units.
WIDTH, LABEL_WIDTH = 960, 330
ROW_HEIGHT, TOP, BOTTOM = 30, 34, 48


@dataclass(frozen=True)
class TimelineEvent:
    """One appearance on the timeline: when (a span, for a date known to the day), who, and whether it conflicts."""

    start: datetime
    end: datetime
    label: str
    detail: str
    conflict: bool = False
    first: bool = False


def utc(moment: datetime) -> datetime:
    """A time in UTC; a time without a zone is drawn as if it were UTC (the table says so)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _escape(value: object) -> str:
    return html.escape(printable(value), quote=True)


def _ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Round times between ``start`` and ``end`` to mark on the axis, at most about eight."""
    span = (end - start).total_seconds()
    hour = 3600.0
    for step_hours, fmt in ((1, "%d %b %H:%M"), (3, "%d %b %H:%M"), (6, "%d %b %H:%M"), (12, "%d %b %H:%M"),
                            (24, "%d %b"), (48, "%d %b"), (7 * 24, "%d %b %Y"), (14 * 24, "%d %b %Y")):
        if span / (step_hours * hour) <= 8:
            step = timedelta(hours=step_hours)
            first = start.replace(minute=0, second=0, microsecond=0)
            if step_hours >= 24:
                first = first.replace(hour=0)
            ticks, moment = [], first
            while moment <= end:
                if moment >= start:
                    ticks.append((moment, moment.strftime(fmt)))
                moment += step
            return ticks
    for months in (1, 2, 3, 6, 12, 24, 60, 120, 600):
        if span / (months * 30.44 * 24 * hour) <= 8:
            fmt = "%b %Y" if months < 12 else "%Y"
            index = (start.year * 12 + start.month - 1) // months * months
            ticks = []
            while True:
                year, month = divmod(index, 12)
                if year > 9999:
                    break
                moment = datetime(year, month + 1, 1, tzinfo=timezone.utc)
                if moment > end:
                    break
                if moment >= start:
                    ticks.append((moment, moment.strftime(fmt)))
                index += months
            return ticks
    return [(start, start.strftime("%Y")), (end, end.strftime("%Y"))]


def timeline_svg(events: Sequence[TimelineEvent], claimed: tuple[datetime | None, datetime | None] | None,
                 claimed_label: str = "") -> str:
    """The timeline as an inline ``<svg>`` element (empty when there is nothing dated to draw)."""
    if not events and (claimed is None or claimed == (None, None)):
        return ""
    moments = [t for event in events for t in (event.start, event.end)]
    if claimed is not None:
        moments += [t for t in claimed if t is not None]
    low, high = min(moments), max(moments)
    pad = max((high - low) * 0.06, timedelta(hours=12))
    low, high = low - pad, high + pad
    plot_left, plot_right = LABEL_WIDTH + 10, WIDTH - 20
    rows = max(1, len(events))
    height = TOP + rows * ROW_HEIGHT + BOTTOM
    axis_y = TOP + rows * ROW_HEIGHT + 6

    def x(moment: datetime) -> float:
        share = (moment - low).total_seconds() / max(1.0, (high - low).total_seconds())
        return round(plot_left + share * (plot_right - plot_left), 1)

    parts = [(f'<svg class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
              f'height="{height}" xmlns="http://www.w3.org/2000/svg" aria-label="Timeline of known appearances">')]
    if claimed is not None and claimed != (None, None):
        start = x(claimed[0]) if claimed[0] is not None else plot_left
        end = x(claimed[1]) if claimed[1] is not None else plot_right
        parts.append(f'<rect class="claimed" x="{start}" y="{TOP - 22}" width="{max(2.0, end - start):.1f}" '
                     f'height="{rows * ROW_HEIGHT + 22}"/>')
        # Near the right edge the label runs leftwards, so that it stays inside the drawing.
        anchor = ' text-anchor="end"' if start + 4 > plot_right - 240 else ""
        label_x = min(start + 4, plot_right - 4) if not anchor else min(end, plot_right) - 4
        parts.append(f'<text class="claimed-label" x="{label_x}" y="{TOP - 8}"{anchor}>'
                     f'claimed: {_escape(claimed_label)}</text>')
    for row, event in enumerate(events):
        y = TOP + row * ROW_HEIGHT + ROW_HEIGHT / 2
        css = "event conflict" if event.conflict else "event"
        parts.append(f'<line class="row" x1="{plot_left}" y1="{y}" x2="{plot_right}" y2="{y}"/>')
        label = ("first seen: " if event.first else "") + event.label
        parts.append(f'<text class="{css}-label" x="{LABEL_WIDTH}" y="{y + 4}" text-anchor="end">'
                     f'<title>{_escape(event.detail)}</title>{_escape(label)}</text>')
        start, end = x(event.start), x(event.end)
        if end - start >= 4:
            parts.append(f'<rect class="{css}" x="{start}" y="{y - 6}" width="{end - start:.1f}" height="12" rx="3">'
                         f'<title>{_escape(event.detail)}</title></rect>')
        else:
            parts.append(f'<circle class="{css}" cx="{start}" cy="{y}" r="6"><title>{_escape(event.detail)}</title>'
                         '</circle>')
    parts.append(f'<line class="axis" x1="{plot_left}" y1="{axis_y}" x2="{plot_right}" y2="{axis_y}"/>')
    for moment, text in _ticks(low, high):
        tick = x(moment)
        parts.append(f'<line class="tick" x1="{tick}" y1="{axis_y}" x2="{tick}" y2="{axis_y + 5}"/>')
        parts.append(f'<text class="tick-label" x="{tick}" y="{axis_y + 18}" text-anchor="middle">'
                     f'{_escape(text)}</text>')
    parts.append(f'<text class="tick-label" x="{plot_right}" y="{axis_y + 34}" text-anchor="end">UTC</text>')
    parts.append("</svg>")
    return "".join(parts)
