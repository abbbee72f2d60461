"""A fake Telegram Bot API: a real aiohttp server on 127.0.0.1 speaking ``/bot<token>/<method>``.

ptb's ``HTTPXRequest`` POSTs parameters form-encoded, with complex fields (``reply_markup``,
``allowed_updates``, …) as JSON strings; JSON bodies (with objects or JSON strings) and query
strings are accepted too. Replies are ``{"ok": true, "result": …}`` or the Bot API's error shape
``{"ok": false, "error_code", "description"[, "parameters"]}``.

Served methods: ``getMe``, ``sendMessage``, ``answerCallbackQuery``, ``setWebhook``,
``deleteWebhook``, ``getWebhookInfo``. ``sendMessage`` checks what Telegram checks and our adapter
must respect (text 1–4096 characters, ``callback_data`` ≤ 64 bytes, a parsable ``reply_markup``)
and answers 403 for chats in :attr:`FakeTelegram.blocked`.

Scripting: ``fail_next(method, status)`` answers the next call(s) with 429 (``retry_after``),
400, 403, 500 (or any status); ``hang_next(method)`` holds the next call until the returned
``asyncio.Event`` is set (for timeout tests, without sleeping). Every call is recorded in
:attr:`FakeTelegram.calls`, scripted failures included.

Also builders for the updates Telegram POSTs to a webhook (:func:`text_update`, …) and
:meth:`FakeTelegram.deliver`, which POSTs one to the registered webhook with the secret header.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .arrivals import Arrivals

TOKEN = "123456789:AAHfake-Token_for_tests0123456789abcd"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# parameters the Bot API takes as JSON-serialised objects or arrays
JSON_FIELDS = frozenset({"reply_markup", "entities", "caption_entities", "allowed_updates", "link_preview_options",
                         "reply_parameters", "commands", "scope", "media", "menu_button"})
METHODS = ("getMe", "sendMessage", "answerCallbackQuery", "setWebhook", "deleteWebhook", "getWebhookInfo")

_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Call:
    token: str
    method: str  # as served: "sendMessage", …
    params: dict[str, Any]  # form values stay strings; JSON_FIELDS are decoded
    content_type: str


@dataclass
class _Script:
    status: int = 200
    description: str | None = None
    retry_after: int | None = None
    release: asyncio.Event | None = None  # hang until set, then answer normally


@dataclass
class FakeTelegram:
    tokens: tuple[str, ...] = (TOKEN,)
    username: str = "hailong_test_bot"
    blocked: set[str] = field(default_factory=set)  # chat ids (as strings) that blocked the bot
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    _scripts: dict[str, deque[_Script]] = field(default_factory=lambda: defaultdict(deque))
    _runner: web.AppRunner | None = None
    _port: int = 0
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _hangs: list[asyncio.Event] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # sendMessage calls that succeeded
    arrivals: Arrivals = field(default_factory=Arrivals)
    answered: Arrivals = field(default_factory=Arrivals)  # answerCallbackQuery calls

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> "FakeTelegram":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        for event in self._hangs:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTelegram":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What to give ``Bot(token, base_url=…)``: ptb appends the token, then ``/<method>``."""
        return f"{self.url}/bot"

    # ---- scripting and inspection ---------------------------------------------------------------

    def fail_next(self, method: str, status: int, *, description: str | None = None,
                  retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 gets ``retry_after=3``
        unless told otherwise; pass ``retry_after=0`` for a 429 without it)."""
        if status == 429 and retry_after is None:
            retry_after = 3
        for _ in range(times):
            self._scripts[method].append(_Script(status, description, retry_after or None))

    def hang_next(self, method: str) -> asyncio.Event:
        """Hold the next call of ``method`` until the returned event is set (``close`` sets it too)."""
        event = asyncio.Event()
        self._hangs.append(event)
        self._scripts[method].append(_Script(release=event))
        return event

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Parameters of every ``sendMessage`` call, failed ones included."""
        return [c.params for c in self.calls_to("sendMessage")]

    # ---- webhook side -----------------------------------------------------------------------------

    async def deliver(self, update: dict[str, Any], *, url: str | None = None,
                      secret_token: str | None = None) -> tuple[int, str]:
        """POST ``update`` the way Telegram does, to ``url`` or the registered webhook, with the
        registered (or given) secret in ``X-Telegram-Bot-Api-Secret-Token``. (status, body)."""
        target = url or self.webhook.get("url")
        if not target:
            raise RuntimeError("no webhook registered and no url given")
        secret = secret_token if secret_token is not None else self.webhook.get("secret_token")
        headers = {SECRET_HEADER: secret} if secret else {}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async with session.post(target, json=update, headers=headers) as resp:
                return resp.status, await resp.text()

    # ---- the server -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        if not path.startswith("/bot"):
            return _error(404)
        token, _, method_name = path[len("/bot"):].partition("/")
        if token not in self.tokens:
            return _error(401)
        method = next((m for m in METHODS if m.lower() == method_name.lower()), None)
        try:
            params, content_type = await _read_params(request)
        except ValueError as exc:
            self.calls.append(Call(token, method or method_name, {}, request.content_type))
            return _error(400, f"Bad Request: {exc}")
        self.calls.append(Call(token, method or method_name, params, content_type))
        if method is None:
            return _error(404)
        script = self._scripts[method].popleft() if self._scripts[method] else None
        if script is not None and script.release is not None:
            await script.release.wait()
        elif script is not None:
            return _error(script.status, script.description, script.retry_after)
        return await getattr(self, f"_m_{method}")(token, params)

    async def _m_getMe(self, token: str, params: dict[str, Any]) -> web.Response:
        return _ok(self._bot_user(token) | {"can_join_groups": False, "can_read_all_group_messages": False,
                                            "supports_inline_queries": False})

    async def _m_sendMessage(self, token: str, params: dict[str, Any]) -> web.Response:
        chat_id = str(params.get("chat_id", "")).strip()
        text = params.get("text")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            problem = _keyboard_problem(markup)
            if problem:
                return _error(400, f"Bad Request: {problem}")
        if chat_id in self.blocked:
            return _error(403)
        chat: dict[str, Any] = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                                "type": "private", "first_name": "Respondent"}
        result: dict[str, Any] = {"message_id": next(self._message_ids), "from": self._bot_user(token),
                                  "chat": chat, "date": int(time.time()), "text": text}
        if markup is not None:
            result["reply_markup"] = markup
        self.delivered.append(params)
        await self.arrivals.add()
        return _ok(result)

    async def _m_answerCallbackQuery(self, token: str, params: dict[str, Any]) -> web.Response:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        await self.answered.add()
        return _ok(True)

    async def _m_setWebhook(self, token: str, params: dict[str, Any]) -> web.Response:
        url = params.get("url", "")
        secret = params.get("secret_token")
        if secret is not None and not _valid_secret(secret):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        if not url:
            self.webhook = {}
            return _ok(True, description="Webhook was deleted")
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates"),
                        "drop_pending_updates": params.get("drop_pending_updates")}
        return _ok(True, description="Webhook was set")

    async def _m_deleteWebhook(self, token: str, params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return _ok(True, description="Webhook was deleted")

    async def _m_getWebhookInfo(self, token: str, params: dict[str, Any]) -> web.Response:
        info: dict[str, Any] = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": 0}
        if self.webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return _ok(info)

    def _bot_user(self, token: str) -> dict[str, Any]:
        prefix = token.split(":", 1)[0]
        return {"id": int(prefix) if prefix.isdigit() else 1, "is_bot": True, "first_name": "Hailong Test",
                "username": self.username}


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str]:
    params: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise ValueError(f"can't parse JSON body: {exc}") from exc
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else {"filename": getattr(value, "filename", None)}
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except json.JSONDecodeError as exc:
                raise ValueError(f"can't parse {key} JSON object") from exc
    return params, content_type


