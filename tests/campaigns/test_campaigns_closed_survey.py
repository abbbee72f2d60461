"""A survey's id typed on a platform (how invitees on Zalo, whose links carry no parameter, and
people who read it in a letter reach it) after it closed, or before it opens: the same polite
answer the web chat gives for a link to it, not a menu that silently lacks it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bot.app import SERVICES
from bot.content.surveys import set_schedule
from bot.store.flows_repo import vn_date
from fakes.telegram import FakeTelegram

from .conftest import sayer, text_of


async def test_a_closed_or_not_yet_open_survey_typed_on_telegram_is_answered_politely(
        tg_app: Any, tg: FakeTelegram) -> None:
    services = tg_app.app[SERVICES]
    say = sayer(tg_app, tg, 400001)
    closed = datetime.now(timezone.utc) - timedelta(days=2)
    await set_schedule(services.engine, "par_index", None, closed, scope=None)

    [reply] = await say("par_index")
    assert text_of(reply) == services.dialogues.say("flow_closed", closed=vn_date(closed))
    assert "khép lại" in text_of(reply)

    opens = datetime.now(timezone.utc) + timedelta(days=10)
    await set_schedule(services.engine, "par_index", opens, None, scope=None)
    [reply] = await say("PAR INDEX")
    assert text_of(reply) == services.dialogues.say("flow_not_open_yet", opens=vn_date(opens))

    await set_schedule(services.engine, "par_index", None, None, scope=None)
    started = await say("par_index")
    assert "khép lại" not in text_of(started[0]) and "chưa bắt đầu" not in text_of(started[0])
