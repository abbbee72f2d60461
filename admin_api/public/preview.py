"""The preview chat page an official opens from ``POST /surveys/{id}/preview``: the survey as a
respondent sees it, served without JavaScript (each answer is a form post), on the ``preview``
channel so nothing said here is ever counted. The signed token in the address is the session."""
from __future__ import annotations

import html
import secrets
from typing import Any, Callable

from aiohttp import web

from bot.content import preview
from bot.services import Services

from .http import html_page

MAX_FORM = 16 * 1024


class PreviewPages:
    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services

    def _session(self, request: web.Request) -> preview.PreviewSession | None:
        svc = self._services()
        return preview.PreviewTokens(svc.settings.effective_secret_key()).verify(request.match_info["token"])

    async def page(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            return html_page("Liên kết xem trước không hợp lệ", "<p>Liên kết đã hết hạn hoặc không đúng. Xin tạo liên kết "
                                                               "xem trước mới từ trang quản trị.</p>", 404)
        conv = self._services().conversation
        rid = await conv.respondent_id(preview.CHANNEL, session.sid)
        messages = await conv.messages_after(rid, 0)
        e = html.escape
        bubbles = "".join(f"<p class='hl-meta'>{e(m.text)}</p>".replace("\n", "<br>") for m in messages)
        last = messages[-1].input if messages else None
        body = (f"<p><strong>Xem trước: {e(session.flow_id)}, phiên bản {session.version}.</strong> Câu trả lời ở đây "
                f"được đánh dấu xem trước và không được tính vào kết quả.</p>{bubbles}"
                f"{_answer_form(request.path, last)}")
        return html_page("Xem trước khảo sát", body)

    async def post(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None or request.content_type != "application/x-www-form-urlencoded" \
                or (request.content_length or 0) > MAX_FORM:
            return html_page("Không gửi được", "<p>Liên kết xem trước không hợp lệ.</p>", 400)
        form = await request.post()
        choices = [c for c in form.getall("choice", []) if isinstance(c, str) and 0 < len(c) <= 64][:50]
        text = form.get("text")
        inbound = None
        if len(choices) == 1 and form.get("multi") != "1":
            inbound = preview.message(session, choice=choices[0], cid=secrets.token_hex(8))
        elif choices:
            inbound = preview.message(session, choice=tuple(choices), cid=secrets.token_hex(8))
        elif isinstance(text, str) and text.strip():
            inbound = preview.message(session, text=text[:2000], cid=secrets.token_hex(8))
        if inbound is not None:
            await self._services().conversation.handle(inbound)
        raise web.HTTPSeeOther(request.path)


def _answer_form(action: str, spec: Any) -> str:
    e = html.escape
    buttons = ""
    if spec is not None and spec.type == "choice":
        buttons = "".join(f"<button class='hl-start' name='choice' value='{e(c.id)}'>{e(c.label)}</button> "
                          for c in spec.choices)
    elif spec is not None and spec.type == "multi":
        buttons = "<input type='hidden' name='multi' value='1'>" + "".join(
            f"<p><label><input type='checkbox' name='choice' value='{e(c.id)}'> {e(c.label)}</label></p>"
            for c in spec.choices)
    return (f"<form method='post' action='{e(action)}'>{buttons}<p><input type='text' name='text' maxlength='2000' "
            f"aria-label='Câu trả lời'> <button class='hl-start' type='submit'>Gửi</button></p></form>")