def _keyboard_problem(markup: Any) -> str | None:
    if not isinstance(markup, dict):
        return "can't parse reply keyboard markup JSON object"
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None  # another keyboard kind: not checked here
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return "field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
                return "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            data = button.get("callback_data")
            if data is not None and (not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64):
                return "BUTTON_DATA_INVALID"
    return None


def _valid_secret(secret: Any) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return isinstance(secret, str) and 1 <= len(secret) <= 256 and set(secret) <= allowed


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _error(status: int, description: str | None = None, retry_after: int | None = None) -> web.Response:
    text = description or _DESCRIPTIONS.get(status, "Error").format(retry_after=retry_after)
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": text}
    if retry_after:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


# ---- updates as Telegram POSTs them to a webhook ---------------------------------------------------

_update_ids = itertools.count(100_000)
_DATE = 1_717_200_000


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}


def _chat(chat_id: int, chat_type: str = "private") -> dict[str, Any]:
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": "Lan"}
    return {"id": chat_id, "type": chat_type, "title": "Nhóm"}


def message_update(chat_id: int, fields: dict[str, Any], *, update_id: int | None = None,
                   chat_type: str = "private", message_id: int = 1, user_id: int | None = None) -> dict[str, Any]:
    return {"update_id": next(_update_ids) if update_id is None else update_id,
            "message": {"message_id": message_id, "from": _user(user_id or abs(chat_id)),
                        "chat": _chat(chat_id, chat_type), "date": _DATE, **fields}}


