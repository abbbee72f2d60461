"""``hailong chat``: a survey in the terminal, through the same conversation service as every channel."""
from __future__ import annotations

import sys
import uuid

from bot.messages import Inbound
from bot.services import build_services
from bot.settings import Settings

from .render import numbered


async def run_console(settings: Settings, *, flow: str | None, context: dict[str, str] | None = None,
                      invitation: str | None = None, stdin=None, stdout=None) -> int:  # type: ignore[no-untyped-def]
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    services = build_services(settings)
    session = uuid.uuid4().hex
    try:
        reply = await services.conversation.start_session(Inbound(
            channel="console", respondent_key=session, kind="start", flow=flow, invitation=invitation,
            context=context or {}))
        while True:
            for m in reply.messages:
                print(numbered(m), file=stdout, end="\n\n")
            status = reply.flow_state.get("status")
            if status in ("completed", "refused", "expired"):
                return 0
            stdout.write("> ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                return 0
            reply = await services.conversation.handle(Inbound(
                channel="console", respondent_key=session, text=line.rstrip("\n"), message_id=uuid.uuid4().hex))
    finally:
        await services.close()
