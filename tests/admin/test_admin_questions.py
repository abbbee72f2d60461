"""The Q&A inbox through the API: the answer reaches the citizen's chat, answers can wait for
review, join the knowledge base, and each province sees only its own questions."""
from __future__ import annotations

from .conftest import Admin

Q_HANOI = "Tôi nộp hồ sơ cấp phép xây dựng ở phường đã 2 tháng chưa có kết quả, hỏi ai?"
Q_HUE = "Xin hỏi thủ tục đăng ký hộ kinh doanh cá thể ở Huế cần giấy tờ gì?"


async def test_an_answer_reaches_the_chat_the_question_came_from(admin: Admin) -> None:
    token, ticket = await admin.citizen_asks(Q_HANOI, "p.ha_noi")
    h = await admin.login("nv.hanoi", "official", "p.ha_noi")
    waiting = await admin.call("GET", "/questions", h)
    [q] = waiting["items"]
    assert q["id"] == ticket and q["status"] == "open" and q["waiting_hours"] >= 0
    await admin.call("POST", f"/questions/{ticket}/assign", h, json={})
    done = await admin.call("POST", f"/questions/{ticket}/answer", h,
                            json={"answer": "Ông/Bà liên hệ Bộ phận một cửa của phường, số 024 1234 5678."})
    assert done == {"id": ticket, "status": "answered", "delivered": True, "kb_id": None}
    chat = await admin.chat(token)
    assert chat[-1] == "Ông/Bà liên hệ Bộ phận một cửa của phường, số 024 1234 5678."
    again = await admin.call("POST", f"/questions/{ticket}/answer", h, expect=409, json={"answer": "lần hai"})
    assert "answered" in again["error"]["message"]
    assert await admin.chat(token) == chat  # nothing sent twice


async def test_an_answer_held_for_review_is_sent_when_approved_and_published(admin: Admin) -> None:
    token, ticket = await admin.citizen_asks(Q_HANOI, "p.ha_noi")
    official = await admin.login("nv.hanoi", "official", "p.ha_noi")
    held = await admin.call("POST", f"/questions/{ticket}/answer", official,
                            json={"answer": "Liên hệ UBND phường nơi nộp hồ sơ.", "review": True})
    assert held["status"] == "review" and not held["delivered"]
    assert "Liên hệ UBND phường nơi nộp hồ sơ." not in await admin.chat(token)
    await admin.call("POST", f"/questions/{ticket}/approve", official, expect=403, json={})
    boss = await admin.login("qt.hanoi", "unit_admin", "p.ha_noi")
    done = await admin.call("POST", f"/questions/{ticket}/approve", boss, json={"publish": True})
    assert done["status"] == "published" and done["kb_id"] == f"q.{ticket}"
    assert (await admin.chat(token))[-1] == "Liên hệ UBND phường nơi nộp hồ sơ."
    entry = await admin.services.nlu.entry(f"q.{ticket}")
    assert entry is not None and entry.answer == "Liên hệ UBND phường nơi nộp hồ sơ."


async def test_an_answered_question_joins_the_knowledge_base_in_one_step(admin: Admin) -> None:
    _, ticket = await admin.citizen_asks(Q_HUE, "p.hue")
    h = await admin.login("nv.hue", "official", "p.hue")
    await admin.call("POST", f"/questions/{ticket}/answer", h, json={"answer": "Cần giấy đề nghị và bản sao CCCD."})
    out = await admin.call("POST", f"/questions/{ticket}/publish", h,
                           json={"question": "Đăng ký hộ kinh doanh cần giấy tờ gì?"})
    assert out["kb_id"] == f"q.{ticket}"
    entry = await admin.services.nlu.entry(out["kb_id"])
    assert entry is not None and entry.matched_question == "Đăng ký hộ kinh doanh cần giấy tờ gì?"


async def test_an_official_of_one_province_sees_nothing_of_another(admin: Admin) -> None:
    _, t_hanoi = await admin.citizen_asks(Q_HANOI, "p.ha_noi")
    _, t_hue = await admin.citizen_asks(Q_HUE, "p.hue")
    root = await admin.login("root", "system_admin")
    await admin.call("POST", f"/questions/{t_hanoi}/assign", root, json={})
    hue = await admin.login("nv.hue", "official", "p.hue")
    for status in ("waiting", "all", "assigned", "open"):
        listed = await admin.call("GET", f"/questions?status={status}", hue)
        assert t_hanoi not in {q["id"] for q in listed["items"]}
    await admin.call("GET", f"/questions/{t_hanoi}", hue, expect=404)
    for step, body in (("assign", {}), ("answer", {"answer": "x"}), ("publish", {}), ("close", None)):
        await admin.call("POST", f"/questions/{t_hanoi}/{step}", hue, expect=404, **({"json": body} if body is not None else {}))
    report = await admin.call("GET", "/questions/report?quarter=" + _this_quarter(), hue)
    assert report["total"]["received"] == 1 and {r["unit_code"] for r in report["by_unit_topic"]} == {"p.hue"}
    hue_admin = await admin.login("qt.hue", "unit_admin", "p.hue")
    audit = await admin.call("GET", "/audit", hue_admin)
    assert all(e["object_id"] != t_hanoi for e in audit["items"])
    users = await admin.call("GET", "/users", hue_admin)
    assert {u["unit_code"] for u in users["items"]} == {"p.hue"}
    await admin.call("GET", f"/users/{(await admin.call('GET', '/me', root))['id']}", hue_admin, expect=404)
    # the system administrator sees both
    listed = await admin.call("GET", "/questions?status=all", root)
    assert {t_hanoi, t_hue} <= {q["id"] for q in listed["items"]}


async def test_the_quarterly_report_counts_and_times_answers(admin: Admin) -> None:
    _, t1 = await admin.citizen_asks(Q_HANOI, "p.ha_noi")
    _, t2 = await admin.citizen_asks(Q_HUE, "p.ha_noi")
    h = await admin.login("nv", "official", "p.ha_noi")
    await admin.call("POST", f"/questions/{t1}/answer", h, json={"answer": "Trả lời."})
    await admin.call("POST", f"/questions/{t2}/close", h)
    report = await admin.call("GET", "/questions/report?quarter=" + _this_quarter(), h)
    total = report["total"]
    assert (total["received"], total["answered"], total["closed"], total["open"]) == (2, 1, 1, 0)
    assert total["median_hours_to_answer"] is not None and total["oldest_waiting_hours"] is None
    await admin.call("GET", "/questions/report?quarter=2026-Q5", h, expect=422)


def _this_quarter() -> str:
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


async def test_an_answer_also_has_a_signed_web_page(admin: Admin) -> None:
    """For a citizen whose chat window closed: the unit can give them the answer's address."""
    _, ticket = await admin.citizen_asks(Q_HUE, "p.hue")
    h = await admin.login("nv.hue", "official", "p.hue")
    assert (await admin.call("GET", f"/questions/{ticket}", h))["web_link"] is None
    await admin.call("POST", f"/questions/{ticket}/answer", h, json={"answer": "Cần giấy đề nghị & bản sao CCCD."})
    link = (await admin.call("GET", f"/questions/{ticket}", h))["web_link"]
    path = link[link.index("/tra-loi/"):]
    page = await admin.client.get(path)
    text = await page.text()
    assert page.status == 200 and "Cần giấy đề nghị &amp; bản sao CCCD." in text and "hộ kinh doanh" in text
    forged = await admin.client.get("/tra-loi/" + ticket)
    assert forged.status == 404
