"""Surveys as an official meets them: upload a flow file and hear which line is wrong, keep every
version, publish, open and close dates that the chat respects, a preview that never counts, and
no survey of another province visible through any endpoint."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from bot.analytics import score_flow
from bot.store.tables import responses

from .conftest import API, Admin

FLOW = """\
# Khảo sát thử của Hà Nội
id: hn_test
version: 1
title: "Khảo sát thử"
closing: "Cảm ơn Ông/Bà!"
settings:
  review: false
sections:
  - id: main
    questions:
      - key: rating
        type: single
        text: "Ông/Bà có hài lòng không?"
        choices:
          - {id: "yes", label: "Hài lòng"}
          - {id: "no", label: "Không hài lòng"}
      - key: note
        type: text
        required: false
        text: "Góp ý thêm?"
"""
YAML = {"Content-Type": "application/yaml"}


async def upload(admin: Admin, h: dict[str, str], text: str, expect: int = 201, path: str = "/surveys",
                 method: str = "POST", **params: Any) -> Any:
    return await admin.call(method, path, {**h, **YAML}, expect=expect, data=text.encode(),
                            params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})


async def chat_start(admin: Admin, flow: str) -> tuple[int, str | None, list[str]]:
    resp = await admin.client.post("/api/v1/chat/sessions", json={"flow": flow})
    body = await resp.json()
    return resp.status, body.get("session"), [m["text"] for m in body.get("messages", [])] or [body.get("message", "")]


async def say(admin: Admin, token: str, text: str) -> dict[str, Any]:
    resp = await admin.client.post(f"/api/v1/chat/sessions/{token}/messages", json={"text": text, "cid": uuid.uuid4().hex})
    assert resp.status == 200
    return await resp.json()


async def test_an_error_in_the_file_comes_back_with_its_line(admin: Admin) -> None:
    h = await admin.login("qt.hn", "unit_admin", "p.ha_noi")
    broken = FLOW.replace("        type: text\n", "        type: txet\n")
    body = await upload(admin, h, broken, expect=422)
    assert body["error"]["details"][0]["line"] == FLOW.splitlines().index("        type: text") + 1 == 18
    assert "txet" in body["error"]["details"][0]["message"]
    body = await upload(admin, h, "id: [unclosed\n", expect=422)
    assert body["error"]["details"][0]["line"] is not None
    assert (await admin.call("GET", "/surveys", h))["items"] == []


async def test_every_version_is_kept_and_responses_keep_theirs(admin: Admin) -> None:
    h = await admin.login("qt.hn", "unit_admin", "p.ha_noi")
    first = await upload(admin, h, FLOW, publish=True)
    assert first == {"flow_id": "hn_test", "version": 1, "action": "added", "published": True, "message": ""}
    status, early, _ = await chat_start(admin, "hn_test")
    assert status == 200 and early
    edited = FLOW.replace("Góp ý thêm?", "Ông/Bà có góp ý gì thêm?")
    second = await upload(admin, h, edited, path="/surveys/hn_test", method="PUT", publish=True, expect=200)
    assert second["version"] == 2 and second["action"] == "new_version"
    again = await upload(admin, h, edited, path="/surveys/hn_test", method="PUT", expect=200)
    assert again["action"] == "unchanged" and again["version"] == 2  # the same content: no third version
    detail = await admin.call("GET", "/surveys/hn_test", h)
    assert [v["version"] for v in detail["versions"]] == [1, 2] and detail["current_version"] == 2
    old = await admin.client.get(f"{API}/surveys/hn_test/versions/1/file", headers=h)
    assert (await old.text()) == FLOW  # as uploaded, comment included
    new = await admin.client.get(f"{API}/surveys/hn_test/versions/2/file", headers=h)
    assert "version: 2" in await new.text() and "# Khảo sát thử của Hà Nội" in await new.text()

    _, late, messages = await chat_start(admin, "hn_test")
    assert late
    for token in (early, late):
        await say(admin, token, "1")
    late_reply = await say(admin, late, "bỏ qua")
    assert late_reply["flow_state"]["status"] == "completed"
    async with admin.services.engine.connect() as conn:
        versions = sorted((await conn.execute(select(responses.c.flow_version))).scalars())
    assert versions == [1, 2]
    detail = await admin.call("GET", "/surveys/hn_test", h)
    assert [v["responses"] for v in detail["versions"]] == [1, 1]


async def test_drafts_and_closed_surveys_do_not_start_in_chat_but_started_ones_finish(admin: Admin) -> None:
    h = await admin.login("qt.hn", "unit_admin", "p.ha_noi")
    await upload(admin, h, FLOW)
    status, _, said = await chat_start(admin, "hn_test")
    assert status == 404 and said == ["Không tìm thấy khảo sát này."]
    await admin.call("POST", "/surveys/hn_test/versions/1/publish", h)
    _, started, _ = await chat_start(admin, "hn_test")
    assert started

    now = datetime.now(timezone.utc)
    body = {"opens_at": (now - timedelta(days=30)).isoformat(), "closes_at": (now - timedelta(hours=1)).isoformat()}
    closed = await admin.call("PUT", "/surveys/hn_test/schedule", h, json=body)
    assert closed["status"] == "closed"
    _, _, said = await chat_start(admin, "hn_test")
    assert "đã khép lại" in said[0]
    assert (now - timedelta(hours=1) + timedelta(hours=7)).strftime("%d/%m/%Y") in said[0]
    await say(admin, started, "2")
    assert (await say(admin, started, "bỏ qua"))["flow_state"]["status"] == "completed"

    later = {"opens_at": (now + timedelta(days=2)).isoformat(), "closes_at": None}
    assert (await admin.call("PUT", "/surveys/hn_test/schedule", h, json=later))["status"] == "scheduled"
    _, _, said = await chat_start(admin, "hn_test")
    assert "chưa bắt đầu" in said[0]
    bad = {"opens_at": now.isoformat(), "closes_at": (now - timedelta(days=1)).isoformat()}
    await admin.call("PUT", "/surveys/hn_test/schedule", h, expect=409, json=bad)

    await admin.call("PUT", "/surveys/hn_test/schedule", h, json={"opens_at": None, "closes_at": None})
    assert (await admin.call("POST", "/surveys/hn_test/unpublish", h))["status"] == "unpublished"
    status, _, _ = await chat_start(admin, "hn_test")
    assert status == 404


async def test_a_preview_chat_is_marked_and_never_counted(admin: Admin) -> None:
    h = await admin.login("root", "system_admin")
    counted = score_flow(admin.services.settings.effective_database_url, "consultation")["responses"]
    made = await admin.call("POST", "/surveys/consultation/preview", h, expect=201, json={"context": {"draft": "x"}})
    assert made["url"].startswith(admin.services.settings.base_url + "/xem-truoc/")
    assert "đồng ý" in made["messages"][-1]["text"]
    rid = await admin.services.conversation.respondent_id("preview", _sid(admin, made["token"]))
    reply = await admin.services.conversation.handle(_preview_msg(rid, made["token"], admin, "1"))
    assert reply.flow_state["flow"] == "consultation"
    async with admin.services.engine.connect() as conn:
        rows = (await conn.execute(select(responses.c.preview, responses.c.channel))).all()
    assert rows == [(True, "preview")]
    assert score_flow(admin.services.settings.effective_database_url, "consultation")["responses"] == counted


def _sid(admin: Admin, token: str) -> str:
    from bot.content.preview import PreviewTokens

    session = PreviewTokens(admin.services.settings.effective_secret_key()).verify(token)
    assert session is not None
    return session.sid


def _preview_msg(rid: str, token: str, admin: Admin, text: str) -> Any:
    from bot.content import preview
    from bot.content.preview import PreviewTokens

    session = PreviewTokens(admin.services.settings.effective_secret_key()).verify(token)
    assert session is not None
    return preview.message(session, text=text, cid=uuid.uuid4().hex)


async def test_another_province_sees_none_of_these_surveys(admin: Admin) -> None:
    hn = await admin.login("qt.hn", "unit_admin", "p.ha_noi")
    await upload(admin, hn, FLOW, publish=True)
    dn = await admin.login("qt.dn", "unit_admin", "p.da_nang")
    official = await admin.login("nv.dn", "official", "p.da_nang")
    for h in (dn, official):
        assert (await admin.call("GET", "/surveys", h))["items"] == []
        await admin.call("GET", "/surveys/hn_test", h, expect=404)
        await admin.call("GET", "/surveys/hn_test/versions/1/file", h, expect=404)
        await admin.call("GET", "/surveys/sipas", h, expect=404)  # national: the ministry's
    for method, path, kw in (("POST", "/surveys/hn_test/versions/1/publish", {}),
                             ("POST", "/surveys/hn_test/versions/1/unpublish", {}),
                             ("POST", "/surveys/hn_test/unpublish", {}),
                             ("PUT", "/surveys/hn_test/schedule", {"json": {"closes_at": None}}),
                             ("POST", "/surveys/hn_test/preview", {"json": {}})):
        await admin.call(method, path, dn, expect=404, **kw)
    await upload(admin, dn, FLOW, path="/surveys/hn_test", method="PUT", expect=404)
    taken = await upload(admin, dn, FLOW, expect=409)
    assert "another unit" in taken["error"]["message"]
    await admin.call("POST", "/surveys", {**official, **YAML}, expect=403, data=FLOW.encode())
    listed = await admin.call("GET", "/surveys", hn)
    assert [s["flow_id"] for s in listed["items"]] == ["hn_test"]
    root = await admin.login("root", "system_admin")
    assert {s["flow_id"] for s in (await admin.call("GET", "/surveys", root))["items"]} >= {"hn_test", "sipas"}


async def test_the_preview_link_opens_a_chat_page_without_script(site: Admin) -> None:
    h = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    await upload(site, h, FLOW)  # a draft: nobody can start it, the official can try it
    made = await site.call("POST", "/surveys/hn_test/preview", h, expect=201, json={})
    path = made["url"].replace(site.services.settings.base_url, "")
    page = await site.client.get(path)
    text = await page.text()
    assert page.status == 200 and "Ông/Bà có hài lòng không?" in text and "không được tính" in text
    assert "script-src" not in page.headers["Content-Security-Policy"]
    answered = await site.client.post(path, data={"choice": "yes"})
    assert answered.status == 200 and "Góp ý thêm?" in await answered.text()
    assert (await site.client.get(path[:-3] + "xyz")).status == 404
    detail = await site.call("GET", "/surveys/hn_test", h)
    assert detail["versions"][0]["responses"] == 0 and detail["status"] == "unpublished"
