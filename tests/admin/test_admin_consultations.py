"""Consultations as a drafting unit and citizens meet them: publish a draft, collect opinions in
chat and on the public form, count them by position, refuse them politely once closed, and keep
every other province's consultations out of sight."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from .conftest import API, Admin

NOW = datetime.now(timezone.utc)
DRAFT = {"title": "Dự thảo Quy chế tiếp công dân", "summary": "Quy định việc tiếp công dân tại trụ sở UBND.",
         "document_url": "https://hanoi.gov.vn/du-thao/quy-che.pdf",
         "opens_at": (NOW - timedelta(days=1)).isoformat(), "closes_at": (NOW + timedelta(days=20)).isoformat()}


async def published(site: Admin, h: dict[str, str]) -> str:
    c = await site.call("POST", "/consultations", h, expect=201, json=DRAFT)
    assert c["published"] is False and c["unit_code"] == "p.ha_noi"
    await site.call("POST", f"/consultations/{c['id']}/publish", h)
    return str(c["id"])


async def chat(site: Admin, cid: str, answers: list[str]) -> list[str]:
    """A citizen opens the consultation's chat link and answers; returns everything the bot said."""
    resp = await site.client.post("/api/v1/chat/sessions", json={"flow": "consultation", "context": {"draft": cid}})
    body = await resp.json()
    said = [m["text"] for m in body["messages"]]
    for text in answers:
        r = await site.client.post(f"/api/v1/chat/sessions/{body['session']}/messages",
                                   json={"text": text, "cid": uuid.uuid4().hex})
        said += [m["text"] for m in (await r.json())["messages"]]
    return said


async def form(site: Admin, cid: str, **fields: str) -> Any:
    page = await site.client.get(f"/y-kien/{cid}")
    token = re.search(r"name='csrf' value='([0-9a-f]+)'", await page.text())
    assert page.status == 200 and token
    return await site.client.post(f"/y-kien/{cid}", data={"csrf": token.group(1), **fields})


async def test_opinions_from_chat_and_the_form_are_counted_by_position(site: Admin) -> None:
    h = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    cid = await published(site, h)
    listed = await (await site.client.get("/api/v1/public/consultations")).json()
    assert [(c["id"], c["title"], c["summary"]) for c in listed["items"]] == [(cid, DRAFT["title"], DRAFT["summary"])]
    assert listed["items"][0]["form_url"].endswith(f"/y-kien/{cid}")

    done = await chat(site, cid, ["1", "bỏ qua", "gửi"])
    assert "Xin trân trọng cảm ơn" in done[-1]
    await chat(site, cid, ["3", "Điều 5 chưa rõ thời gian tiếp", "0912345678", "có", "gửi"])
    await chat(site, cid, ["2"])  # started, never sent: not an opinion yet
    sent = await form(site, cid, position="agree_changes", comments="=Cần thêm ngày thứ Bảy", publish_consent="yes")
    assert sent.status == 200 and "cảm ơn" in (await sent.text())
    by_json = await site.client.post(f"/api/v1/public/consultations/{cid}/opinions",
                                     json={"position": "disagree", "comments": None})
    assert by_json.status == 201

    rep = await site.call("GET", f"/consultations/{cid}/report", h)
    assert rep["total"] == 4
    assert {p["position"]: p["count"] for p in rep["positions"]} == {"agree": 1, "agree_changes": 1, "disagree": 2,
                                                                      "0": 0}
    assert rep["by_channel"] == {"web": 2, "web_form": 2}
    assert sorted(c["comments"] for c in rep["comments"]) == ["=Cần thêm ngày thứ Bảy", "Điều 5 chưa rõ thời gian tiếp"]
    assert "0912345678" not in str(rep)
    resp = await site.client.get(f"{API}/consultations/{cid}/report.csv", headers=h)
    text = (await resp.text()).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["position", "label", "count"] and ["disagree", "Không đồng ý", "2"] in rows
    assert any(r and r[-1] == "'=Cần thêm ngày thứ Bảy" for r in rows)  # no formula in a spreadsheet
    assert "0912345678" not in text


