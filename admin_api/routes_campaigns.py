"""Campaigns: a survey sent to a list of people of some units, paced, with reminders, and the
live participation table per unit. Everything is read through the caller's unit scope in the
query itself: a province's official sees nothing of another province, not even a count."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Literal

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.campaigns import reports, service
from bot.campaigns.export import PARTICIPATION_HEADER, UNIT_DELIVERY_HEADER, to_csv
from bot.campaigns.lists import XLSX_MEDIA_TYPE, ListError, RawRow, read_csv, read_xlsx

from . import audit
from .api import Call, route
from .errors import ApiError, conflict, forbidden, invalid, not_found
from .models import Ident, Name, Page, PageQuery, Strict, UnitCode
from .roles import ADMINS, ANSWERERS, EVERYONE, Principal

TAG = "Chiến dịch mời"
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
MAX_LIST_ERRORS = 500


class CampaignBody(Strict):
    name: Name
    flow_id: Ident
    units: list[UnitCode] = Field(min_length=1, max_length=200)
    send_from: str = Field("08:00", pattern=HHMM, description="local time (Asia/Ho_Chi_Minh), HH:MM")
    send_until: str = Field("20:00", pattern=HHMM)
    weekdays_only: bool = False
    reminder_after_days: int = Field(3, ge=1, le=60)
    max_reminders: int = Field(2, ge=0, le=10)
    valid_days: int | None = Field(None, ge=1, le=366, description="invitation codes expire after; null: never")


class SettingsBody(Strict):
    name: Name | None = None
    send_from: str | None = Field(None, pattern=HHMM)
    send_until: str | None = Field(None, pattern=HHMM)
    weekdays_only: bool | None = None
    reminder_after_days: int | None = Field(None, ge=1, le=60)
    max_reminders: int | None = Field(None, ge=0, le=10)


class Campaign(BaseModel):
    id: str
    name: str
    flow_id: str
    status: Literal["draft", "sending", "paused"]
    units: list[str] = Field(description="the campaign's units among yours")
    invitees: int = Field(description="people on the list, in your units")
    send_from: str
    send_until: str
    weekdays_only: bool
    reminder_after_days: int
    max_reminders: int
    valid_days: int | None
    created_at: datetime
    started_at: datetime | None


class ImportResult(BaseModel):
    imported: int
    by_chat: dict[str, int] = Field(description="people the campaign messages itself, per platform")
    by_unit: int = Field(description="people without a chat address: the unit sends them the links "
                                     "(Hailong sends no e-mail or SMS); see /unit-delivery.csv")


class InviteesQuery(PageQuery):
    status: Literal["invited", "delivered", "opened", "started", "partial", "completed", "refused", "failed"] | None = None
    unit: UnitCode | None = None
    sent_by_unit: bool | None = Field(None, description="true: only people the unit must send the links to")


class Invitee(BaseModel):
    id: str
    unit_code: str
    line: int = Field(description="line in the uploaded list")
    name: str
    channel: str | None
    address: str | None = Field(description="platform id the campaign messages")
    phone: str | None
    email: str | None
    code: str
    links: dict[str, str]
    status: str
    sent_by_unit: bool
    messages: int = Field(description="invitation and reminders queued so far")
    delivery_error: str | None
    opted_out_at: datetime | None


class UnitParticipation(BaseModel):
    unit_code: str = Field(description="\"*\" on the total row")
    unit_name: str
    registered: int
    reached: int = Field(description="the invitation was delivered, or the person started")
    started: int
    completed: int
    rate: float | None = Field(description="completed / registered, in percent")


class Participation(BaseModel):
    campaign_id: str
    at: datetime
    units: list[UnitParticipation]


class Done(BaseModel):
    ok: bool = True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def recorder(who: Principal, action: str, object_id: str | None = None) -> service.OnChange:
    """The audit record of a campaign change, in its transaction (the console uses it too); a new
    campaign's id comes with the change."""
    async def on_change(conn: AsyncConnection, change: dict[str, Any]) -> None:
        unit = change.pop("unit_code", None)
        cid = change.pop("campaign_id", None) or object_id
        await audit.record(conn, who, action, "campaign", cid, unit, **change)
    return on_change


async def _step(fn: Awaitable[Any]) -> Any:
    try:
        return await fn
    except LookupError as e:
        raise not_found(str(e) or "campaign") from None
    except service.CampaignConflict as e:
        raise conflict(str(e)) from None
    except service.OutsideScope as e:
        raise forbidden(str(e)) from None


