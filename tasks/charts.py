"""Charts as SVG text, with no plotting library: a journey's funnel and a metric's history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH = 720
ROW = 34
BAR_LEFT = 290


def funnel_svg(title: str, steps: Sequence[tuple[str, int, float | None]]) -> str:
    """Horizontal bars, one per step: ``(name, customers, conversion from the step before)``."""
    top = max((reached for _, reached, _ in steps), default=0) or 1
    height = 50 + ROW * len(steps)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (name, reached, conversion) in enumerate(steps):
        y = 40 + ROW * index
        width = (WIDTH - BAR_LEFT - 90) * reached / top
        label = "" if conversion is None else f" ({conversion:.0%})"
        parts += [
            f'<text x="10" y="{y + 18}">{escape(name[:40])}</text>',
            f'<rect x="{BAR_LEFT}" y="{y + 4}" width="{width:.1f}" height="20" fill="#4c78a8"/>',
            f'<text x="{BAR_LEFT + width + 6:.1f}" y="{y + 18}">{reached}{label}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def series_svg(title: str, points: Sequence[tuple[datetime, float]], target: float | None) -> str:
    """A line through a metric's values over time, with its target as a dashed line."""
    height, left, bottom, right = 260, 60, 220, WIDTH - 20
    values = [v for _, v in points] + ([target] if target is not None else [])
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        high, low = high + 1, low - 1

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - 40)

    step = (right - left) / max(len(points) - 1, 1)
    line = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="22" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
        f'<text x="6" y="{y(high) + 4:.1f}">{high:g}</text>',
        f'<text x="6" y="{y(low) + 4:.1f}">{low:g}</text>',
    ]
    if target is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(target):.1f}" x2="{right}" y2="{y(target):.1f}" '
            f'stroke="#e45756" stroke-dasharray="6 4"/>'
        )
    if points:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#4c78a8" stroke-width="2"/>')
        parts.append(f'<text x="{left}" y="{bottom + 18}">{points[0][0].date()}</text>')
        parts.append(
            f'<text x="{right}" y="{bottom + 18}" text-anchor="end">{points[-1][0].date()}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bar(value: int, top: int, width: int = 30) -> str:
    """A text bar for tables."""
    return "█" * round(width * value / top) if top else ""
