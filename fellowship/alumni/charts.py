"""Server-rendered SVG bar charts: plain strings, no JavaScript, no CDN, no style= attributes (CSP).

Each chart is an <svg role="img"> labelled by its <title> and <desc>, inside a <figure> with a data table holding
the same numbers, so screen readers and people who prefer tables get everything the bars show.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

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


def bar_chart(title: str, bars: Sequence[Bar], *, maximum: float | None = None, value_heading: str = "Value",
              label_heading: str = "Group") -> Markup:
    """A horizontal bar chart with its data table; `maximum` fixes the scale (1.0 for shares), else the largest."""
    return grouped_bar_chart(title, [bar.label for bar in bars], [Series(value_heading, bars)], maximum=maximum,
                             label_heading=label_heading)


def grouped_bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], *,
                      maximum: float | None = None, label_heading: str = "Group") -> Markup:
    """Horizontal bars, one group per category and one bar per series in it, a legend, and the data table."""
    chart_id = _chart_id("chart")
    label_width, bar_area, bar_height, gap, value_width = 200, 360, 16, 10, 70
    per_group = bar_height * len(series) + gap
    legend_height = 22 if len(series) > 1 else 0
    height = legend_height + max(len(categories), 1) * per_group + 10
    width = label_width + bar_area + value_width
    values = [bar.value for s in series for bar in s.bars if bar.value is not None]
    scale = maximum if maximum else (max(values) if values else 0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">Bar chart; the table below it holds the same figures.</desc>']
    if len(series) > 1:
        x = 8  # the legend may use the label column too: four series names need the whole width
        for n, s in enumerate(series):
            colour = PALETTE[n % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                         f'<text x="{x + 16}" y="14" font-size="12" fill="#222">{escape(s.name)}</text>')
            x += 20 + 7 * len(s.name) + 16
    for row, category in enumerate(categories):
        top = legend_height + row * per_group
        parts.append(f'<text x="{label_width - 8}" y="{top + bar_height * len(series) / 2 + 4:.0f}" font-size="12" '
                     f'text-anchor="end" fill="#222">{escape(_shorten(category))}</text>')
        for n, s in enumerate(series):
            bar = s.bars[row]
            y = top + n * bar_height
            length = 0.0 if bar.value is None else max(0.0, min(bar.value / scale, 1.0)) * bar_area
            parts.append(f'<rect x="{label_width}" y="{y}" width="{_number(length)}" height="{bar_height - 2}" '
                         f'fill="{PALETTE[n % len(PALETTE)]}"/>')
            parts.append(f'<text x="{label_width + length + 4:.0f}" y="{y + bar_height - 4}" font-size="11" '
                         f'fill="#222">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return Markup(f'<figure class="chart-figure">{"".join(parts)}'  # noqa: S704 - every text above is escaped
                  f'{_table(title, categories, series, label_heading)}</figure>')


def _table(title: str, categories: Sequence[str], series: Sequence[Series], label_heading: str) -> str:
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = "".join(
        f'<tr><th scope="row">{escape(category)}</th>'
        + "".join(f"<td>{escape(s.bars[n].text)}</td>" for s in series) + "</tr>"
        for n, category in enumerate(categories))
    if not categories:
        rows = f'<tr><td colspan="{len(series) + 1}">No data yet.</td></tr>'
    return (f'<div class="table-wrap" role="region" tabindex="0" aria-label="{escape(title)} (data)">'
            f'<table class="chart-data"><caption>{escape(title)} (data)</caption>'
            f'<thead><tr><th scope="col">{escape(label_heading)}</th>{head}</tr></thead><tbody>{rows}</tbody>'
            "</table></div>")


def _shorten(label: str, limit: int = 28) -> str:
    """Axis labels are cut to fit; the table beside the chart has them in full."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
