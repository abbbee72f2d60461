"""A fake Graph API Send endpoint: a real aiohttp server on 127.0.0.1 that tests talk HTTP to.

It answers ``POST /{version}/me/messages?access_token=…`` the way Meta does: it rejects a wrong
token with error 190, enforces the documented message limits (text 2000 characters, at most 13
quick replies, titles 20 characters, payloads 1000 characters), records every accepted request and
replies ``{"recipient_id", "message_id"}``. Tests script failures for the next requests: HTTP 429,
500, Graph error codes (window closed, recipient unavailable) and a hang released by an
``asyncio.Event``, so timeout tests need no sleeps.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .arrivals import Arrivals

TEXT_LIMIT = 2000
QUICK_REPLY_LIMIT = 13
QUICK_REPLY_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
_VERSION = re.compile(r"^v\d+\.\d+$")


@dataclass(frozen=True)
class SentRequest:
    """One authenticated Send API call as the fake received it."""

    version: str
    query: dict[str, str]
    body: Any


@dataclass
class _Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    release: asyncio.Event | None = None


def graph_error(code: int, message: str, subcode: int | None = None, *, is_transient: bool | None = None) -> dict[str, Any]:
    """A Graph API error body, shaped like Meta's."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AFakeTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    return {"error": error}


class FakeGraphAPI:
    """The Send API of one Page, reachable at ``url`` once started."""

    def __init__(self, access_token: str = "fake-page-token") -> None:
        self.access_token = access_token
        self.requests: list[SentRequest] = []
        self.attempts = 0
        self._script: deque[_Reply] = deque()
        self._hangs: list[asyncio.Event] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.delivered: list[Any] = []  # bodies of successful sends
        self.arrivals = Arrivals()

    async def start(self) -> "FakeGraphAPI":
        app = web.Application()
        app.router.add_post("/{version}/me/messages", self._messages)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        for event in self._hangs:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeGraphAPI":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- scripting the next responses (consumed in order, one per request) ----

    def respond_next(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self._script.append(_Reply(status, body, dict(headers or {})))

    def rate_limit_next(self, *, status: int = 429, code: int = 4, headers: dict[str, str] | None = None) -> None:
        self.respond_next(status, graph_error(code, f"(#{code}) Application request limit reached", is_transient=True), headers)

    def server_error_next(self) -> None:
        self.respond_next(500, "Internal Server Error")

    def window_closed_next(self) -> None:
        message = "(#10) This message is sent outside of allowed window."
        self.respond_next(400, graph_error(10, message, 2018278))

    def blocked_next(self) -> None:
        self.respond_next(400, graph_error(551, "(#551) This person isn't available right now.", 1545041))

    def graph_error_next(self, code: int, message: str, subcode: int | None = None, status: int = 400) -> None:
        self.respond_next(status, graph_error(code, message, subcode))

    def hang_next(self) -> asyncio.Event:
        """The next request waits until the returned event is set (``close()`` sets it too)."""
        release = asyncio.Event()
        self._hangs.append(release)
        self._script.append(_Reply(release=release))
        return release

    # ---- the endpoint ----

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        version = request.match_info["version"]
        if not _VERSION.match(version):
            return _error(400, graph_error(2500, f"Unknown path components: /{version}/me/messages"))
        if request.query.get("access_token") != self.access_token:
            return _error(400, graph_error(190, "Invalid OAuth access token - Cannot parse access token"))
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(SentRequest(version, dict(request.query), body))
        if self._script:
            reply = self._script.popleft()
            if reply.release is not None:
                await reply.release.wait()
            else:
                return _error(reply.status, reply.body, reply.headers)
        problem = _validate(body)
        if problem is not None:
            return _error(400, graph_error(100, problem))
        self.delivered.append(body)
        await self.arrivals.add()
        return web.json_response({"recipient_id": body["recipient"]["id"], "message_id": f"m_fake{next(self._ids)}"})


def _error(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(body, (dict, list)):
        return web.json_response(body, status=status, headers=headers)
    return web.Response(status=status, text=str(body or ""), headers=headers)


def _validate(body: Any) -> str | None:
    """Meta's (#100) complaint about a Send API body, or None when it would be accepted."""
    if not isinstance(body, dict):
        return "(#100) The parameter recipient is required"
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str) or not recipient["id"]:
        return "(#100) The parameter recipient is required"
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
    message = body.get("message")
    if not isinstance(message, dict):
        return "(#100) The parameter message is required"
    text = message.get("text")
    if text is None and message.get("attachment") is None:
        return "(#100) Message cannot be empty, must provide valid attachment or text"
    if text is not None and (not isinstance(text, str) or not text.strip()):
        return "(#100) Param message[text] must be a non-empty UTF-8 encoded string"
    if text is not None and len(text) > TEXT_LIMIT:
        return f"(#100) Length of param message[text] must be less than or equal to {TEXT_LIMIT}"
    quick_replies = message.get("quick_replies")
    if quick_replies is None:
        return None
    if not isinstance(quick_replies, list) or not quick_replies:
        return "(#100) param message[quick_replies] has too few elements"
    if len(quick_replies) > QUICK_REPLY_LIMIT:
        return "(#100) param message[quick_replies] has too many elements"
    for qr in quick_replies:
        if not isinstance(qr, dict) or qr.get("content_type") != "text":
            return "(#100) param message[quick_replies][content_type] must be one of {text, user_phone_number, user_email}"
        title, payload = qr.get("title"), qr.get("payload")
        if not isinstance(title, str) or not title or len(title) > QUICK_REPLY_TITLE_LIMIT:
            return f"(#100) param title must be a non-empty string of at most {QUICK_REPLY_TITLE_LIMIT} characters"
        if not isinstance(payload, str) or not payload or len(payload) > PAYLOAD_LIMIT:
            return f"(#100) param payload must be a non-empty string of at most {PAYLOAD_LIMIT} characters"
    return None
