"""The console's pages as officials, unit administrators and analysts use them, in-process: each
sees and changes only what belongs to their units."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

from console_fixtures import Console

from bot.store.db import create_engine_sync
from tests.admin.conftest import Admin
from tests.analytics.analytics_fixtures import add_response

Q_HANOI = "Tôi nộp hồ sơ cấp phép xây dựng ở phường đã 2 tháng chưa có kết quả, hỏi ai?"
Q_HUE = "Xin hỏi thủ tục đăng ký hộ kinh doanh cá thể ở Huế cần giấy tờ gì?"


async def test_an_official_never_sees_or_touches_another_provinces_question(console: Console, citizens: Admin) -> None:
    _, t_hanoi = await citizens.citizen_asks(Q_HANOI, "p.ha_noi")
    _, t_hue = await citizens.citizen_asks(Q_HUE, "p.hue")
    await console.login("nv.hue", "official", "p.hue")
    for tab in ("waiting", "all"):
        page = await console.get(f"/console/questions?status={tab}")
        assert Q_HUE in page and Q_HANOI not in page and t_hanoi not in page
    await console.get(f"/console/questions/{t_hanoi}")
    assert console.status == 404 and Q_HANOI not in console.page
    await console.get(f"/console/questions/{t_hue}")
    for step in ("assign", "answer", "close"):
        await console.post(f"/console/questions/{t_hanoi}/{step}", {"answer": "Không phải việc của Huế"})
        assert console.status == 404
        await console.get(f"/console/questions/{t_hue}")
    assert {t["id"]: t["status"] for t in await citizens.open_tickets()}[t_hanoi] == "open"


async def test_an_answer_held_for_review_reaches_the_citizen_when_the_unit_admin_approves(
        console: Console, citizens: Admin) -> None:
    chat, ticket = await citizens.citizen_asks(Q_HANOI, "p.ha_noi")
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/assign", {})
    assert "Bạn đã nhận câu hỏi này" in await console.follow() and "nv.hanoi" in console.page
    assert "Duyệt và gửi" not in console.page  # an official cannot approve
    await console.post(f"/console/questions/{ticket}/answer", {"answer": "", "review": "1"})
    assert console.status == 409 and "Hãy nhập nội dung câu trả lời" in console.page
    await console.post(f"/console/questions/{ticket}/answer", {"answer": "Liên hệ UBND phường nơi nộp hồ sơ.",
                                                               "review": "1"})
    assert "người hỏi chưa nhận được" in await console.follow()
    assert "Liên hệ UBND phường nơi nộp hồ sơ." not in await citizens.chat(chat)
    await console.logout()
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    assert "Liên hệ UBND phường" in await console.get("/console/questions?status=review") or Q_HANOI in console.page
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/approve", {"publish": "1"})
    assert "Đã duyệt và gửi" in await console.follow()
    assert "/tra-loi/" in console.page  # the answer's web address, for a citizen whose chat window closed
    assert (await citizens.chat(chat))[-1] == "Liên hệ UBND phường nơi nộp hồ sơ."
    assert (await console.services.nlu.entry(f"q.{ticket}")) is not None  # published to the knowledge base
    audit = await console.get("/console/audit")
    assert all(a in audit for a in ("Nhận câu hỏi", "Trả lời câu hỏi", "Duyệt câu trả lời", "nv.hanoi", "qt.hanoi"))


async def test_a_unit_admin_manages_accounts_of_its_own_unit_only(console: Console) -> None:
    await console.user("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.login("qt.hue", "unit_admin", "p.hue")
    page = await console.get("/console/users")
    assert "qt.hue" in page and "qt.hanoi" not in page
    assert re.findall(r'<option value="([^"]+)"', page.split('id="unit_code"')[1].split("</select>")[0]) == ["p.hue"]
    await console.post("/console/users", {"username": "nv.hue", "password": "mat-khau-moi-12", "role": "official",
                                          "unit_code": "p.ha_noi"})
    assert console.status == 422 and "thuộc phạm vi của bạn" in console.page
    await console.post("/console/users", {"username": "nv.hue", "password": "ngan", "role": "official",
                                          "unit_code": "p.hue"})
    assert console.status == 422 and "ít nhất 10 ký tự" in console.page
    await console.post("/console/users", {"username": "nv.hue", "password": "mat-khau-moi-12", "role": "unit_admin",
                                          "unit_code": "p.hue"})
    assert console.status == 422  # only a system administrator creates unit administrators
    await console.post("/console/users", {"username": "nv.hue", "password": "mat-khau-moi-12", "role": "official",
                                          "unit_code": "p.hue"})
    assert "Đã tạo tài khoản" in await console.follow() and "nv.hue" in console.page
    user_id = re.search(r'/console/users/([0-9a-f]{16})/disable', console.page).group(1)  # type: ignore[union-attr]
    await console.post(f"/console/users/{user_id}/disable", {})
    assert "Đã khóa tài khoản" in await console.follow()
    audit = await console.get("/console/audit")
    assert "Tạo tài khoản" in audit and "Khóa tài khoản" in audit
    official = console.another_browser()
    await official.login("nv.hue", password="mat-khau-moi-12")
    assert official.status == 401 and "Tên đăng nhập hoặc mật khẩu không đúng" in official.page
    await official.close()
    await console.logout()
    await console.login("qt.hanoi")
    assert "nv.hue" not in await console.get("/console/users") and "Tạo tài khoản" not in await console.get("/console/audit")


def _sipas_round(url: str) -> None:
    """Three completed SIPAS responses in Hà Nội (all satisfied) and two in Huế (one satisfied)."""
    engine = create_engine_sync(url)
    at = datetime.now(timezone.utc) - timedelta(days=1)
    with engine.begin() as conn:
        for i, (unit, score) in enumerate([("p.ha_noi", "5"), ("p.ha_noi", "4"), ("p.ha_noi", "5"),
                                           ("p.hue", "4"), ("p.hue", "2")]):
            add_response(conn, f"r{i}", "sipas", unit=unit, at=at, answers_={
                f"e{k}_satisfaction": score for k in range(1, 5)} | {"e5_gave_feedback": "no",
                                                                     "overall_satisfaction": score})
    engine.dispose()


async def test_results_and_exports_show_only_the_readers_units(console: Console) -> None:
    _sipas_round(console.services.settings.effective_database_url)
    year = str(datetime.now(timezone.utc).year)
    await console.login("pt.hue", "analyst", "p.hue")
    page = await console.get(f"/console/results?flow=sipas&period={year}&unit=p.hue")
    assert console.status == 200 and '<img src="data:image/svg+xml;base64,' in page
    assert "Phiếu hợp lệ: <strong>2</strong>" in page and "Thành phố Hà Nội" not in page
    await console.get(f"/console/results?flow=sipas&period={year}&unit=p.ha_noi")
    assert console.status == 422 and "thuộc phạm vi của bạn" in console.page
    await console.get("/console/results?flow=sipas&period=quy-3&unit=p.hue")
    assert console.status == 422 and "Kỳ không hợp lệ" in console.page
    resp = await console.client.get(f"/console/results/export.csv?flow=sipas&period={year}&unit=p.hue")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert sorted(r["response_id"] for r in rows) == ["r3", "r4"]
    resp = await console.client.get(f"/console/results/export.xlsx?flow=sipas&period={year}&unit=p.ha_noi")
    assert resp.status == 422
    resp = await console.client.get(f"/console/results/export.xlsx?flow=sipas&period={year}&unit=p.hue")
    assert resp.status == 200 and (await resp.read())[:2] == b"PK"
    resp = await console.client.get(f"/console/results/report.pdf?flow=sipas&period={year}&unit=p.hue")
    assert resp.status == 403  # the period report ranks every unit: system administrators only
    await console.logout()
    await console.login("root", "system_admin")
    page = await console.get(f"/console/results?flow=sipas&period={year}&unit=")
    assert "Phiếu hợp lệ: <strong>5</strong>" in page and "Thành phố Hà Nội" in page and "Thành phố Huế" in page
    assert "/results/report.pdf" in page
    resp = await console.client.get(f"/console/results/report.pdf?flow=sipas&period={year}&unit=")
    assert resp.status == 200 and (await resp.read())[:5] == b"%PDF-"
    resp = await console.client.get(f"/console/results/report.html?flow=sipas&period={year}&unit=")
    assert resp.status == 200 and "<svg" in (await resp.text())


async def test_each_role_sees_only_its_pages(console: Console) -> None:
    await console.login("pt.hue", "analyst", "p.hue")
    assert "Hỏi đáp" not in await console.get("/console/results") and "Tài khoản" not in console.page
    for path in ("/console/questions", "/console/users", "/console/audit"):
        await console.get(path)
        assert console.status == 403, path
    for path in ("/console/surveys", "/console/campaigns"):
        await console.get(path)
        assert console.status == 200, path
    await console.logout()
    await console.login("nv.hue", "official", "p.hue")
    await console.get("/console/results")
    assert console.status == 403
