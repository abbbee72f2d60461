"""An official's answer at a web address. When the platform's messaging window has closed, the
answer still reaches the chat on the citizen's next message; meanwhile the unit can give them
this link by phone or e-mail. The link is signed, so ticket ids cannot be enumerated."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Callable

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer

from bot import qa

from .http import html_page

if TYPE_CHECKING:
    from bot.services import Services
    from bot.settings import Settings

PATH = "/tra-loi/"
_SALT = "hailong.qa.answer"


def answer_link(settings: "Settings", ticket_id: str) -> str:
    token = URLSafeSerializer(settings.effective_secret_key(), salt=_SALT).dumps(ticket_id)
    return f"{settings.base_url}{PATH}{token}"


class AnswerPages:
    def __init__(self, services: Callable[[], "Services"]) -> None:
        self.services = services

    async def page(self, request: web.Request) -> web.Response:
        svc = self.services()
        try:
            ticket_id = URLSafeSerializer(svc.settings.effective_secret_key(), salt=_SALT).loads(
                request.match_info["token"])
        except BadSignature:
            ticket_id = None
        ticket = await qa.get_ticket(svc, ticket_id) if isinstance(ticket_id, str) else None
        if ticket is None or ticket["status"] not in ("answered", "published"):
            return html_page("Không tìm thấy", "<p>Không tìm thấy câu trả lời này, hoặc câu hỏi chưa được trả lời.</p>",
                             status=404)
        e = html.escape
        body = (f"<h2>Câu hỏi của Ông/Bà</h2><blockquote>{e(ticket['text'])}</blockquote>"
                f"<h2>Trả lời của cơ quan</h2><p>{e(ticket['answer']).replace(chr(10), '<br>')}</p>")
        return html_page("Trả lời câu hỏi", body)
