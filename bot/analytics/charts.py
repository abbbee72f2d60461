"""Report charts drawn on the server with matplotlib: inline SVG for HTML, the same figures in
the PDF. No CDN, no JavaScript, no network; DejaVu Sans (shipped with matplotlib) has every
Vietnamese glyph."""
from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

matplotlib.rcParams.update({"font.family": "DejaVu Sans", "svg.fonttype": "none", "pdf.fonttype": 42,
                            "axes.spines.top": False, "axes.spines.right": False})
BAR = "#1f5fa8"
PREVIOUS = "#b9c7d8"
ROW_INCH = 0.28


def _height(rows: int) -> float:
    return max(2.2, 0.9 + ROW_INCH * rows)


def hbar(title: str, labels: Sequence[str], values: Sequence[float | None], *,
         errors: Sequence[tuple[float, float] | None] | None = None, xmax: float | None = 100.0,
         fmt: str = "{:.2f}") -> Figure:
    """Horizontal bars, first label on top, value written at the end of each bar; ``errors``
    are (lo, hi) confidence bounds drawn as whiskers."""
    fig = plt.figure(figsize=(8, _height(len(labels))))
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    vals = [v if v is not None else 0.0 for v in values]
    ax.barh(ys, vals, color=BAR, height=0.6)
    if errors:
        for y, v, e in zip(ys, vals, errors):
            if e is not None:
                ax.errorbar(v, y, xerr=[[v - e[0]], [e[1] - v]], fmt="none", ecolor="#333333", capsize=3, lw=1)
    ends = [max(v, e[1]) if e else v for v, e in zip(vals, errors or [None] * len(vals))]  # label past the whisker
    for y, v, end in zip(ys, values, ends):
        ax.text(end + (xmax or max(vals or [1])) * 0.01, y, "—" if v is None else fmt.format(v),
                va="center", fontsize=8)
    ax.set_yticks(ys, [str(label) for label in labels], fontsize=8)
    if xmax:
        ax.set_xlim(0, xmax * 1.08)
    ax.set_title(title, fontsize=11, loc="left")
    fig.tight_layout()
    return fig


def paired(title: str, labels: Sequence[str], now: Sequence[float | None], before: Sequence[float | None],
           now_label: str, before_label: str) -> Figure:
    """Two bars per label: the period against the previous one."""
    fig = plt.figure(figsize=(8, _height(len(labels) * 1.4)))
    ax = fig.add_subplot()
    ys = [float(y) for y in range(len(labels))][::-1]
    ax.barh([y + 0.2 for y in ys], [v or 0 for v in now], height=0.38, color=BAR, label=now_label)
    ax.barh([y - 0.2 for y in ys], [v or 0 for v in before], height=0.38, color=PREVIOUS, label=before_label)
    ax.set_yticks(ys, [str(label) for label in labels], fontsize=8)
    ax.set_xlim(0, 108)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=11, loc="left")
    fig.tight_layout()
    return fig


def svg(fig: Figure) -> str:
    """The figure as an <svg> element to inline in HTML (XML prolog and DOCTYPE dropped)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def close(fig: Figure) -> None:
    plt.close(fig)
