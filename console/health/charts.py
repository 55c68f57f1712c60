"""SVG geometry for the Health page, computed on the server so the page needs no chart library and no inline style.

Every drawing uses a fixed viewBox; the template scales it with CSS. Coordinates are rounded to 0.1 so the
markup stays small. Missing values (a latency with no requests in an interval) break a line instead of
pretending a zero.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CHART_WIDTH, CHART_HEIGHT = 300.0, 80.0
TIMELINE_WIDTH = 1000.0


@dataclass(frozen=True, slots=True)
class Line:
    """One series: its label, CSS class and SVG path (`M x y L x y ...`, empty without values)."""

    label: str
    css_class: str
    path: str
    latest: str  # the newest value, formatted


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    unit: str
    lines: tuple[Line, ...]
    top: str  # the value of the chart's upper edge, formatted
    start: float  # Unix seconds of the left edge
    end: float

    @property
    def is_empty(self) -> bool:
        return not any(line.path for line in self.lines)

    @property
    def width(self) -> float:
        return CHART_WIDTH

    @property
    def height(self) -> float:
        return CHART_HEIGHT


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of a timeline in viewBox units (0..TIMELINE_WIDTH), passing or failing, with its tooltip."""

    x: float
    width: float
    ok: bool
    title: str


def nice_top(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten at or above `value` (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value * (1 - 1e-9))


def line_path(times: Sequence[float], values: Sequence[float | None], start: float, end: float, top: float) -> str:
    """The SVG path of `values` at `times` on a chart spanning `start`..`end` and 0..`top`."""
    span = max(end - start, 1e-9)
    parts: list[str] = []
    pen_down = False
    for at, value in zip(times, values, strict=True):
        if value is None:
            pen_down = False
            continue
        x = (at - start) / span * CHART_WIDTH
        y = CHART_HEIGHT - min(value / top, 1.0) * CHART_HEIGHT
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
    return " ".join(parts)


def timeline(states: Sequence[tuple[bool, float, str]], start: float, end: float) -> tuple[Segment, ...]:
    """Segments for `states` ((ok, since, title), oldest first) between `start` and `end`; time before the first
    state is left blank (not yet sampled)."""
    span = max(end - start, 1e-9)
    segments: list[Segment] = []
    for index, (ok, since, title) in enumerate(states):
        until = states[index + 1][1] if index + 1 < len(states) else end
        left, right = max(since, start), min(until, end)
        if right <= left and index + 1 < len(states):
            continue
        x = (left - start) / span * TIMELINE_WIDTH
        width = max((right - left) / span * TIMELINE_WIDTH, 2.0)  # a blip stays visible
        segments.append(Segment(round(x, 1), round(min(width, TIMELINE_WIDTH - x), 1), ok, title))
    return tuple(segments)
