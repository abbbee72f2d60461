"""Web chat routes. This module only translates HTTP/WebSocket JSON to and from the core's
messages; it knows nothing of flows."""
from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.conversation import ConversationService, Reply
from bot.jsonio import dumpb, loads
from bot.logs import log
from bot.messages import Inbound
from bot.metrics import MESSAGE_SECONDS, MESSAGES
from bot.settings import Settings
from bot.state.ratelimit import Limit

from .tokens import SessionTokens, TokenError

STATIC = Path(__file__).with_name("static")
CHANNEL = "web"
_FLOW_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CHOICE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CONTEXT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_BODY = 64 * 1024
MAX_FRAME = 16 * 1024


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _error(status: int, code: str, message: str) -> web.Response:
    return _json_response({"error": code, "message": message}, status=status)


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=dumpb(body), status=status, content_type="application/json")


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {"messages": [m.to_json() for m in reply.messages], "flow_state": reply.flow_state}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WebChat:
    def __init__(self, settings: Settings, conversation_getter: Callable[[], ConversationService]) -> None:
        self.settings = settings
        self._conv = conversation_getter
        self.tokens = SessionTokens(settings.effective_secret_key(), settings.session_ttl_seconds)
        self.limiter = Limit("chat", rate=2.0, burst=20)
        # generous: a whole office or a mobile carrier can share one public address
        self.session_limiter = Limit("chat-sessions", rate=5.0, burst=100)

    @property
    def conversation(self) -> ConversationService:
        return self._conv()

    # ---- input checking ------------------------------------------------------------------

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise BadRequest("too_large", f"request body over {MAX_BODY} bytes", 413)
        try:
            raw = await request.read()  # the whole body, however it arrives; capped by client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest("too_large", f"request body over {MAX_BODY} bytes", 413) from None
        if len(raw) > MAX_BODY:
            raise BadRequest("too_large", f"request body over {MAX_BODY} bytes", 413)
        try:
            body = loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("bad_json", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise BadRequest("bad_json", "the body must be a JSON object")
        return body

    def _session(self, request: web.Request) -> str:
        sid = self.tokens.verify(request.match_info["token"])
        if isinstance(sid, TokenError):
            message = ("Phiên trò chuyện đã hết hạn, xin bắt đầu lại." if sid.code == "session_expired"
                       else "Phiên trò chuyện không hợp lệ, xin bắt đầu lại.")
            raise BadRequest(sid.code, message, 401)
        return sid

    def _client_message(self, sid: str, body: dict[str, Any]) -> Inbound:
        cid = body.get("cid")
        if not isinstance(cid, str) or not _CID.match(cid):
            raise BadRequest("bad_cid", "cid must be a client id of 1-64 letters, digits, _ . : or -")
        text, choice = body.get("text"), body.get("choice")
        if (text is None) == (choice is None):
            raise BadRequest("bad_message", "send exactly one of text or choice")
        if text is not None:
            if not isinstance(text, str):
                raise BadRequest("bad_message", "text must be a string")
            return Inbound(channel=CHANNEL, respondent_key=sid, kind="text", text=text, message_id=f"cid:{cid}")
        if isinstance(choice, str):
            choice_value: str | tuple[str, ...] = choice
            items = [choice]
        elif isinstance(choice, list) and 0 < len(choice) <= 50 and all(isinstance(c, str) for c in choice):
            choice_value = tuple(choice)
            items = choice
        else:
            raise BadRequest("bad_choice", "choice must be a choice id or a list of up to 50 choice ids")
        if not all(_CHOICE.match(c) for c in items):
            raise BadRequest("bad_choice", "a choice id has 1-64 letters, digits, _ . : or -")
        return Inbound(channel=CHANNEL, respondent_key=sid, kind="choice", choice=choice_value, message_id=f"cid:{cid}")

    async def _check_rate(self, sid: str) -> None:
        if not await self.limiter.allow(self.conversation.state, sid):
            raise BadRequest("rate_limited", "Ông/Bà gửi quá nhanh, xin chờ một chút rồi gửi lại.", 429)

    # ---- HTTP API ------------------------------------------------------------------------

    async def create_session(self, request: web.Request) -> web.Response:
        if not await self.session_limiter.allow(self.conversation.state, request.remote or "?"):
            raise BadRequest("rate_limited", "Quá nhiều phiên mới từ địa chỉ này, xin thử lại sau.", 429)
        body = await self._json(request)
        flow, ref, context = body.get("flow"), body.get("ref"), body.get("context") or {}
        if flow is not None and (not isinstance(flow, str) or not _FLOW_ID.match(flow)):
            raise BadRequest("bad_flow", "flow must be a flow id")
        if ref is not None and (not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", ref)):
            raise BadRequest("bad_ref", "ref must be an invitation code of 1-32 letters, digits, _ or -")
        if not isinstance(context, dict) or len(context) > 50:
            raise BadRequest("bad_context", "context must be an object of at most 50 link parameters")
        # portals and platforms add tracking parameters (utm_*, zarsrc): keep only well-formed ones;
        # the flow itself declares which it uses
        context = {k: v for k, v in context.items()
                   if isinstance(k, str) and _CONTEXT_KEY.match(k) and isinstance(v, str) and len(v) <= 200}
        flow_def = await self.conversation.flows.get(flow) if flow is not None else None
        if flow is not None and flow_def is None:
            raise BadRequest("unknown_flow", "Không tìm thấy khảo sát này.", 404)
        sid, token = self.tokens.issue()
        reply = await self.conversation.start_session(Inbound(
            channel=CHANNEL, respondent_key=sid, kind="start", flow=flow, invitation=ref, context=context))
        log("webchat.session", flow=reply.flow_state.get("flow"))
        title = flow_def.title if flow_def else None
        if title is None and reply.flow_state.get("flow"):
            started = await self.conversation.flows.get(reply.flow_state["flow"])
            title = started.title if started else None
        return _json_response({"session": token, "title": title, **_reply_json(reply)})

    async def post_message(self, request: web.Request) -> web.Response:
        sid = self._session(request)
        await self._check_rate(sid)
        inbound = self._client_message(sid, await self._json(request))
        return _json_response(_reply_json(await self._handle(inbound)))

    async def _handle(self, inbound: Inbound) -> Reply:
        started = time.perf_counter()
        reply = await self.conversation.handle(inbound)
        MESSAGE_SECONDS.labels(CHANNEL).observe(time.perf_counter() - started)
        MESSAGES.labels(CHANNEL, "handled").inc()
        return reply

    async def get_messages(self, request: web.Request) -> web.Response:
        sid = self._session(request)
        after = _after(request)
        rid = await self.conversation.respondent_id(CHANNEL, sid)
        messages = await self.conversation.messages_after(rid, after)
        return web.json_response({"messages": [m.to_json() for m in messages],
                                  "flow_state": await self.conversation.flow_state(rid)})

    # ---- WebSocket -----------------------------------------------------------------------

    def _allowed_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: the signed token is what counts
        own = {_origin(self.settings.base_url), f"{request.scheme}://{request.host}"}
        return origin in own or origin in self.settings.embed_origins

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        sid = self._session(request)
        if not self._allowed_origin(request):
            log("webchat.origin_rejected", origin=request.headers.get("Origin"))
            return _error(403, "origin_not_allowed", "this site may not open the chat")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        rid = await self.conversation.respondent_id(CHANNEL, sid)
        missed = await self.conversation.messages_after(rid, _after(request))
        await ws.send_json({"type": "messages", "messages": [m.to_json() for m in missed],
                            "flow_state": await self.conversation.flow_state(rid)})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await ws.send_json({"type": "error", "error": "bad_frame", "message": "send JSON text frames"})
                continue
            cid: str | None = None
            try:
                body = json.loads(msg.data)
                if isinstance(body, dict) and body.get("type") == "ping":
                    await ws.send_json({"type": "pong"})
                    continue
                if not isinstance(body, dict):
                    raise BadRequest("bad_json", "each frame must be a JSON object")
                cid = body.get("cid") if isinstance(body.get("cid"), str) else None
                await self._check_rate(sid)
                reply = await self._handle(self._client_message(sid, body))
                await ws.send_json({"type": "messages", "cid": cid, **_reply_json(reply)})
            except ValueError:
                await ws.send_json({"type": "error", "error": "bad_json", "message": "each frame must be a JSON object"})
            except BadRequest as e:
                await ws.send_json({"type": "error", "cid": cid, "error": e.code, "message": e.message})
        return ws

    # ---- pages ---------------------------------------------------------------------------

    def _frame_ancestors(self) -> str:
        return " ".join(("'self'",) + self.settings.embed_origins)

    def _page_headers(self, *, embeddable: bool) -> dict[str, str]:
        csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; "
               f"frame-ancestors {self._frame_ancestors() if embeddable else chr(39) + 'self' + chr(39)}")
        return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "strict-origin-when-cross-origin", "Cache-Control": "no-cache"}

    async def chat_page(self, request: web.Request) -> web.Response:
        body = (STATIC / "chat.html").read_text(encoding="utf-8")
        return web.Response(text=body, content_type="text/html", headers=self._page_headers(embeddable=True))

    async def widget(self, request: web.Request) -> web.Response:
        return web.Response(body=(STATIC / "widget.js").read_bytes(), content_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff",
                                     "Access-Control-Allow-Origin": "*"})

    async def invitation_link(self, request: web.Request) -> web.Response:
        code = request.match_info["code"]
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
            raise web.HTTPNotFound()
        raise web.HTTPFound(f"/chat?ref={code}")

    async def index(self, request: web.Request) -> web.Response:
        flows = [f for f in await self.conversation.flows.open_flows() if f.settings.listed]
        base = self.settings.base_url
        cards = "\n".join(
            f'<li class="hl-card"><h2>{html.escape(f.title)}</h2><p>{html.escape(f.description.strip()[:300])}</p>'
            f'<p class="hl-meta">{len(f.questions)} câu hỏi</p>'
            f'<a class="hl-start" href="/chat?flow={html.escape(f.id)}">Bắt đầu</a></li>' for f in flows)
        snippet = html.escape(f'<script src="{base}/widget.js" data-flow="sipas" async></script>')
        page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hài lòng — khảo sát và hỏi đáp</title><link rel="stylesheet" href="/static/index.css"></head>