async def _visible(call: Call, campaign_id: str | None = None) -> dict[str, Any]:
    cid = campaign_id or call.params["campaign_id"]
    c = await service.get_campaign(call.services, cid, scope=call.principal.scope)
    if c is None:
        raise not_found("campaign")
    return c


@route("POST", "/campaigns", summary="Create a campaign: a survey, the units it covers, hours and reminders",
       tag=TAG, roles=ADMINS, body=CampaignBody, response=Campaign, status=201, errors=(404, 409))
async def create_campaign(call: Call) -> dict[str, Any]:
    b, who = call.body, call.principal
    spec = service.CampaignSpec(b.name, b.flow_id, tuple(b.units), b.send_from, b.send_until, b.weekdays_only,
                                b.reminder_after_days, b.max_reminders, b.valid_days)
    cid = await _step(service.create_campaign(call.services, spec, scope=who.scope, by=who.user_id, now=_now(),
                                              on_change=recorder(who, "campaign.create")))
    return await _visible(call, cid)


@route("GET", "/campaigns", summary="Campaigns covering your units, newest first", tag=TAG, roles=EVERYONE,
       query=PageQuery, response=Page[Campaign])
async def list_campaigns(call: Call) -> dict[str, Any]:
    q = call.query
    items = await service.list_campaigns(call.services, scope=call.principal.scope, limit=q.limit, offset=q.offset)
    return {"items": items, "next_offset": q.offset + q.limit if len(items) == q.limit else None}


@route("GET", "/campaigns/{campaign_id}", summary="One campaign", tag=TAG, roles=EVERYONE, response=Campaign)
async def get_campaign(call: Call) -> dict[str, Any]:
    return await _visible(call)


@route("PATCH", "/campaigns/{campaign_id}", summary="Change the name, sending hours or reminders", tag=TAG,
       roles=ADMINS, body=SettingsBody, response=Campaign, errors=(409,))
async def update_campaign(call: Call) -> dict[str, Any]:
    cid, who = call.params["campaign_id"], call.principal
    changes = call.body.model_dump(exclude_unset=True, exclude_none=True)
    return await _step(service.update_campaign(call.services, cid, changes, scope=who.scope, now=_now(),
                                               on_change=recorder(who, "campaign.update", cid)))


@route("POST", "/campaigns/{campaign_id}/start", summary="Start (or resume) sending invitations and reminders",
       tag=TAG, roles=ADMINS, response=Campaign, errors=(409,))
async def start_campaign(call: Call) -> dict[str, Any]:
    cid, who = call.params["campaign_id"], call.principal
    return await _step(service.set_status(call.services, cid, "sending", scope=who.scope, now=_now(),
                                          on_change=recorder(who, "campaign.start", cid)))


@route("POST", "/campaigns/{campaign_id}/pause", summary="Pause sending (nothing new is queued)", tag=TAG,
       roles=ADMINS, response=Campaign)
async def pause_campaign(call: Call) -> dict[str, Any]:
    cid, who = call.params["campaign_id"], call.principal
    return await _step(service.set_status(call.services, cid, "paused", scope=who.scope, now=_now(),
                                          on_change=recorder(who, "campaign.pause", cid)))


async def _import(call: Call, media_types: tuple[str, ...], read: Callable[[bytes], list[RawRow]]) -> dict[str, Any]:
    if call.request.content_type not in media_types:
        raise ApiError(415, "unsupported_media_type", f"send the list as {media_types[0]}")
    await _visible(call)  # 404 before reading a large body for a campaign one cannot see
    try:
        raw = read(await call.request.read())
    except ListError as e:
        raise invalid(str(e)) from None
    cid, who = call.params["campaign_id"], call.principal
    try:
        done = await _step(service.import_list(call.services, cid, raw, scope=who.scope, now=_now(),
                                               on_change=recorder(who, "campaign.import", cid)))
    except service.ListRejected as e:
        details = [x.to_json() for x in e.errors[:MAX_LIST_ERRORS]]
        more = f" (the first {MAX_LIST_ERRORS} are listed)" if len(e.errors) > MAX_LIST_ERRORS else ""
        raise invalid(f"{len(e.errors)} problems in the list; nothing was imported{more}", details) from None
    return {"imported": done.imported, "by_chat": done.by_chat, "by_unit": done.by_unit}


