"""The HTML report's charts, drawn with matplotlib as PNG images to embed in the page.

Static images, not a JavaScript charting library: the page must open with no network, stay
small (a Vega-Lite chart inlines about 0.8 MB of scripts, Plotly's bundle 4.8 MB, where a PNG
of a network is 10-20 KB), and look the same in every browser and mail client; a Monday glance
needs no zooming. matplotlib is imported only when an HTML report is written.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colours of the three states (and the trend's area): distinct for the colour-blind too.
OK, DUE_SOON, OVERDUE, TREND = "#2b8a3e", "#e8a33d", "#c92a2a", "#1c7ed6"
_SIZE = (4.6, 2.2)
_DPI = 90


def _figure() -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=_SIZE, dpi=_DPI)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def _png(figure: Figure) -> bytes:
    from matplotlib import pyplot

    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=_DPI)
    pyplot.close(figure)
    return out.getvalue()


def cadence_chart(days_since: Sequence[int], cadence: int, due_soon_days: int) -> bytes:
    """How many people were last in touch how long ago, in bars coloured by state (in
    cadence, due soon, overdue), with the cadence as a line: where the network stands."""
    figure, axes = _figure()
    # Up to three cadences, a bar for a few days each; everyone beyond in the last bar (a
    # contact of ten years ago would squash the bars that matter).
    top = 3 * cadence
    width = max(1, -(-top // 24))
    edges = list(range(0, top + width, width))
    counts = [0] * len(edges)
    for days in days_since:
        counts[min(days // width, len(counts) - 1)] += 1
    colours = [
        OVERDUE if start > cadence else DUE_SOON if start + width > cadence - due_soon_days else OK
        for start in edges
    ]
    axes.bar(edges, counts, width=width * 0.9, align="edge", color=colours)
    axes.axvline(cadence, color="#495057", linestyle="--", linewidth=1)
    axes.set_xlabel(f"days since the last exchange (the last bar: {top} or more)", fontsize=8)
    axes.set_ylabel("people", fontsize=8)
    axes.set_title(f"cadence: {cadence} days", fontsize=9, loc="left")
    return _png(figure)


def trend_chart(points: Sequence[tuple[str, float]]) -> bytes:
    """The share of the network kept in cadence at each recorded run (ISO instants), as an
    area: whether the user keeps up."""
    from datetime import datetime

    from matplotlib.dates import date2num

    figure, axes = _figure()
    when = date2num([datetime.fromisoformat(at) for at, _ in points])  # type: ignore[no-untyped-call]
    axes.xaxis_date()
    share = [pct for _, pct in points]
    axes.fill_between(when, share, color=TREND, alpha=0.35)
    axes.plot(when, share, color=TREND, marker="o", markersize=3, linewidth=1.5)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% in cadence", fontsize=8)
    axes.set_title("kept in cadence, run by run", fontsize=9, loc="left")
    figure.autofmt_xdate()
    return _png(figure)
