"""Surveys: upload and edit flow files (every error with its line, as a 422), every version kept,
publish and withdraw, open and close dates, and a preview chat whose answers never count."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.content import preview, surveys
from bot.flows import FlowInvalid

from . import audit
from .api import Call, route
from .errors import ApiError, conflict, forbidden, invalid, not_found
from .models import PRINTABLE, Page, PageQuery, Strict, UnitCode, page
from .roles import ADMINS, EVERYONE, Principal

TAG = "Khảo sát"
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})
MAX_FLOW_FILE = 2 * 1024 * 1024


class Survey(BaseModel):
    flow_id: str
    title: str
    owner_unit: str | None = Field(description="null: a national survey")
    current_version: int | None = Field(description="the version new respondents get; null: none published")
    latest_version: int
    opens_at: datetime | None
    closes_at: datetime | None
    status: Literal["unpublished", "scheduled", "open", "closed"]


class SurveyVersion(BaseModel):
    version: int
    title: str
    published: bool
    checksum: str
    created_at: datetime
    responses: int = Field(description="responses given to this version, previews excluded")


class SurveyDetail(Survey):
    versions: list[SurveyVersion]


class SurveyUploadQuery(Strict):
    publish: bool = Field(False, description="publish the uploaded version at once (default: a draft)")
    unit: UnitCode | None = Field(None, description="owner of a new survey; default your unit (system "
                                                    "administrators: national)")


class SurveyEditQuery(Strict):
    publish: bool = False


class SurveyUploaded(BaseModel):
    flow_id: str
    version: int
    action: Literal["added", "unchanged", "new_version"]
    published: bool
    message: str


class SurveySchedule(Strict):
    opens_at: Instant | None = Field(None, description="null: open as soon as published")
    closes_at: Instant | None = Field(None, description="null: no closing date")


_CONTEXT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
def _text_only(value: Any) -> Any:
    """Instants as RFC 3339 text only: pydantic would also take a number of seconds, which the
    OpenAPI document does not promise."""
    if not isinstance(value, str) and value is not None:
        raise ValueError("an instant like 2026-12-31T17:00:00+07:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_text_only)]
ContextValue = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]


class SurveyPreviewBody(Strict):
    version: int | None = Field(None, ge=1, le=1_000_000, description="default: the newest version, published or not")
    context: dict[str, ContextValue] = Field(default_factory=dict, max_length=20,
                                    description="link parameters (dossier=…, draft=…); like the web chat, keys that are "
                                                "not lowercase ids are left out")


class SurveyPreview(BaseModel):
    url: str = Field(description="open in a browser: a chat whose answers are marked preview and never counted")
    token: str
    version: int
    messages: list[dict[str, Any]]


def recorder(who: Principal, action: str, object_type: str, object_id: str) -> surveys.OnChange:
    """Writes the audit record inside the core function's transaction (see audit.py)."""
    async def on_change(conn: AsyncConnection, change: dict[str, Any]) -> None:
        details = dict(change)
        unit = details.pop("unit_code", None)
        await audit.record(conn, who, action, object_type, details.pop("id", None) or details.get("flow_id") or object_id,
                           unit, **details)
    return on_change


def dates_conflict() -> ApiError:
    """409: the body is well formed but its dates contradict each other (the document can describe
    each date, not their order)."""
    return conflict("closes_at must be after opens_at")


