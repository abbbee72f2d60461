"""Campaigns through the admin API: lists uploaded as CSV or XLSX (all rows or none, every problem
with its line), the participation table and its CSV export, and unit scoping on every endpoint:
an official of one province sees nothing of another, not even that a campaign exists."""
from __future__ import annotations

import io
from typing import Any

import openpyxl

from bot.campaigns.lists import XLSX_MEDIA_TYPE

from .conftest import API, Admin

HANOI_LIST = ("Họ tên,Đơn vị,Kênh,Tài khoản,Số điện thoại,Email\n"
              "Nguyễn Văn An,Hà Nội,telegram,5123456789,,\n"
              "\"=HYPERLINK(\"\"http://x\"\",\"\"bấm\"\")\",p.ha_noi,,,0912345678,\n")
HUE_LIST = "Họ tên,Đơn vị,Số điện thoại\nTrần Thị Huế,p.hue,0905111222\nLê Văn Phú,p.hue,0905333444\n"
CAMPAIGN = {"name": "PAR INDEX 2025", "flow_id": "par_index", "send_from": "08:00", "send_until": "17:00",
            "reminder_after_days": 3, "max_reminders": 2}


async def upload(admin: Admin, headers: dict[str, str], cid: str, text: str, expect: int = 200) -> Any:
    return await _post(admin, headers, f"/campaigns/{cid}/invitees/csv", text.encode("utf-8"), "text/csv", expect)


async def _post(admin: Admin, headers: dict[str, str], path: str, body: bytes, media: str, expect: int) -> Any:
    resp = await admin.client.post(f"{API}{path}", data=body, headers={**headers, "Content-Type": media})
    got = await resp.json()
    assert resp.status == expect, got
    return got


async def test_a_list_with_bad_rows_is_refused_whole_and_a_good_one_is_imported(admin: Admin) -> None:
    h = await admin.login("qt.hanoi", "unit_admin", "p.ha_noi")
    c = await admin.call("POST", "/campaigns", h, expect=201, json={**CAMPAIGN, "units": ["p.ha_noi"]})
    bad = await _post(admin, h, f"/campaigns/{c['id']}/invitees/csv",
                      (HANOI_LIST + "Bình,p.hue,,,0912,\n").encode(), "text/csv", 422)
    assert "nothing was imported" in bad["error"]["message"]
    assert [(d["line"], d["column"]) for d in bad["error"]["details"]] == [(4, "unit"), (4, "phone")]
    assert (await admin.call("GET", f"/campaigns/{c['id']}", h))["invitees"] == 0
    done = await upload(admin, h, c["id"], HANOI_LIST)
    assert done == {"imported": 2, "by_chat": {"telegram": 1}, "by_unit": 1}
    again = await upload(admin, h, c["id"], HANOI_LIST, expect=422)
    assert "same person as line 2" in again["error"]["details"][0]["reason"]

    book = openpyxl.Workbook()
    book.active.append(["Họ tên", "Số điện thoại"])
    book.active.append(["Phạm Chi", 987654321])
    buf = io.BytesIO()
    book.save(buf)
    done = await _post(admin, h, f"/campaigns/{c['id']}/invitees/xlsx", buf.getvalue(), XLSX_MEDIA_TYPE, 200)
    assert done["imported"] == 1
    people = (await admin.call("GET", f"/campaigns/{c['id']}/invitees?sent_by_unit=true", h))["items"]
    assert {p["phone"] for p in people} == {"0912345678", "0987654321"}
    assert all(p["status"] == "invited" and p["links"]["web"].endswith(p["code"]) for p in people)

    started = await admin.call("POST", f"/campaigns/{c['id']}/start", h)
    assert started["status"] == "sending" and started["started_at"]
    paused = await admin.call("POST", f"/campaigns/{c['id']}/pause", h)
    assert paused["status"] == "paused"
    changed = await admin.call("PATCH", f"/campaigns/{c['id']}", h, json={"max_reminders": 0, "send_until": "20:00"})
    assert (changed["max_reminders"], changed["send_until"]) == (0, "20:00")
    await admin.call("PATCH", f"/campaigns/{c['id']}", h, expect=409, json={"send_from": "21:00"})


