"""Charts as inline SVG, drawn on the server: no chart library, no script, nothing to download.

Each chart scales to its container (a viewBox and width 100%); every bar or point carries a
<title>, which browsers show as a tooltip and screen readers read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape


@dataclasses.dataclass(frozen=True)
class Frame:
    """A chart's drawing box, in viewBox units. Text keeps its size in these units, so a chart
    meant for a narrow card gets a narrower box, and its labels stay readable."""

    name: str
    width: int
    height: int
    left: int = 40
    right: int = 8
    top: int = 10
    bottom: int = 24

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


WIDE = Frame("wide", 640, 200)
SMALL = Frame("small", 320, 130, left=36, bottom=22)


def _nice_max(value: int) -> int:
    """A round axis maximum at or above value: 1, 2, 5, 10, 20, 50, ..."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _axis(frame: Frame, top: int) -> list[str]:
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = frame.top + frame.plot_height * (1 - fraction)
        label = f"{top * fraction:,.0f}" if top * fraction == int(top * fraction) else ""
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="axis" x="{frame.left - 6}" '
            f'y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    return parts


def _x_labels(frame: Frame, labels: Sequence[str], x_of: list[float]) -> list[str]:
    if not labels:
        return []
    picks = sorted({0, len(labels) // 2, len(labels) - 1})
    anchors = {0: "start", len(labels) - 1: "end"}
    return [
        f'<text class="axis" x="{x_of[i]:.1f}" y="{frame.height - 6}" '
        f'text-anchor="{anchors.get(i, "middle")}">{escape(labels[i])}</text>'
        for i in picks
    ]


def _svg(frame: Frame, title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart {frame.name}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[int], frame: Frame = WIDE
) -> Markup:
    """One bar per label (a day), tallest bar near the top of a round axis."""
    top = _nice_max(max(values, default=0))
    plot_height = frame.plot_height
    slot = frame.plot_width / max(len(values), 1)
    gap = min(slot * 0.2, 4)
    parts = _axis(frame, top)
    centres = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_height * value / top
        x = frame.left + i * slot + gap / 2
        centres.append(x + (slot - gap) / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{frame.top + plot_height - height:.1f}" '
            f'width="{max(slot - gap, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
    parts += _x_labels(frame, labels, centres)
    return _svg(frame, title, parts)


def line_chart(
    title: str, labels: Sequence[str], values: Sequence[int], frame: Frame = WIDE
) -> Markup:
    """A line through one point per label (a week), for trends over few points."""
    top = _nice_max(max(values, default=0))
    step = frame.plot_width / max(len(values) - 1, 1)
    points = [
        (frame.left + i * step, frame.top + frame.plot_height * (1 - value / top))
        for i, value in enumerate(values)
    ]
    parts = _axis(frame, top)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for (x, y), label, value in zip(points, labels, values, strict=True):
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
            f"<title>{escape(label)}: {value:,}</title></circle>"
        )
    parts += _x_labels(frame, labels, [x for x, _ in points])
    return _svg(frame, title, parts)


def stacked_bar_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]], frame: Frame = WIDE
) -> Markup:
    """One bar per label (a day) made of one segment per series (a sentiment, say), in the
    series' order; each segment's class is `seg-<name>` so the stylesheet colours it."""
    totals = [sum(values) for values in zip(*series.values(), strict=True)] if series else []
    top = _nice_max(max(totals, default=0))
    slot = frame.plot_width / max(len(labels), 1)
    gap = min(slot * 0.2, 4)
    parts = _axis(frame, top)
    centres = []
    for i, label in enumerate(labels):
        x = frame.left + i * slot + gap / 2
        centres.append(x + (slot - gap) / 2)
        base = float(frame.top + frame.plot_height)
        for name, values in series.items():
            height = frame.plot_height * values[i] / top
            if height <= 0:
                continue
            base -= height
            parts.append(
                f'<rect class="bar seg-{escape(name)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{max(slot - gap, 1):.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}, {escape(name)}: {values[i]:,}</title></rect>"
            )
    parts += _x_labels(frame, labels, centres)
    return _svg(frame, title, parts)
