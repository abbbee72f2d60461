"""Drives a whole survey through a platform webhook, answering what the bot's last message asks.

The platform's fake records what we sent; the driver reads buttons (or a numbered list) from it
and, for typed questions, the question type from the flow, the way a person reads the screen.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot.app import SERVICES
from channels.platforms import SENDER

NUMBERED = re.compile(r"^1\. ", re.M)
TYPED = {"unit": "ha noi", "date": "01/01/2025", "phone": "0912345678", "text": "không có ý kiến"}


async def settle(app: web.Application) -> None:
    """Everything received is handled and everything due is sent (the background loops, stepped)."""
    await app[SERVICES].inbox.drain()
    await app[SENDER].send_due()


async def typed_answer(app: web.Application, channel: str, user: str) -> str:
    services = app[SERVICES]
    rid = await services.conversation.respondent_id(channel, user)
    state = await services.conversation.flow_state(rid)
    flow = await services.flows.get(state["flow"])
    assert flow is not None and state["question"], state
    q = flow.question(state["question"])
    if q.type == "number":
        return str(int(q.min) if q.min is not None else 1)
    return TYPED.get(q.type, "1")


async def run_survey(app: web.Application, channel: str, user: str, first: str,
                     say: Callable[..., Awaitable[list[dict[str, Any]]]],
                     buttons: Callable[[dict[str, Any]], list[str]], text_of: Callable[[dict[str, Any]], str],
                     max_turns: int = 120) -> list[dict[str, Any]]:
    """Answer until the survey completes; returns every message the platform received."""
    seen = await say(first)
    services = app[SERVICES]
    rid = await services.conversation.respondent_id(channel, user)
    for _ in range(max_turns):
        if (await services.conversation.flow_state(rid))["status"] == "completed":
            return seen
        assert seen, "the bot sent nothing"
        last = seen[-1]
        ids = buttons(last)
        if ids:
            seen = seen + await say(ids[0], button=True)  # a tap on the first button
            continue
        answer = "1" if NUMBERED.search(text_of(last)) else await typed_answer(app, channel, user)
        seen = seen + await say(answer)
    raise AssertionError("the survey did not complete")