async def test_the_participation_export_opens_in_excel_and_runs_no_formula(admin: Admin) -> None:
    h = await admin.login("qt.hanoi", "unit_admin", "p.ha_noi")
    c = await admin.call("POST", "/campaigns", h, expect=201, json={**CAMPAIGN, "units": ["p.ha_noi"]})
    await upload(admin, h, c["id"], HANOI_LIST)
    table = await admin.call("GET", f"/campaigns/{c['id']}/participation", h)
    assert [(u["unit_code"], u["registered"], u["completed"], u["rate"]) for u in table["units"]] == [
        ("p.ha_noi", 2, 0, 0.0), ("*", 2, 0, 0.0)]
    resp = await admin.client.get(f"{API}/campaigns/{c['id']}/participation.csv", headers=h)
    body = await resp.read()
    assert resp.status == 200 and resp.content_type == "text/csv" and body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Mã đơn vị,Đơn vị,Đăng ký") and lines[1].startswith("p.ha_noi,Thành phố Hà Nội,2,")
    resp = await admin.client.get(f"{API}/campaigns/{c['id']}/unit-delivery.csv", headers=h)
    text = (await resp.read()).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and "Nguyễn Văn An" not in text  # chat: not listed


async def test_an_official_of_one_province_sees_nothing_of_another_through_every_endpoint(admin: Admin) -> None:
    root = await admin.login("root", "system_admin")
    hanoi = await admin.call("POST", "/campaigns", root, expect=201, json={**CAMPAIGN, "units": ["p.ha_noi"]})
    national = await admin.call("POST", "/campaigns", root, expect=201,
                                json={**CAMPAIGN, "name": "Toàn quốc", "units": ["p.ha_noi", "p.hue"]})
    await upload(admin, root, hanoi["id"], HANOI_LIST)
    await upload(admin, root, national["id"], HANOI_LIST + HUE_LIST.split("\n", 1)[1].replace(
        "p.hue,0905", "p.hue,,,0905"))
    hanoi_people = (await admin.call("GET", f"/campaigns/{hanoi['id']}/invitees", root))["items"]

    hue = await admin.login("nv.hue", "official", "p.hue")
    listed = (await admin.call("GET", "/campaigns", hue))["items"]
    assert [c["id"] for c in listed] == [national["id"]]
    assert listed[0]["units"] == ["p.hue"] and listed[0]["invitees"] == 2
    for path in ("", "/invitees", "/participation", "/participation.csv", "/unit-delivery.csv"):
        await admin.call("GET", f"/campaigns/{hanoi['id']}{path}", hue, expect=404)
    await admin.call("POST", f"/campaigns/{hanoi['id']}/invitees/{hanoi_people[0]['id']}/opt-out", hue, expect=404)
    people = (await admin.call("GET", f"/campaigns/{national['id']}/invitees", hue))["items"]
    assert {p["unit_code"] for p in people} == {"p.hue"} and len(people) == 2
    national_hanoi = (await admin.call("GET", f"/campaigns/{national['id']}/invitees", root, ))["items"]
    someone_in_hanoi = next(p for p in national_hanoi if p["unit_code"] == "p.ha_noi")
    await admin.call("POST", f"/campaigns/{national['id']}/invitees/{someone_in_hanoi['id']}/opt-out", hue,
                     expect=404)
    table = await admin.call("GET", f"/campaigns/{national['id']}/participation", hue)
    assert [(u["unit_code"], u["registered"]) for u in table["units"]] == [("p.hue", 2), ("*", 2)]
    resp = await admin.client.get(f"{API}/campaigns/{national['id']}/participation.csv", headers=hue)
    assert "p.ha_noi" not in (await resp.read()).decode("utf-8-sig")
    resp = await admin.client.get(f"{API}/campaigns/{national['id']}/unit-delivery.csv", headers=hue)
    assert "0912345678" not in (await resp.read()).decode("utf-8-sig")

    hue_admin = await admin.login("qt.hue", "unit_admin", "p.hue")
    for verb, path, kw in (("POST", "/start", {}), ("POST", "/pause", {}), ("PATCH", "", {"json": {"name": "x"}})):
        await admin.call(verb, f"/campaigns/{hanoi['id']}{path}", hue_admin, expect=404, **kw)
        await admin.call(verb, f"/campaigns/{national['id']}{path}", hue_admin, expect=403, **kw)  # not all its units
    await _post(admin, hue_admin, f"/campaigns/{hanoi['id']}/invitees/csv", HUE_LIST.encode(), "text/csv", 404)
    await admin.call("POST", "/campaigns", hue_admin, expect=403, json={**CAMPAIGN, "units": ["p.ha_noi"]})
    analyst = await admin.login("pt.hue", "analyst", "p.hue")
    await admin.call("GET", f"/campaigns/{national['id']}/invitees", analyst, expect=403)  # no personal data
    await admin.call("GET", f"/campaigns/{national['id']}/participation", analyst)
