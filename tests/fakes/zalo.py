"""A fake Zalo: a real aiohttp server on 127.0.0.1 speaking the two HTTP endpoints the adapter uses.

- ``POST /v3.0/oa/message/cs``: checks the ``access_token`` header and the message shape, records
  every request, answers ``{"error": 0, "message": "Success", "data": {message_id, user_id}}``.
- ``POST /v4/oa/access_token``: checks the ``secret_key`` header and the form, and rotates the
  single-use refresh token (a spent one is refused).

Tests script failures per endpoint, consumed in order: an HTTP status, a Zalo error code, or a
hang the test releases (to drive the client into its timeout without sleeping). Both endpoints
live on one server, so ``url`` is both the API and the OAuth base URL.

The success and error shapes follow Zalo's; the OAuth error codes here are illustrative.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from channels.zalo.signature import SIGNATURE_HEADER, sign

from .arrivals import Arrivals

ACCESS_TOKEN_LIFETIME = "90000"  # seconds, sent as a string like Zalo does


@dataclass
class Failure:
    """One scripted answer replacing the normal one."""

    status: int = 200
    error: int | None = None
    message: str = ""
    retry_after: str | None = None
    hold: asyncio.Event | None = None  # the request waits for this before answering
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set when its request comes in

    @classmethod
    def http(cls, status: int, retry_after: str | None = None) -> "Failure":
        return cls(status=status, retry_after=retry_after)

    @classmethod
    def api(cls, error: int, message: str = "scripted error") -> "Failure":
        return cls(error=error, message=message)

    @classmethod
    def hang(cls) -> "Failure":
        """Hold the request until ``release()`` (then answer normally)."""
        return cls(hold=asyncio.Event())

    def release(self) -> None:
        if self.hold is not None:
            self.hold.set()


@dataclass
class Recorded:
    headers: dict[str, str]
    body: Any


@dataclass
class FakeZalo:
    app_id: str = "1496501574123456789"
    app_secret: str = "fake-app-secret"
    oa_id: str = "4318253617123456789"
    oa_secret_key: str = "fake-oa-secret-key"
    sends: list[Recorded] = field(default_factory=list)  # every send request, answered or not
    delivered: list[dict[str, Any]] = field(default_factory=list)  # bodies of successful sends
    refreshes: list[Recorded] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)  # accepted by the send endpoint
    refresh_token: str = ""  # the one refresh token that works now
    user_messages: dict[str, str] = field(default_factory=dict)  # msg_id -> user id, for replies
    url: str = ""

    def __post_init__(self) -> None:
        self._send_script: deque[Failure] = deque()
        self._refresh_script: deque[Failure] = deque()
        self._holds: list[Failure] = []
        self._runner: web.AppRunner | None = None
        self._counter = itertools.count(1)
        self.access_token = ""  # the newest access token issued
        self.arrivals = Arrivals()
        self._issue()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> "FakeZalo":
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._refresh)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for failure in self._holds:
            failure.release()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- scripting ----------------------------------------------------------------------------

    def fail_sends(self, *failures: Failure) -> None:
        self._send_script.extend(failures)
        self._holds.extend(f for f in failures if f.hold is not None)

    def fail_refreshes(self, *failures: Failure) -> None:
        self._refresh_script.extend(failures)
        self._holds.extend(f for f in failures if f.hold is not None)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (as after 25 hours)."""
        self.access_tokens.clear()

    def user_event(self, user_id: str, text: str, *, event_name: str = "user_send_text",
                   timestamp_ms: int = 1_700_000_000_000) -> tuple[bytes, dict[str, str]]:
        """A signed webhook body for a user's message, as Zalo would POST it; replying to its
        ``msg_id`` is accepted by the send endpoint."""
        msg_id = secrets.token_hex(10)
        self.user_messages[msg_id] = user_id
        body = json.dumps({
            "app_id": self.app_id, "user_id_by_app": "5510736513123456789", "event_name": event_name,
            "timestamp": str(timestamp_ms), "sender": {"id": user_id}, "recipient": {"id": self.oa_id},
            "message": {"text": text, "msg_id": msg_id},
        }, ensure_ascii=False).encode()
        return body, {SIGNATURE_HEADER: sign(body, self.oa_secret_key), "Content-Type": "application/json"}

    # ---- endpoints ----------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        self.sends.append(Recorded(dict(request.headers), body))
        scripted = await self._scripted(self._send_script)
        if scripted is not None:
            return scripted
        if request.headers.get("access_token") not in self.access_tokens:
            return _zalo(-216, "Access token is invalid")
        problem, user_id = self._check_message(body)
        if problem:
            return _zalo(-201, problem)
        self.delivered.append(body)
        await self.arrivals.add()
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": secrets.token_hex(16), "user_id": user_id}})

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.refreshes.append(Recorded(dict(request.headers), dict(form)))
        scripted = await self._scripted(self._refresh_script)
        if scripted is not None:
            return scripted
        if request.headers.get("secret_key") != self.app_secret:
            return _oauth_error(-14014, "Invalid secret key", "secret_key is invalid")
        if form.get("app_id") != self.app_id:
            return _oauth_error(-14001, "Invalid app_id", "app_id is invalid")
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(-14003, "Invalid grant_type", "grant_type must be refresh_token")
        if not form.get("refresh_token") or form.get("refresh_token") != self.refresh_token:
            return _oauth_error(-14020, "Invalid refresh token", "refresh_token is invalid or was already used")
        self._issue()
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": ACCESS_TOKEN_LIFETIME})

    # ---- helpers ------------------------------------------------------------------------------

    def _issue(self) -> None:
        """A new access token and a new refresh token; the previous refresh token is spent."""
        n = next(self._counter)
        access = f"access-{n}-{secrets.token_hex(4)}"
        self.access_tokens.add(access)
        self.access_token = access
        self.refresh_token = f"refresh-{n}-{secrets.token_hex(4)}"

    async def _scripted(self, script: deque[Failure]) -> web.Response | None:
        if not script:
            return None
        failure = script.popleft()
        failure.arrived.set()
        if failure.hold is not None:
            await failure.hold.wait()
        if failure.status != 200:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return web.Response(status=failure.status, text="scripted HTTP failure", headers=headers)
        if failure.error is not None:
            return _zalo(failure.error, failure.message)
        return None

    def _check_message(self, body: Any) -> tuple[str | None, str]:
        if not isinstance(body, dict):
            return "body is not a JSON object", ""
        recipient, message = body.get("recipient"), body.get("message")
        if not isinstance(recipient, dict) or len(recipient) != 1:
            return "recipient must hold exactly one of message_id, user_id", ""
        if "message_id" in recipient:
            user_id = self.user_messages.get(recipient["message_id"])
            if user_id is None:
                return "message_id is invalid", ""
        else:
            user_id = recipient.get("user_id")
            if not isinstance(user_id, str) or not user_id.isdigit():
                return "user_id is invalid", ""
        if not isinstance(message, dict):
            return "message is invalid", user_id
        text = message.get("text")
        if not isinstance(text, str) or not text or len(text) > 2000:
            return "text is invalid", user_id
        attachment = message.get("attachment")
        if attachment is not None:
            return _check_buttons(attachment), user_id
        return None, user_id


def _check_buttons(attachment: Any) -> str | None:
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return "attachment is invalid"
    payload = attachment.get("payload")
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 5:
        return "buttons are invalid"
    for b in buttons:
        if not isinstance(b, dict) or b.get("type") != "oa.query.hide":
            return "button type is invalid"
        if not isinstance(b.get("title"), str) or not 0 < len(b["title"]) <= 100:
            return "button title is invalid"
        if not isinstance(b.get("payload"), str) or not 0 < len(b["payload"]) <= 1000:
            return "button payload is invalid"
    return None


def _zalo(error: int, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message})


def _oauth_error(error: int, name: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_name": name, "error_reason": "",
                              "error_description": description})