def _version(call: Call) -> int:
    raw = call.params["version"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        raise not_found("survey version")
    return int(raw)


async def _yaml_text(call: Call) -> str:
    if call.request.content_type not in YAML_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the flow file as application/yaml")
    raw = await call.request.read()
    if len(raw) > MAX_FLOW_FILE:
        raise ApiError(413, "too_large", f"a flow file is at most {MAX_FLOW_FILE // 1024 // 1024} MB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise invalid(f"the file is not UTF-8 text (byte {e.start})") from None


def _flow_errors(e: FlowInvalid) -> ApiError:
    details = [{"line": err.line, "message": err.message, "field": "body"} for err in e.errors[:200]]
    first = e.errors[0]
    return invalid(f"the flow file has {len(e.errors)} error(s); first at line {first.line}: {first.message}"
                   if first.line else f"the flow file is not valid: {first.message}", details)


async def _store(call: Call, *, publish: bool, owner: str | None, expect_id: str | None) -> SurveyUploaded:
    text = await _yaml_text(call)
    who = call.principal
    try:
        done = await surveys.upload(call.services.engine, text, name=f"{expect_id or 'flow'}.yaml",
                                    scope=who.scope, owner_unit=owner, by=who.user_id, publish=publish,
                                    expect_id=expect_id,
                                    on_change=recorder(who, "survey.upload", "survey", expect_id or "(new)"))
    except FlowInvalid as e:
        raise _flow_errors(e) from None
    except surveys.SurveyConflict as e:
        raise conflict(str(e)) from None
    await call.services.flows.refresh()
    return SurveyUploaded(flow_id=done.flow_id, version=done.version, action=done.action,  # type: ignore[arg-type]
                    published=done.published, message=done.message)


@route("GET", "/surveys", summary="Surveys of your units, with their current version and status", tag=TAG,
       roles=EVERYONE, query=PageQuery, response=Page[Survey])
async def list_surveys(call: Call) -> dict[str, Any]:
    q = call.query
    rows = await surveys.list_surveys(call.services.engine, scope=call.principal.scope, limit=q.limit, offset=q.offset)
    return page([Survey(**r) for r in rows], q)


@route("POST", "/surveys", summary="Upload a flow file (YAML): a new survey or a new version", tag=TAG,
       roles=ADMINS, query=SurveyUploadQuery, raw_body="application/yaml", response=SurveyUploaded, status=201,
       errors=(409, 413))
async def upload_survey(call: Call) -> SurveyUploaded:
    """Errors come back as a 422 whose details give each problem's line in the file. A file whose
    version is already stored with other content is saved as the next version: earlier versions
    and the responses given to them are kept unchanged."""
    who, unit = call.principal, call.query.unit
    if unit is not None and not who.covers(unit):
        raise forbidden("you can only create surveys for your units")
    owner = unit if unit is not None else who.unit_code if who.scope is not None else None
    if who.scope is not None and owner is None:
        raise forbidden("your account has no unit")
    if owner is not None and call.services.units.name(owner) is None:
        raise invalid(f"unknown unit {owner}", [{"field": "query.unit", "message": "not in the unit catalogue"}])
    return await _store(call, publish=call.query.publish, owner=owner, expect_id=None)


@route("GET", "/surveys/{flow_id}", summary="One survey with every stored version", tag=TAG, roles=EVERYONE,
       response=SurveyDetail)
async def get_survey(call: Call) -> SurveyDetail:
    d = await surveys.get_survey(call.services.engine, call.params["flow_id"], scope=call.principal.scope)
    if d is None:
        raise not_found("survey")
    return SurveyDetail(**d)


@route("PUT", "/surveys/{flow_id}", summary="Save an edited flow file (kept as a new version when it changed)",
       tag=TAG, roles=ADMINS, query=SurveyEditQuery, raw_body="application/yaml", response=SurveyUploaded, errors=(409, 413))
async def edit_survey(call: Call) -> SurveyUploaded:
    flow_id = call.params["flow_id"]
    if not await surveys.version_exists(call.services.engine, flow_id, None, scope=call.principal.scope):
        raise not_found("survey")
    return await _store(call, publish=call.query.publish, owner=None, expect_id=flow_id)


@route("GET", "/surveys/{flow_id}/versions/{version}/file", summary="A version's flow file, as uploaded", tag=TAG,
       roles=EVERYONE, produces="application/yaml")
async def survey_file(call: Call) -> Any:
    from aiohttp import web

    text = await surveys.source_text(call.services.engine, call.params["flow_id"], _version(call),
                                     scope=call.principal.scope)
    if text is None:
        raise not_found("survey version")
    return web.Response(text=text, content_type="application/yaml", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


async def _publish(call: Call, version: int | None, published: bool) -> dict[str, Any]:
    who, flow_id = call.principal, call.params["flow_id"]
    action = "survey.publish" if published else "survey.unpublish"
    if not await surveys.set_published(call.services.engine, flow_id, version, published, scope=who.scope,
                                       on_change=recorder(who, action, "survey", flow_id)):
        raise not_found("survey version")
    await call.services.flows.refresh()
    d = await surveys.get_survey(call.services.engine, flow_id, scope=who.scope)
    return SurveyDetail(**d).model_dump() if d else {}


@route("POST", "/surveys/{flow_id}/versions/{version}/publish",
       summary="Publish a version: new respondents get the newest published one", tag=TAG, roles=ADMINS,
       response=SurveyDetail)
async def publish_version(call: Call) -> dict[str, Any]:
    return await _publish(call, _version(call), True)


@route("POST", "/surveys/{flow_id}/versions/{version}/unpublish", summary="Withdraw a version", tag=TAG,
       roles=ADMINS, response=SurveyDetail)
async def unpublish_version(call: Call) -> dict[str, Any]:
    return await _publish(call, _version(call), False)


@route("POST", "/surveys/{flow_id}/unpublish",
       summary="Withdraw the survey: nobody new can start it; those in the middle finish", tag=TAG, roles=ADMINS,
       response=SurveyDetail)
async def unpublish_survey(call: Call) -> dict[str, Any]:
    return await _publish(call, None, False)


@route("PUT", "/surveys/{flow_id}/schedule", summary="Open and close dates", tag=TAG, roles=ADMINS,
       body=SurveySchedule, response=SurveyDetail, errors=(409,))
async def schedule_survey(call: Call) -> dict[str, Any]:
    """After ``closes_at`` the chat politely refuses new respondents; those who started finish."""
    b, who, flow_id = call.body, call.principal, call.params["flow_id"]
    if b.opens_at and b.closes_at and b.opens_at >= b.closes_at:
        raise dates_conflict()
    if not await surveys.set_schedule(call.services.engine, flow_id, b.opens_at, b.closes_at, scope=who.scope,
                                      on_change=recorder(who, "survey.schedule", "survey", flow_id)):
        raise not_found("survey")
    await call.services.flows.refresh()
    d = await surveys.get_survey(call.services.engine, flow_id, scope=who.scope)
    return SurveyDetail(**d).model_dump() if d else {}


@route("POST", "/surveys/{flow_id}/preview", summary="A preview chat: try a version; its answers never count",
       tag=TAG, roles=ADMINS, body=SurveyPreviewBody, response=SurveyPreview, status=201)
async def preview_survey(call: Call) -> SurveyPreview:
    who, flow_id, b = call.principal, call.params["flow_id"], call.body
    d = await surveys.get_survey(call.services.engine, flow_id, scope=who.scope)
    if d is None:
        raise not_found("survey")
    version = b.version or d["latest_version"]
    if version not in {v["version"] for v in d["versions"]}:
        raise not_found("survey version")
    settings = call.services.settings
    tokens = preview.PreviewTokens(settings.effective_secret_key())
    context = {k: v for k, v in b.context.items() if _CONTEXT_KEY.match(k)}
    token, reply = await preview.start(call.services.conversation, tokens, flow_id, version, context)
    return SurveyPreview(url=preview.link(settings.base_url, token), token=token, version=version,
                   messages=[m.to_json() for m in reply.messages])