def text_update(chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message_update(chat_id, fields, **kw)


def photo_update(chat_id: int, caption: str | None = None, **kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"photo": [{"file_id": "AgAD-photo", "file_unique_id": "AQAD1", "width": 90,
                                         "height": 90, "file_size": 1234}]}
    if caption is not None:
        fields["caption"] = caption
    return message_update(chat_id, fields, **kw)


def callback_update(chat_id: int, data: str, *, update_id: int | None = None, query_id: str = "4382bfdwdsb323b2d9",
                    message: dict[str, Any] | None = None, chat_type: str = "private",
                    with_message: bool = True) -> dict[str, Any]:
    """A tap on an inline button with ``data``; ``message`` is the bot message it was on (default:
    a minimal one without the keyboard)."""
    query: dict[str, Any] = {"id": query_id, "from": _user(abs(chat_id)), "chat_instance": "-5000000000000000001",
                             "data": data}
    if with_message:
        query["message"] = message or {"message_id": 7, "from": {"id": 123456789, "is_bot": True,
                                                                 "first_name": "Hailong Test"},
                                       "chat": _chat(chat_id, chat_type), "date": _DATE, "text": "Câu hỏi"}
    return {"update_id": next(_update_ids) if update_id is None else update_id, "callback_query": query}


def blocked_update(chat_id: int, *, update_id: int | None = None, blocked: bool = True) -> dict[str, Any]:
    """``my_chat_member``: the user blocked (``kicked``) or unblocked (``member``) the bot."""
    bot = {"id": 123456789, "is_bot": True, "first_name": "Hailong Test", "username": "hailong_test_bot"}
    old, new = ("member", "kicked") if blocked else ("kicked", "member")
    new_member: dict[str, Any] = {"user": bot, "status": new}
    if new == "kicked":
        new_member["until_date"] = 0
    old_member: dict[str, Any] = {"user": bot, "status": old}
    if old == "kicked":
        old_member["until_date"] = 0
    return {"update_id": next(_update_ids) if update_id is None else update_id,
            "my_chat_member": {"chat": _chat(chat_id), "from": _user(chat_id), "date": _DATE,
                               "old_chat_member": old_member, "new_chat_member": new_member}}