IMPORT_DOC = ("Columns by header (Vietnamese or English): Họ tên/name, Đơn vị/unit (code or name), Kênh/channel "
              "(zalo, telegram, messenger), Tài khoản/handle (the platform id), Số điện thoại/phone, Email. "
              "Every row is checked; one bad row and nothing is imported, and every problem comes back with its "
              "line number. Phones and e-mails are kept only for people without a chat account.")


@route("POST", "/campaigns/{campaign_id}/invitees/csv", summary="Add people from a CSV list (UTF-8)", tag=TAG,
       roles=ADMINS, raw_body="text/csv", response=ImportResult, description=IMPORT_DOC)
async def import_csv(call: Call) -> dict[str, Any]:
    return await _import(call, ("text/csv",), read_csv)


@route("POST", "/campaigns/{campaign_id}/invitees/xlsx", summary="Add people from an Excel list (.xlsx)", tag=TAG,
       roles=ADMINS, raw_body="application/octet-stream", response=ImportResult,
       description=IMPORT_DOC + f" Send the workbook as {XLSX_MEDIA_TYPE} or application/octet-stream.")
async def import_xlsx(call: Call) -> dict[str, Any]:
    return await _import(call, (XLSX_MEDIA_TYPE, "application/octet-stream"), read_xlsx)


@route("GET", "/campaigns/{campaign_id}/invitees", summary="People invited in your units, with their status",
       tag=TAG, roles=ANSWERERS, query=InviteesQuery, response=Page[Invitee])
async def list_invitees(call: Call) -> dict[str, Any]:
    await _visible(call)
    q = call.query
    items = await reports.list_invitees(call.services, call.params["campaign_id"], scope=call.principal.scope,
                                        status=q.status, unit=q.unit, by_unit=q.sent_by_unit, limit=q.limit,
                                        offset=q.offset)
    return {"items": items, "next_offset": q.offset + q.limit if len(items) == q.limit else None}


@route("POST", "/campaigns/{campaign_id}/invitees/{invitee_id}/opt-out",
       summary="Record that a person does not want to take part: no more messages", tag=TAG, roles=ANSWERERS,
       response=Done)
async def opt_out(call: Call) -> dict[str, Any]:
    cid, iid, who = call.params["campaign_id"], call.params["invitee_id"], call.principal
    await _step(service.opt_out(call.services, cid, iid, scope=who.scope, now=_now(),
                                on_change=recorder(who, "campaign.opt_out", cid)))
    return {"ok": True}


@route("GET", "/campaigns/{campaign_id}/participation", summary="Participation per unit, live", tag=TAG,
       roles=EVERYONE, response=Participation)
async def participation(call: Call) -> dict[str, Any]:
    await _visible(call)
    rows = await reports.participation(call.services, call.params["campaign_id"], scope=call.principal.scope)
    return {"campaign_id": call.params["campaign_id"], "at": _now(), "units": [r.to_json() for r in rows]}


def _csv(body: bytes, filename: str) -> web.Response:
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@route("GET", "/campaigns/{campaign_id}/participation.csv", summary="Participation per unit as CSV (Excel)",
       tag=TAG, roles=EVERYONE, produces="text/csv")
async def participation_csv(call: Call) -> web.Response:
    await _visible(call)
    cid = call.params["campaign_id"]
    rows = await reports.participation(call.services, cid, scope=call.principal.scope)
    body = to_csv(PARTICIPATION_HEADER, [(r.unit_code, r.unit_name, r.registered, r.reached, r.started, r.completed,
                                          "" if r.rate is None else r.rate) for r in rows])
    return _csv(body, f"participation-{cid}.csv")


@route("GET", "/campaigns/{campaign_id}/unit-delivery.csv",
       summary="People the unit must send the links to itself (no chat account), as CSV", tag=TAG,
       roles=ANSWERERS, produces="text/csv")
async def unit_delivery_csv(call: Call) -> web.Response:
    await _visible(call)
    cid = call.params["campaign_id"]
    rows: list[tuple[Any, ...]] = []
    offset = 0
    while True:
        page = await reports.list_invitees(call.services, cid, scope=call.principal.scope, by_unit=True,
                                           limit=5_000, offset=offset)
        rows += [(p["line"], p["unit_code"], p["name"], p["phone"] or "", p["email"] or "", p["code"],
                  p["links"]["web"], p["status"]) for p in page]
        if len(page) < 5_000:
            break
        offset += 5_000
    return _csv(to_csv(UNIT_DELIVERY_HEADER, rows), f"unit-delivery-{cid}.csv")

