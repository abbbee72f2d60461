"""Results: pick a questionnaire, a period and a unit; see its indices (``bot.analytics.score_flow``,
the numbers ``hailong score`` and the period reports give) as a table and a chart, participation
per unit, and download the responses as CSV or XLSX with personal data pseudonymised.

Scoring and exports read with pandas through a synchronous engine, so they run in a worker thread
and never stall the event loop that serves chats. A unit's reader can only pick its own units; a
unit is always taken with the provinces merged into it (its lineage)."""
from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, select

from admin_api import audit
from admin_api.roles import READERS, SYSTEM_ADMIN
from bot.analytics import export_responses, parse_period, score_flow
from bot.analytics.report import render_report
from bot.store.tables import flows

from ..chart import indices_chart
from ..sync_engine import SYNC_ENGINE
from ..web import Ctx, page
from .accounts import unit_choices
from .table import ROUTES

EXPORTS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Choice:
    flow_id: str
    period: str
    unit: str | None  # None: every unit (system administrators only)


def sync_engine(ctx: Ctx) -> Engine:
    return ctx.request.app[SYNC_ENGINE].get(ctx.services.settings.effective_database_url)


async def scored_flows(ctx: Ctx) -> list[tuple[str, str]]:
    """(id, title) of the published questionnaires that have scoring rules."""
    async with ctx.services.engine.connect() as conn:
        ids = (await conn.execute(select(flows.c.flow_id).where(flows.c.published.is_(True)).distinct())).scalars().all()
    out = []
    for flow_id in sorted(ids):
        flow = await ctx.services.flows.get(flow_id)
        if flow is not None and flow.scoring:
            out.append((flow.id, flow.title))
    return out


def _choice(ctx: Ctx, flow_ids: list[str], units: list[tuple[str, str]]) -> tuple[Choice | None, str | None]:
    """The selection in the query string, or why it cannot be used."""
    q = ctx.request.query
    flow_id = q.get("flow") or (flow_ids[0] if flow_ids else "")
    period = (q.get("period") or str(date.today().year)).strip()
    everyone = ctx.who.role == SYSTEM_ADMIN
    unit = q.get("unit", "" if everyone else (units[0][0] if units else ""))
    if flow_id not in flow_ids:
        return None, "Chưa có bộ câu hỏi nào có quy tắc tính chỉ số." if not flow_ids else "Bộ câu hỏi không tồn tại."
    try:
        parse_period(period)
    except ValueError:
        return None, "Kỳ không hợp lệ: nhập năm (2025), quý (2025-Q3), tháng (2025-07) hoặc khoảng ngày (2025-01-01..2025-06-30)."
    if (unit and unit not in dict(units)) or (not unit and not everyone):
        return None, "Hãy chọn một đơn vị thuộc phạm vi của bạn."
    return Choice(flow_id, period, unit or None), None


def _unit_options(ctx: Ctx) -> list[tuple[str, str]]:
    return unit_choices(ctx.services, ctx.who)


@ROUTES.get("/results")
@page(READERS)
async def results(ctx: Ctx) -> web.StreamResponse:
    available = await scored_flows(ctx)
    units = _unit_options(ctx)
    choice, error = _choice(ctx, [f for f, _ in available], units)
    scored: dict[str, Any] | None = None
    chart: str | None = None
    labels: dict[str, str] = {}
    headline = ""
    if choice is not None:
        flow = await ctx.services.flows.get(choice.flow_id)
        assert flow is not None
        labels = {i["name"]: i.get("label") or i["name"] for i in flow.scoring}
        # the combined index (SIPAS) when the flow has one, as the period reports rank by
        headline = next((i["name"] for i in flow.scoring if i.get("method") == "mean"), flow.scoring[0]["name"])
        scored, chart = await asyncio.get_running_loop().run_in_executor(None, _score_and_draw, sync_engine(ctx),
                                                                          choice, labels, ctx.services.units)
    return ctx.render("results.html", flows=available, units=units, everyone=ctx.who.role == SYSTEM_ADMIN,
                      choice=choice, error=error, scored=scored, chart=chart, labels=labels, headline=headline,
                      status=422 if error and available else 200,
                      query=ctx.request.query)


