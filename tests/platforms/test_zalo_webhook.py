"""Zalo OA end to end: signed webhook in, conversation, replies out through the fake Zalo API."""
from __future__ import annotations

import json
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.store.tables import answers, inbox, outbox, responses
from channels.platforms import SENDER
from fakes.zalo import Failure, FakeZalo

from .driver import run_survey, settle

USER = "2512736519123456789"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


@pytest.fixture
async def app_client(platform_settings: Any, zalo: FakeZalo, aiohttp_client: Any) -> Any:
    s = platform_settings.with_(zalo_app_id=zalo.app_id, zalo_app_secret=zalo.app_secret,
                                zalo_oa_secret_key=zalo.oa_secret_key, zalo_access_token=zalo.access_token,
                                zalo_refresh_token=zalo.refresh_token, zalo_api_base=zalo.url,
                                zalo_oauth_base=zalo.url, send_backoff_seconds=0.0)
    app = create_app(s, background=False)
    return await aiohttp_client(app)


def buttons(message: dict[str, Any]) -> list[str]:
    attachment = message["message"].get("attachment")
    return [b["payload"] for b in attachment["payload"]["buttons"]] if attachment else []


def text_of(message: dict[str, Any]) -> str:
    return message["message"].get("text", "")


async def count(app: Any, table: Any, *where: Any) -> int:
    async with app[SERVICES].engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


def sayer(client: Any, zalo: FakeZalo, user: str = USER) -> Any:
    async def say(text: str, button: bool = False) -> list[dict[str, Any]]:  # a tap sends the payload as text
        before = len(zalo.delivered)
        body, headers = zalo.user_event(user, text)
        resp = await client.post("/webhooks/zalo", data=body, headers=headers)
        assert resp.status == 200, await resp.text()
        await settle(client.app)
        return zalo.delivered[before:]
    return say


async def test_a_full_sipas_survey_over_zalo(app_client: Any, zalo: FakeZalo) -> None:
    seen = await run_survey(app_client.app, "zalo", USER, "sipas", sayer(app_client, zalo), buttons, text_of)
    assert "cảm ơn" in text_of(seen[-1]).lower() or "cam on" in text_of(seen[-1]).lower()
    assert await count(app_client.app, responses, responses.c.disposition == "completed",
                       responses.c.channel == "zalo") == 1
    assert await count(app_client.app, answers) > 30
    # every reply quoted one of the user's own message ids: free replies, never paid proactive messages
    assert all("message_id" in m["recipient"] for m in zalo.delivered)
    assert all(m["recipient"]["message_id"] in zalo.user_messages for m in zalo.delivered)


async def test_the_same_webhook_three_times_stores_one_answer(app_client: Any, zalo: FakeZalo) -> None:
    say = sayer(app_client, zalo)
    await say("sipas")
    await say("choice:yes")
    body, headers = zalo.user_event(USER, "ha noi")
    for _ in range(3):
        resp = await app_client.post("/webhooks/zalo", data=body, headers=headers)
        assert resp.status == 200
    await settle(app_client.app)
    assert await count(app_client.app, answers) == 1
    assert await count(app_client.app, inbox) == 3  # "sipas", "choice:yes", "ha noi" once


async def test_a_forged_signature_stores_nothing(app_client: Any, zalo: FakeZalo) -> None:
    body, headers = zalo.user_event(USER, "sipas")
    for bad in ({**headers, "X-ZEvent-Signature": "mac=" + "0" * 64}, {"Content-Type": "application/json"}):
        resp = await app_client.post("/webhooks/zalo", data=body, headers=bad)
        assert resp.status == 401
    tampered = body.replace(b"sipas", b"SIPAS")
    assert (await app_client.post("/webhooks/zalo", data=tampered, headers=headers)).status == 401
    await settle(app_client.app)
    assert await count(app_client.app, inbox) == 0 and zalo.delivered == []


async def test_a_signed_but_malformed_body_is_acknowledged_and_stores_nothing(app_client: Any, zalo: FakeZalo) -> None:
    """Answering an error would make Zalo redeliver garbage for hours: it is logged and dropped."""
    from channels.zalo import sign

    body = json.dumps({"app_id": zalo.app_id, "timestamp": "1", "event_name": "user_send_text"}).encode()
    resp = await app_client.post("/webhooks/zalo", data=body,
                                 headers={"X-ZEvent-Signature": sign(body, zalo.oa_secret_key)})
    assert resp.status == 200
    assert await count(app_client.app, inbox) == 0 and zalo.delivered == []


async def test_a_send_failing_twice_with_5xx_is_delivered_once(app_client: Any, zalo: FakeZalo) -> None:
    zalo.fail_sends(Failure.http(500), Failure.http(502))
    sent = await sayer(app_client, zalo)("sipas")
    assert len(sent) >= 1
    assert len(zalo.sends) == len(sent) + 2
    assert await count(app_client.app, outbox, outbox.c.status == "sent") == len(sent)


async def test_a_send_that_finally_fails_is_visible(app_client: Any, zalo: FakeZalo) -> None:
    zalo.fail_sends(Failure.api(-201, "user id is invalid"))
    await sayer(app_client, zalo)("sipas")
    failed = await app_client.app[SENDER].repo.failed()
    assert failed and "-201" in (failed[0]["last_error"] or "")


async def test_outside_the_48h_window_nothing_is_sent_until_the_user_writes(app_client: Any, zalo: FakeZalo) -> None:
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from bot.store.tables import contacts

    say = sayer(app_client, zalo)
    await say("sipas")
    engine = app_client.app[SERVICES].engine
    async with engine.begin() as conn:  # two days pass
        await conn.execute(update(contacts).values(last_inbound_at=datetime.now(timezone.utc) - timedelta(hours=49)))
    # a reminder-like message queued while the window is closed
    rid = await app_client.app[SERVICES].conversation.respondent_id("zalo", USER)
    before = len(zalo.sends)
    from bot.messages import Inbound

    await app_client.app[SERVICES].conversation.handle(Inbound("zalo", USER, kind="event", text="follow",
                                                               message_id="zalo:follow:late"))
    await settle(app_client.app)
    assert len(zalo.sends) == before
    assert await count(app_client.app, outbox, outbox.c.status == "window_closed", outbox.c.respondent_id == rid) >= 1
    sent = await say("choice:yes")  # the user writes again: held messages go first, then the reply
    assert await count(app_client.app, outbox, outbox.c.status == "window_closed") == 0
    assert len(sent) >= 2
