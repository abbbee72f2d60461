"""Messenger end to end: the GET handshake, signed webhook batches in, replies out through the fake Graph API."""
from __future__ import annotations

import itertools
import json
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.invitations import create_invitations
from bot.store.tables import answers, inbox, outbox, responses
from channels.messenger import sign
from fakes.messenger import FakeGraphAPI

from .driver import run_survey, settle

SECRET, VERIFY, TOKEN, PAGE = "app-secret", "verify-me", "EAAB-page-token", "1067280970047460"
PSID = "6852170548195442"
_mids = itertools.count(1)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def app_client(platform_settings: Any, graph: FakeGraphAPI, aiohttp_client: Any) -> Any:
    s = platform_settings.with_(messenger_app_secret=SECRET, messenger_verify_token=VERIFY,
                                messenger_page_token=TOKEN, messenger_api_base=graph.url,
                                send_backoff_seconds=0.0)
    return await aiohttp_client(create_app(s, background=False))


def item(psid: str, text: str | None = None, payload: str | None = None, ref: str | None = None) -> dict[str, Any]:
    base: dict[str, Any] = {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1_700_000_000_000 + next(_mids)}
    if ref is not None:
        base["referral"] = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
        return base
    message: dict[str, Any] = {"mid": f"m_{next(_mids)}", "text": text or payload}
    if payload is not None:
        message["quick_reply"] = {"payload": payload}
    base["message"] = message
    return base


def body(*items: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000_000, "messaging": list(items)}]}).encode()
    return raw, {"X-Hub-Signature-256": sign(raw, SECRET), "Content-Type": "application/json"}


def buttons(message: dict[str, Any]) -> list[str]:
    return [q["payload"] for q in message["message"].get("quick_replies", [])]


def text_of(message: dict[str, Any]) -> str:
    return message["message"].get("text", "")


async def count(app: Any, table: Any, *where: Any) -> int:
    async with app[SERVICES].engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


def sayer(client: Any, graph: FakeGraphAPI, psid: str = PSID) -> Any:
    async def say(answer: str, button: bool = False) -> list[dict[str, Any]]:
        before = len(graph.delivered)
        raw, headers = body(item(psid, payload=answer) if button else item(psid, text=answer))
        resp = await client.post("/webhooks/messenger", data=raw, headers=headers)
        assert resp.status == 200, await resp.text()
        await settle(client.app)
        return graph.delivered[before:]
    return say


async def test_subscription_handshake(app_client: Any) -> None:
    ok = await app_client.get("/webhooks/messenger", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                            "hub.challenge": "1158201444"})
    assert ok.status == 200 and await ok.text() == "1158201444"
    bad = await app_client.get("/webhooks/messenger", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                             "hub.challenge": "1"})
    assert bad.status == 403


async def test_a_full_sipas_survey_over_messenger(app_client: Any, graph: FakeGraphAPI) -> None:
    seen = await run_survey(app_client.app, "messenger", PSID, "sipas", sayer(app_client, graph), buttons, text_of)
    assert seen
    assert await count(app_client.app, responses, responses.c.disposition == "completed",
                       responses.c.channel == "messenger") == 1
    assert all(m["messaging_type"] == "RESPONSE" and m["recipient"] == {"id": PSID} for m in graph.delivered)
    assert all(len(q["title"]) <= 20 for m in graph.delivered for q in m["message"].get("quick_replies", []))


async def test_an_m_me_ref_link_binds_the_invitation(app_client: Any, graph: FakeGraphAPI) -> None:
    services = app_client.app[SERVICES]
    [code] = await create_invitations(services, flow_id="par_index", unit="p.ha_noi")
    raw, headers = body(item(PSID, ref=code))
    assert (await app_client.post("/webhooks/messenger", data=raw, headers=headers)).status == 200
    await settle(app_client.app)
    rid = await services.conversation.respondent_id("messenger", PSID)
    assert (await services.conversation.flow_state(rid))["flow"] == "par_index"
    assert graph.delivered
    async with services.engine.connect() as conn:
        unit = (await conn.execute(select(responses.c.unit_code).where(responses.c.invitation_code == code))).scalar_one()
    assert unit == "p.ha_noi"


async def test_fifty_users_interleaving_each_see_their_own_questions_in_order(app_client: Any, graph: FakeGraphAPI) -> None:
    users = [f"70000000000{i:05d}" for i in range(50)]
    raw, headers = body(*(item(u, text="sipas") for u in users))
    assert (await app_client.post("/webhooks/messenger", data=raw, headers=headers)).status == 200
    raw, headers = body(*(item(u, payload="yes") for u in users))
    assert (await app_client.post("/webhooks/messenger", data=raw, headers=headers)).status == 200
    await settle(app_client.app)
    for u in users:
        mine = [m["message"]["text"] for m in graph.delivered if m["recipient"]["id"] == u]
        assert len(mine) >= 2
        services = app_client.app[SERVICES]
        rid = await services.conversation.respondent_id("messenger", u)
        state = await services.conversation.flow_state(rid)
        assert state["status"] == "in_progress" and state["question"] is not None  # past consent, at question 1
    # per user, the platform got the messages in sequence order
    async with app_client.app[SERVICES].engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.respondent_id, outbox.c.seq, outbox.c.platform_message_id)
                                   .where(outbox.c.status == "sent"))).all()
    by_user: dict[str, list[tuple[int, int]]] = {}
    for r in rows:
        by_user.setdefault(r.respondent_id, []).append((r.seq, int(r.platform_message_id.removeprefix("m_fake"))))
    for seqs in by_user.values():
        assert [p for _, p in sorted(seqs)] == sorted(p for _, p in seqs)


async def test_redelivered_batch_stores_each_answer_once(app_client: Any, graph: FakeGraphAPI) -> None:
    say = sayer(app_client, graph)
    await say("sipas")
    await say("yes", button=True)
    raw, headers = body(item(PSID, text="ha noi"))
    for _ in range(3):
        assert (await app_client.post("/webhooks/messenger", data=raw, headers=headers)).status == 200
    await settle(app_client.app)
    assert await count(app_client.app, answers) == 1


async def test_a_forged_or_sha1_only_signature_is_refused(app_client: Any, graph: FakeGraphAPI) -> None:
    import hashlib
    import hmac

    raw, _ = body(item(PSID, text="sipas"))
    sha1 = "sha1=" + hmac.new(SECRET.encode(), raw, hashlib.sha1).hexdigest()
    for headers in ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, {"X-Hub-Signature": sha1}, {}):
        assert (await app_client.post("/webhooks/messenger", data=raw, headers=headers)).status == 403
    await settle(app_client.app)
    assert await count(app_client.app, inbox) == 0 and graph.delivered == []


async def test_outside_the_24h_window_the_platform_refusal_holds_the_message(app_client: Any, graph: FakeGraphAPI) -> None:
    graph.window_closed_next()
    await sayer(app_client, graph)("sipas")
    assert await count(app_client.app, outbox, outbox.c.status == "window_closed") >= 1
    sent = await sayer(app_client, graph)("yes", button=True)  # the user writes: the held message goes out first
    assert await count(app_client.app, outbox, outbox.c.status == "window_closed") == 0
    assert len(sent) >= 2


async def test_rate_limited_sends_are_retried(app_client: Any, graph: FakeGraphAPI) -> None:
    graph.rate_limit_next()
    graph.server_error_next()
    sent = await sayer(app_client, graph)("sipas")
    assert sent and graph.attempts == len(sent) + 2