def _score_and_draw(engine: Engine, choice: Choice, labels: dict[str, str], units: Any) -> tuple[dict[str, Any], str]:
    scored = score_flow(engine, choice.flow_id, unit=choice.unit, period=choice.period, units=units)
    names = list(scored["indices"])
    where = (units.name(choice.unit) or choice.unit) if choice.unit else "Toàn quốc"
    chart = indices_chart(f"{where}, kỳ {choice.period} (khoảng tin cậy 95%)", [labels.get(n, n) for n in names],
                          [scored["indices"][n] for n in names], [scored["ci"][n] for n in names])
    return scored, chart


@ROUTES.get(r"/results/export.{fmt:csv|xlsx}")
@page(READERS)
async def export(ctx: Ctx) -> web.StreamResponse:
    """The responses of the selection as a file; the export is written to the audit log."""
    available = await scored_flows(ctx)
    choice, error = _choice(ctx, [f for f, _ in available], _unit_options(ctx))
    if choice is None:
        return ctx.render("error.html", status=422, message=error)
    fmt = ctx.request.match_info["fmt"]
    unit = sorted(ctx.services.units.lineage(choice.unit)) if choice.unit else None
    fd, name = tempfile.mkstemp(prefix="hailong-console-", suffix="." + fmt)
    os.close(fd)
    path = Path(name)
    try:
        rows = await asyncio.get_running_loop().run_in_executor(None, lambda: export_responses(
            sync_engine(ctx), choice.flow_id, fmt, path, unit=unit, period=choice.period))
        async with ctx.services.engine.begin() as conn:
            await audit.record(conn, ctx.who, "export", "flow", choice.flow_id, choice.unit, format=fmt,
                               period=choice.period, rows=rows, via="console")
        filename = f"{choice.flow_id}_{choice.period}_{choice.unit or 'toan_quoc'}.{fmt}".replace("..", "_den_")
        response = web.StreamResponse(headers={"Content-Type": EXPORTS[fmt],
                                               "Content-Disposition": f'attachment; filename="{filename}"'})
        response.content_length = path.stat().st_size
        await response.prepare(ctx.request)
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        path.unlink(missing_ok=True)


REPORTS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "xlsx": EXPORTS["xlsx"]}


@ROUTES.get(r"/results/report.{fmt:html|pdf|xlsx}")
@page(frozenset({SYSTEM_ADMIN}))
async def report(ctx: Ctx) -> web.StreamResponse:
    """The period report ``hailong report`` writes (rankings of units, element profile, change
    against the previous period, participation). It ranks every unit against the others, so only
    system administrators download it; a unit's readers have the table, chart and exports."""
    available = await scored_flows(ctx)
    choice, error = _choice(ctx, [f for f, _ in available], _unit_options(ctx))
    if choice is None:
        return ctx.render("error.html", status=422, message=error)
    fmt = ctx.request.match_info["fmt"]
    previous = ctx.request.query.get("previous") or None
    with tempfile.TemporaryDirectory(prefix="hailong-report-") as tmp:
        try:
            [path] = await asyncio.get_running_loop().run_in_executor(None, lambda: render_report(
                sync_engine(ctx), choice.flow_id, period=choice.period, previous=previous, out_dir=Path(tmp),
                formats=[fmt], units=ctx.services.units))
        except ValueError as e:
            return ctx.render("error.html", status=422, message=f"Không lập được báo cáo: {e}")
        async with ctx.services.engine.begin() as conn:
            await audit.record(conn, ctx.who, "report", "flow", choice.flow_id, None, format=fmt, period=choice.period,
                               via="console")
        body = path.read_bytes()
    name = f"bao_cao_{choice.flow_id}_{choice.period}.{fmt}".replace("..", "_den_")
    return web.Response(body=body, headers={"Content-Type": REPORTS[fmt],
                                            "Content-Disposition": f'attachment; filename="{name}"'})