async def test_the_form_refuses_posts_without_its_token_or_from_other_sites(site: Admin) -> None:
    h = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    cid = await published(site, h)
    forged = await site.client.post(f"/y-kien/{cid}", data={"position": "agree", "csrf": "0" * 64})
    assert forged.status == 403
    page = await site.client.get(f"/y-kien/{cid}")
    assert "Gửi ý kiến" in await page.text() and "script" not in page.headers["Content-Security-Policy"].replace(
        "default-src 'none'", "")
    other = await site.client.post(f"/api/v1/public/consultations/{cid}/opinions", json={"position": "agree"},
                                   headers={"Origin": "https://evil.example"})
    assert other.status == 403
    as_form = await site.client.post(f"/api/v1/public/consultations/{cid}/opinions", data={"position": "agree"})
    assert as_form.status == 415
    wrong = await site.client.post(f"/api/v1/public/consultations/{cid}/opinions", json={"position": "maybe"})
    assert wrong.status == 422
    assert (await site.call("GET", f"/consultations/{cid}/report", h))["total"] == 0


async def test_a_closed_consultation_politely_refuses_new_opinions(site: Admin) -> None:
    h = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    cid = await published(site, h)
    early = await site.client.post("/api/v1/chat/sessions", json={"flow": "consultation", "context": {"draft": cid}})
    token = (await early.json())["session"]
    await site.call("PATCH", f"/consultations/{cid}", h, json={"closes_at": (NOW - timedelta(minutes=1)).isoformat(),
                                                              "opens_at": (NOW - timedelta(days=2)).isoformat()})
    said = await chat(site, cid, [])
    assert "đã kết thúc" in said[0] and "cảm ơn" in said[0]
    late = await site.client.post(f"/api/v1/public/consultations/{cid}/opinions", json={"position": "agree"})
    assert late.status == 409
    assert (await (await site.client.get("/api/v1/public/consultations")).json())["items"] == []
    for text in ("1", "bỏ qua", "gửi"):  # who started before the close finishes
        r = await site.client.post(f"/api/v1/chat/sessions/{token}/messages", json={"text": text, "cid": uuid.uuid4().hex})
    assert (await r.json())["flow_state"]["status"] == "completed"
    assert (await site.call("GET", f"/consultations/{cid}/report", h))["total"] == 1
    await site.call("PATCH", f"/consultations/{cid}", h, expect=422, json={"title": None})


async def test_another_province_sees_none_of_these_consultations(site: Admin) -> None:
    hn = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    cid = await published(site, hn)
    dn = await site.login("qt.dn", "unit_admin", "p.da_nang")
    analyst = await site.login("pt.dn", "analyst", "p.da_nang")
    for h in (dn, analyst):
        assert (await site.call("GET", "/consultations", h))["items"] == []
        for path in ("", "/report", "/report.csv", "/file"):
            await site.call("GET", f"/consultations/{cid}{path}", h, expect=404)
    for method, path, kw in (("PATCH", "", {"json": {"title": "Của tôi"}}), ("POST", "/publish", {}),
                             ("POST", "/unpublish", {}),
                             ("PUT", "/file", {"data": b"%PDF-1.4 x", "headers": {"Content-Type": "application/pdf"}})):
        headers = {**dn, **kw.pop("headers", {})}
        await site.call(method, f"/consultations/{cid}{path}", headers, expect=404, **kw)
    await site.call("POST", "/consultations", dn, expect=403, json={**DRAFT, "unit_code": "p.ha_noi"})
    assert (await site.call("GET", "/consultations", hn))["items"][0]["id"] == cid


async def test_dates_must_be_in_order_and_given_as_text(site: Admin) -> None:
    h = await site.login("qt.hn", "unit_admin", "p.ha_noi")
    swapped = {**DRAFT, "opens_at": DRAFT["closes_at"], "closes_at": DRAFT["opens_at"]}
    assert "closes_at" in (await site.call("POST", "/consultations", h, expect=409, json=swapped))["error"]["message"]
    await site.call("POST", "/consultations", h, expect=422, json={**DRAFT, "opens_at": 0})
    await site.call("POST", "/consultations", h, expect=422, json={**DRAFT, "opens_at": "2026-01-01T00:00:00"})
    cid = await published(site, h)
    await site.call("PATCH", f"/consultations/{cid}", h, expect=409, json={"closes_at": DRAFT["opens_at"]})
