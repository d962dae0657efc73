"""Charts as inline SVG, drawn on the server: no chart library, no script, nothing to download.

Each chart scales to its container (a viewBox and width 100%); every bar or point carries a
<title>, which browsers show as a tooltip and screen readers read.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 24


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


def _axis(top: int) -> list[str]:
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)
        label = f"{top * fraction:,.0f}" if top * fraction == int(top * fraction) else ""
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    return parts


def _x_labels(labels: Sequence[str], x_of: list[float]) -> list[str]:
    if not labels:
        return []
    picks = sorted({0, len(labels) // 2, len(labels) - 1})
    anchors = {0: "start", len(labels) - 1: "end"}
    return [
        f'<text class="axis" x="{x_of[i]:.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="{anchors.get(i, "middle")}">{escape(labels[i])}</text>'
        for i in picks
    ]


def _svg(title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int]) -> Markup:
    """One bar per label (a day), tallest bar near the top of a round axis."""
    top = _nice_max(max(values, default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(values), 1)
    gap = min(slot * 0.2, 4)
    parts = _axis(top)
    centres = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_height * value / top
        x = LEFT + i * slot + gap / 2
        centres.append(x + (slot - gap) / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_height - height:.1f}" '
            f'width="{max(slot - gap, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
    parts += _x_labels(labels, centres)
    return _svg(title, parts)


def line_chart(title: str, labels: Sequence[str], values: Sequence[int]) -> Markup:
    """A line through one point per label (a week), for trends over few points."""
    top = _nice_max(max(values, default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(values) - 1, 1)
    points = [
        (LEFT + i * step, TOP + plot_height * (1 - value / top)) for i, value in enumerate(values)
    ]
    parts = _axis(top)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for (x, y), label, value in zip(points, labels, values, strict=True):
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
            f"<title>{escape(label)}: {value:,}</title></circle>"
        )
    parts += _x_labels(labels, [x for x, _ in points])
    return _svg(title, parts)
