"""A small route registry: each endpoint is declared once with its roles and pydantic models, and
both the aiohttp routes and the OpenAPI document come from that declaration, so the document
cannot drift from what the server accepts. (aiohttp has no maintained OpenAPI layer for
pydantic 2 that also enforces roles; this is ~100 lines.)"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from .errors import ApiError, forbidden, from_validation, invalid
from .roles import EVERYONE, Principal

if TYPE_CHECKING:
    from bot.services import Services

PREFIX = "/api/v1/admin"
# path parameters are ids: anything else is a 404 before any query runs
ID_PATTERN = r"[A-Za-z0-9_.:\-]{1,100}"
_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Call:
    request: web.Request
    services: "Services"
    principal: Principal
    params: dict[str, str]
    body: Any = None
    query: Any = None


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    roles: frozenset[str] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    # request bodies that are not JSON (a flow file, a spreadsheet): their media type
    raw_body: str | None = None
    produces: str = "application/json"
    description: str = ""
    # error statuses beyond the usual ones (401/403 with roles, 404 with a path id, 415/422 with a body)
    errors: tuple[int, ...] = ()


@dataclass
class Api:
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, *, summary: str, tag: str, roles: frozenset[str] | None = EVERYONE,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, response: Any = None,
              status: int = 200, raw_body: str | None = None, produces: str = "application/json",
              description: str = "", errors: tuple[int, ...] = ()) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.endpoints.append(Endpoint(method.upper(), path, fn, summary, tag, roles, body, query, response,
                                           status, raw_body, produces, description or (fn.__doc__ or "").strip(),
                                           errors))
            return fn
        return register

    def mount(self, app: web.Application, services: Callable[[web.Request], "Services"],
              authenticate: Callable[[web.Request, "Services"], Awaitable[Principal]]) -> None:
        for ep in self.endpoints:
            app.router.add_route(ep.method, _PARAM.sub(lambda m: "{%s:%s}" % (m.group(1), ID_PATTERN), ep.path),
                                 _wrap(ep, services, authenticate))


API = Api()
route = API.route


def _wrap(ep: Endpoint, services: Callable[[web.Request], "Services"],
          authenticate: Callable[[web.Request, "Services"], Awaitable[Principal]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        svc = services(request)
        principal = await authenticate(request, svc) if ep.roles is not None else _ANONYMOUS
        if ep.roles is not None and principal.role not in ep.roles:
            raise forbidden()
        call = Call(request, svc, principal, dict(request.match_info))
        if ep.query is not None:
            try:
                call.query = ep.query.model_validate(dict(request.query))
            except ValidationError as e:
                raise from_validation(e, "query") from None
        if ep.body is not None:
            call.body = await _json_body(request, ep.body)
        result = await ep.handler(call)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None and ep.status == 204:
            return web.Response(status=204)
        return web.Response(body=orjson.dumps(to_jsonable_python(result, by_alias=True)), status=ep.status,
                            content_type="application/json", headers={"Cache-Control": "no-store"})
    return handle


async def _json_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as e:
        raise invalid(f"the body is not JSON: {e.msg} at position {e.pos}") from None
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise from_validation(e, "body") from None


_ANONYMOUS = Principal("", "", "anonymous", None, frozenset())
