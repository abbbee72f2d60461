"""The results chart: drawn on the server by ``bot.analytics.charts`` (matplotlib, the same charts
as the period reports) and embedded as an SVG image in a data: URI. As an image it is a document
of its own, so its inline styling needs no exception in the page's strict CSP, and it can never
run script."""
from __future__ import annotations

import base64
import threading
from typing import Sequence

from bot.analytics import charts

_PYPLOT = threading.Lock()  # pyplot's figure registry is process-global and not thread-safe


def indices_chart(title: str, labels: Sequence[str], values: Sequence[float | None],
                  intervals: Sequence[Sequence[float] | None]) -> str:
    """A data: URI of horizontal bars with 95 % interval whiskers (call from a worker thread)."""
    with _PYPLOT:
        xmax = max([100.0] + [v for v in values if v is not None])
        fig = charts.hbar(title, labels, values, errors=[(ci[0], ci[1]) if ci else None for ci in intervals],
                          xmax=xmax)
        try:
            svg = charts.svg(fig)
        finally:
            charts.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
