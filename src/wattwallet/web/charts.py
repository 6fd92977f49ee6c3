"""Bar charts as SVG, drawn on the server: readable without JavaScript, no inline styles (the CSP
allows none), and each one shown beside a table with the same figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from markupsafe import Markup, escape


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str  # under the bar (may be empty to thin the axis)
    value: float
    title: str  # the bar's tooltip and accessible name


def bars(values: Sequence[Bar], *, title: str, unit: str, width: int = 400, height: int = 230) -> Markup:
    """An SVG bar chart; `title` names it for screen readers (the table beside it has the figures)."""
    left, bottom, top = 48, 34, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((b.value for b in values), default=0.0)
    scale = peak if peak > 0 else 1.0
    step = plot_w / max(1, len(values))
    bar_w = max(1.0, step * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="14" fill="#222">'
        f"{escape(_short(peak))}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="14" fill="#222">0</text>',
        f'<text x="{left - 4}" y="{height - 4}" text-anchor="end" font-size="14" fill="#222">'
        f"{escape(unit)}</text>",
    ]
    for n, bar in enumerate(values):
        h = plot_h * (bar.value / scale) if bar.value > 0 else 0
        x = left + n * step + (step - bar_w) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            'fill="#0b5394">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
        if bar.label:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 16}" text-anchor="middle" font-size="13" '
                f'fill="#222">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"
