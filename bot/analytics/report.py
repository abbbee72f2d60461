"""Period reports for officials: HTML with inline SVG charts, the same charts in a PDF, and the
tables in an XLSX workbook (``hailong report`` and the console call ``render_report``).

Content: headline index with confidence interval, ranking of units, element profile, change
against a previous period, participation (responses per unit). Everything is computed by
``score_flow``, so a report never disagrees with ``hailong score``.
"""
from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import Engine

from ..store.db import create_engine_sync
from ..units import UnitCatalogue
from . import charts
from .frame import connect, newest_flow
from .rounds import default_catalogue, score_flow

FORMATS = ("html", "pdf", "xlsx")


@dataclass
class ReportData:
    """What every format shows, computed once."""
    flow_id: str
    title: str
    period: str
    previous: str | None
    labels: dict[str, str]
    headline: str
    current: dict[str, Any]
    before: dict[str, Any] | None
    unit_names: dict[str, str]

    def ranking(self) -> list[tuple[str, float | None, list[float] | None, int]]:
        """(unit, headline value, interval, responses), best first, units without a value last."""
        rows = [(u, b["indices"].get(self.headline), b["ci"].get(self.headline), b["responses"])
                for u, b in self.current["by_unit"].items()]
        return sorted(rows, key=lambda r: (r[1] is None, -(r[1] or 0), r[0]))

    def unit_label(self, code: str) -> str:
        return self.unit_names.get(code, code)

    def change(self) -> list[tuple[str, float | None, float | None, float | None]]:
        """(index, now, before, difference in points) for every index."""
        out = []
        for name, now in self.current["indices"].items():
            was = self.before["indices"].get(name) if self.before else None
            out.append((name, now, was, None if now is None or was is None else round(now - was, 2)))
        return out


def _headline(scoring: Sequence[dict[str, Any]]) -> str:
    """The combined index (SIPAS) when the flow has one, else its first index."""
    return next((i["name"] for i in scoring if i.get("method") == "mean"), scoring[0]["name"])


def collect(db: str | Engine, flow_id: str, *, period: str, previous: str | None = None,
            units: UnitCatalogue | None = None, today: date | None = None) -> ReportData:
    catalogue = units or default_catalogue()
    with connect(db) as conn:
        flow = newest_flow(conn, flow_id)
    if not flow.scoring:
        raise ValueError(f"flow {flow_id} has no scoring rules to report on")
    current = score_flow(db, flow_id, period=period, units=catalogue, today=today)
    before = score_flow(db, flow_id, period=previous, units=catalogue, today=today) if previous else None
    codes = set(current["by_unit"]) | set(before["by_unit"] if before else ())
    return ReportData(flow.id, flow.title, period, previous, {i["name"]: i.get("label") or i["name"] for i in flow.scoring},
                      _headline(flow.scoring), current, before,
                      {c: catalogue.name(c) or c for c in codes})


# --- figures ------------------------------------------------------------------------------------

def figures(data: ReportData) -> list[tuple[str, Any]]:
    """(caption, matplotlib figure) in report order; the caller closes them."""
    out: list[tuple[str, Any]] = []
    ranking = data.ranking()
    out.append((f"Xếp hạng theo {data.labels[data.headline]}", charts.hbar(
        f"Xếp hạng đơn vị – {data.labels[data.headline]} ({data.period})",
        [data.unit_label(u) for u, *_ in ranking], [v for _, v, _, _ in ranking],
        errors=[tuple(ci) if ci else None for _, _, ci, _ in ranking])))  # type: ignore[misc]
    names = list(data.current["indices"])
    out.append(("Các chỉ số", charts.hbar(
        f"Các chỉ số ({data.period}), khoảng tin cậy 95%", [data.labels[n] for n in names],
        [data.current["indices"][n] for n in names],
        errors=[tuple(data.current["ci"][n]) if data.current["ci"][n] else None for n in names],  # type: ignore[misc]
        xmax=max([100.0] + [v for v in data.current["indices"].values() if v is not None]))))
    if data.before is not None:
        rows = data.change()
        out.append((f"So sánh với {data.previous}", charts.paired(
            f"So sánh {data.period} với {data.previous}", [data.labels[n] for n, *_ in rows],
            [r[1] for r in rows], [r[2] for r in rows], data.period, str(data.previous))))
    by_count = sorted(data.current["by_unit"].items(), key=lambda kv: (-kv[1]["responses"], kv[0]))
    out.append(("Số phiếu theo đơn vị", charts.hbar(
        f"Mức độ tham gia: số phiếu hợp lệ theo đơn vị ({data.period})",
        [data.unit_label(u) for u, _ in by_count], [float(b["responses"]) for _, b in by_count],
        xmax=max([1.0] + [float(b["responses"]) for _, b in by_count]), fmt="{:.0f}")))
    return out


