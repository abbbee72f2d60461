"""What an operator's monitoring sees: liveness, readiness naming what is down, and metrics that
count messages and expose queue depths, readable from the machine itself or with the token."""
from __future__ import annotations

import uuid
from typing import Any

from bot.settings import Settings


async def _client(aiohttp_client: Any, settings: Settings) -> Any:
    from bot.app import create_app

    return await aiohttp_client(create_app(settings, background=False))


async def test_ready_when_database_and_state_answer(settings: Settings, services: Any, aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, settings)
    assert (await (await client.get("/healthz")).json())["status"] == "ok"
    resp = await client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["checks"] == {"database": "ok", "state": "ok"}


async def test_not_ready_names_what_is_down(settings: Settings, services: Any, aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, settings.with_(redis_url="redis://127.0.0.1:1/0"))
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok" and body["checks"]["state"] != "ok"


async def test_metrics_count_web_chat_messages_and_show_queues(settings: Settings, services: Any,
                                                               aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, settings)
    session = (await (await client.post("/api/v1/chat/sessions", json={})).json())["session"]
    await client.post(f"/api/v1/chat/sessions/{session}/messages", json={"text": "xin chào", "cid": uuid.uuid4().hex})
    text = await (await client.get("/metrics")).text()
    assert 'hailong_messages_total{channel="web",outcome="handled"}' in text
    assert 'hailong_http_seconds_count{method="POST",route="/api/v1/chat/sessions/{token}/messages",status="200"}' in text
    assert "hailong_questions_waiting 0.0" in text


async def test_metrics_from_elsewhere_need_the_token(settings: Settings, services: Any, aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, settings.with_(metrics_token="s3cret-token"))
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert (await client.get("/metrics", headers=forwarded)).status == 403
    ok = await client.get("/metrics", headers={**forwarded, "Authorization": "Bearer s3cret-token"})
    assert ok.status == 200 and "# TYPE hailong_sends_total counter" in await ok.text()
