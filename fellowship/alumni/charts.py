"""Server-rendered SVG bar charts: plain strings, no JavaScript, no CDN, no style= attributes (CSP).

Each chart is an <svg role="img"> labelled by its <title> and <desc>; the page's figures table (named in the desc)
holds every number the bars show, once: no table is repeated under its chart. Labels sit above their bars, so a chart
is 340 px wide and stays legible at its own size on a 390 px phone (no shrinking of a wide drawing).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

#: Bar colours (the app's greens and a contrasting blue/amber), readable on white.
PALETTE = ("#1f6f43", "#2f6fad", "#b36b00", "#7a3e9d", "#5a6b62")
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None  #: None: no data (no denominator); drawn as an empty bar marked "n/a"
    text: str  #: the value as the reader sees it ("75.0%", "12")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    bars: Sequence[Bar]


def _chart_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


#: Geometry (px): the drawing fits a phone's column (358 px at 390 px) without being scaled down.
WIDTH, BAR_AREA, BAR_HEIGHT, LABEL_HEIGHT, GAP = 340, 270, 16, 16, 10


def bar_chart(title: str, bars: Sequence[Bar], *, maximum: float | None = None, value_heading: str | None = None,
              figures: str | None = None) -> Markup:
    """A horizontal bar chart; `maximum` fixes the scale (1.0 for shares), else the largest value."""
    return grouped_bar_chart(title, [bar.label for bar in bars], [Series(value_heading or _("Value"), bars)],
                             maximum=maximum, figures=figures)


def _legend(series: Sequence[Series]) -> tuple[list[str], int]:
    """The legend's items, wrapped onto as many lines as the chart's width needs; (svg parts, height)."""
    parts, x, y = [], 0, 4
    for n, s in enumerate(series):
        item_width = 16 + 7 * len(s.name) + 14
        if x and x + item_width > WIDTH:
            x, y = 0, y + 18
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[n % len(PALETTE)]}"/>'
                     f'<text x="{x + 16}" y="{y + 10}" font-size="12" fill="#222">{escape(s.name)}</text>')
        x += item_width
    return parts, y + 22


def grouped_bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], *,
                      maximum: float | None = None, figures: str | None = None) -> Markup:
    """Horizontal bars, one group per category (its label above) and one bar per series in it, and a legend."""
    chart_id = _chart_id("chart")
    # Outside the f-string below: pybabel does not read a message inside one.
    description = _("Bar chart; %(table)s holds the same figures.", table=figures or _("the table below"))
    legend, legend_height = _legend(series) if len(series) > 1 else ([], 0)
    per_group = LABEL_HEIGHT + BAR_HEIGHT * len(series) + GAP
    height = legend_height + max(len(categories), 1) * per_group
    values = [bar.value for s in series for bar in s.bars if bar.value is not None]
    scale = maximum if maximum else (max(values) if values else 0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(description)}</desc>', *legend]
    for row, category in enumerate(categories):
        top = legend_height + row * per_group
        parts.append(f'<text x="0" y="{top + 12}" font-size="12" font-weight="600" fill="#222">'
                     f'{escape(_shorten(category))}</text>')
        for n, s in enumerate(series):
            bar = s.bars[row]
            y = top + LABEL_HEIGHT + n * BAR_HEIGHT
            length = 0.0 if bar.value is None else max(0.0, min(bar.value / scale, 1.0)) * BAR_AREA
            parts.append(f'<rect x="0" y="{y}" width="{_number(length)}" height="{BAR_HEIGHT - 2}" '
                         f'fill="{PALETTE[n % len(PALETTE)]}"/>')
            parts.append(f'<text x="{length + 4:.0f}" y="{y + BAR_HEIGHT - 4}" font-size="11" '
                         f'fill="#222">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return Markup(f'<figure class="chart-figure">{"".join(parts)}</figure>')  # noqa: S704 - all text escaped


def _shorten(label: str, limit: int = 46) -> str:
    """Labels are cut to the chart's width; the figures table has them in full."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