# --- writers ------------------------------------------------------------------------------------

def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
       "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}td:nth-child(n+2){text-align:right}"
       "figure{margin:1.5em 0}svg{max-width:100%;height:auto}")


def _html(data: ReportData, figs: list[tuple[str, Any]]) -> str:
    c = data.current
    head = data.headline
    ci = c["ci"][head]
    parts = [f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{html.escape(data.title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{html.escape(data.title)}</h1><p>Kỳ báo cáo: <b>{html.escape(data.period)}</b>"
             + (f" – so sánh với {html.escape(data.previous)}" if data.previous else "") + "</p>",
             f"<p>{html.escape(data.labels[head])}: <b>{_num(c['indices'][head])}</b>"
             + (f" (khoảng tin cậy 95%: {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
             + f". Phiếu hợp lệ: {c['responses']}; phiếu bị loại (kiểm soát chất lượng): {c['excluded']}.</p>"]
    for caption, fig in figs:
        parts.append(f"<figure>{charts.svg(fig)}<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("<h2>Các chỉ số</h2>" + _table(
        ["Chỉ số", "Giá trị", "KTC 95%", "Số trả lời hợp lệ", f"Kỳ trước ({data.previous or '—'})", "Thay đổi"],
        [[data.labels[n], _num(now), "—" if not c["ci"][n] else f"{c['ci'][n][0]:.2f}–{c['ci'][n][1]:.2f}",
          c["valid"][n] if c["valid"][n] is not None else "—", _num(was), _num(d)] for n, now, was, d in data.change()]))
    parts.append("<h2>Xếp hạng đơn vị</h2>" + _table(
        ["Hạng", "Đơn vị", data.labels[head], "Số phiếu"],
        [[i, data.unit_label(u), _num(v), n] for i, (u, v, _, n) in enumerate(data.ranking(), start=1)]))
    parts.append("<p><small>Khoảng tin cậy: Wilson cho tỷ lệ, xấp xỉ chuẩn cho điểm trung bình; chỉ số tổng hợp "
                 "giả định các yếu tố độc lập.</small></p></body></html>")
    return "".join(parts)


def _xlsx(data: ReportData, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "chi_so"
    ws.append(["index", "label", "value", "ci_low", "ci_high", "valid", "previous", "change"])
    c = data.current
    for n, now, was, d in data.change():
        ci = c["ci"][n] or [None, None]
        ws.append([n, data.labels[n], now, ci[0], ci[1], c["valid"][n], was, d])
    units = wb.create_sheet("don_vi")
    names = list(c["indices"])
    units.append(["rank", "unit", "name", "responses"] + names)
    for i, (u, _, _, n) in enumerate(data.ranking(), start=1):
        units.append([i, u, data.unit_label(u), n] + [c["by_unit"][u]["indices"][k] for k in names])
    meta = wb.create_sheet("thong_tin")
    for row in (("flow", data.flow_id), ("period", data.period), ("previous", data.previous or ""),
                ("responses", c["responses"]), ("excluded", c["excluded"])):
        meta.append(list(row))
    wb.save(path)


def _pdf(figs: list[tuple[str, Any]], path: Path, title: str) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path, metadata={"Title": title}) as pdf:
        for _, fig in figs:
            pdf.savefig(fig)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be passed around
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_report(db: str | Engine, flow_id: str, *, period: str, out_dir: Path, previous: str | None = None,
                  formats: Sequence[str] = FORMATS, units: UnitCatalogue | None = None,
                  today: date | None = None) -> list[Path]:
    """Write ``<flow>_<period>.html|pdf|xlsx`` into ``out_dir`` (created if missing) and return the
    paths. ValueError for an unknown flow or format or a malformed period."""
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown report format {', '.join(bad)}: use {', '.join(FORMATS)}")
    engine = create_engine_sync(db) if isinstance(db, str) else db
    try:
        data = collect(engine, flow_id, period=period, previous=previous, units=units, today=today)
    finally:
        if isinstance(db, str):
            engine.dispose()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{flow_id}_{period}".replace("/", "-").replace("..", "_to_")
    figs = figures(data) if {"html", "pdf"} & set(formats) else []
    written: list[Path] = []
    try:
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            if fmt == "html":
                text = _html(data, figs)
                _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
            elif fmt == "pdf":
                _atomic(path, lambda p: _pdf(figs, p, data.title))
            else:
                _atomic(path, lambda p: _xlsx(data, p))
            written.append(path)
    finally:
        for _, fig in figs:
            charts.close(fig)
    return written
