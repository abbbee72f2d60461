"""The shape every platform webhook shares: verify the raw body, parse, record durably, answer 200.

A body with a valid signature that does not parse is logged and acknowledged with 200 as well:
redelivering it cannot make it readable.

Nothing is handled before the 200: handling happens after, from the inbox, so the platform's
short deadline (Zalo: about 2 s) never depends on the database, the flow or the NLU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from aiohttp import web

from bot.inbox import Inbox
from bot.logs import log
from bot.messages import Inbound
from bot.metrics import SHED

from .shedding import overloaded_response

MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Webhook:
    channel: str
    verify: Callable[[Mapping[str, str], bytes], bool]
    parse: Callable[[bytes], list[Inbound]]
    parse_error: type[Exception]
    reject_status: int = 401
    # work after recording that must not delay the 200 much (Telegram: answer callback queries)
    after: Callable[[list[Inbound]], Awaitable[None]] | None = None


def webhook_handler(hook: Webhook, inbox: Callable[[], Inbox], max_delay: float = 0.0
                    ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``max_delay`` (seconds, 0: no bound): when recorded events wait longer than this to be
    handled, answer 503 before recording anything; the platform redelivers later (bot.overload)."""
    async def handle(request: web.Request) -> web.Response:
        if max_delay and inbox().delay() > max_delay:
            SHED.labels("webhook").inc()
            log("overload.webhook_refused", level=30, channel=hook.channel, delay_ms=round(inbox().delay() * 1000))
            return overloaded_response(retry_after=max(1, round(max_delay)))
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _error(413, "too_large", f"body over {MAX_BODY} bytes")
        body = await request.read()
        if not hook.verify(request.headers, body):
            log("webhook.rejected", level=30, channel=hook.channel, reason="signature", peer=request.remote)
            return _error(hook.reject_status, "bad_signature", "missing or invalid signature")
        try:
            events = hook.parse(body)
        except (hook.parse_error, RecursionError) as e:
            # Signed by the platform but unreadable: a 4xx would make the platform redeliver it for
            # hours (Zalo then disables the webhook; Telegram holds back every later update), so it
            # is logged for us to look at and acknowledged.
            log("webhook.bad_body", level=30, channel=hook.channel, error=str(e)[:200], size=len(body))
            return web.Response(text="ignored")
        if events:
            new = await inbox().accept(events)
            log("webhook.accepted", channel=hook.channel, events=len(events), new=new)
            if hook.after is not None:
                await hook.after(events)
        return web.Response(text="ok")

    return handle


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)
