"""Errors of the admin API as values a client can act on: one JSON shape for every failure,
``{"error": {"code", "message", "details"}}``, never an HTML page or a stack trace."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from bot.logs import log


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)


def not_found(what: str) -> ApiError:
    """Also the answer for rows outside the caller's units: their existence is not revealed."""
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str = "your role does not allow this") -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


def invalid(message: str, details: list[dict[str, Any]] | None = None) -> ApiError:
    return ApiError(422, "invalid", message, details or [])


def from_validation(e: ValidationError, where: str) -> ApiError:
    details = [{"field": ".".join(str(p) for p in err["loc"]) or where, "message": err["msg"]} for err in e.errors()]
    return invalid(f"the {where} is not valid", details)


def error_response(e: ApiError) -> web.Response:
    body: dict[str, Any] = {"code": e.code, "message": e.message}
    if e.details:
        body["details"] = e.details
    headers = {"WWW-Authenticate": 'Bearer realm="hailong"'} if e.status == 401 else None
    return web.json_response({"error": body}, status=e.status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(e.status, "http_error")
        message = f"no endpoint {request.method} {request.path}" if e.status == 404 else e.reason
        response = error_response(ApiError(e.status, code, message))
        if "Allow" in e.headers:
            response.headers["Allow"] = e.headers["Allow"]
        return response
    except Exception as e:  # a bug: logged with the request id, the client gets a stable shape
        log("admin_api.error", level=40, path=request.path, method=request.method, error=type(e).__name__,
            detail=str(e)[:300])
        return error_response(ApiError(500, "internal", "internal error; it has been logged"))