<body class="hl-page"><header class="hl-header"><h1>Hài lòng</h1>
<p>Khảo sát ý kiến người dân và cán bộ, công chức về sự phục vụ của cơ quan hành chính nhà nước.</p></header>
<main><h2 class="hl-section">Khảo sát đang mở</h2>
<ul class="hl-cards">{cards or '<li class="hl-card"><p>Hiện chưa có khảo sát nào đang mở.</p></li>'}</ul>
<section class="hl-embed"><h2>Gắn vào cổng thông tin</h2>
<p>Các bộ, tỉnh gắn khung trò chuyện vào trang của mình bằng một dòng:</p><pre><code>{snippet}</code></pre></section>
</main></body></html>"""
        return web.Response(text=page, content_type="text/html", headers=self._page_headers(embeddable=False))


def _after(request: web.Request) -> int:
    raw = request.query.get("after", "0")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise BadRequest("bad_after", "after must be a message sequence number")
    return int(raw)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as e:
        return _error(e.status, e.code, e.message)


def setup_webchat(app: web.Application, settings: Settings, conversation_getter: Callable[[], ConversationService]) -> WebChat:
    chat = WebChat(settings, conversation_getter)
    app.middlewares.append(_errors)
    app.router.add_get("/", chat.index)
    app.router.add_get("/chat", chat.chat_page)
    app.router.add_get("/widget.js", chat.widget)
    app.router.add_get("/c/{code}", chat.invitation_link)
    app.router.add_static("/static/", STATIC, show_index=False, append_version=False)
    app.router.add_post("/api/v1/chat/sessions", chat.create_session)
    app.router.add_post("/api/v1/chat/sessions/{token}/messages", chat.post_message)
    app.router.add_get("/api/v1/chat/sessions/{token}/messages", chat.get_messages)
    app.router.add_get("/api/v1/chat/sessions/{token}/ws", chat.websocket)
    return chat
