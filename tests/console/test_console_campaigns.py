"""Campaign actions in the console, in-process: a unit administrator creates a campaign, uploads
the list (a refused list shows every problem by line, in Vietnamese, and imports nobody), starts
and pauses it; an official only reads."""
from __future__ import annotations

import re
from datetime import date

from console_fixtures import Console

from bot.campaigns.lists import ListChecker, read_csv
from bot.campaigns.vietnamese import in_vietnamese
from bot.settings import REPO_ROOT
from bot.units import UnitCatalogue

GOOD = "Họ tên,Đơn vị,Kênh,Tài khoản,Số điện thoại\nNguyễn Văn An,p.ha_noi,telegram,5123456789,\n"
BAD = ("Họ tên,Đơn vị,Kênh,Tài khoản,Số điện thoại\n"
       "Nguyễn Văn An,p.ha_noi,telegram,5123456789,\n"
       ",p.ha_noi,,,0912345678\n"
       "Lê Thị Cúc,p.hue,,,0912\n")


async def _upload(console: Console, cid: str, text: str) -> str:
    return await console.upload(f"/console/campaigns/{cid}/list", {}, ("danh-sach.csv", text.encode(), "text/csv"))


async def test_a_unit_admin_creates_fills_starts_and_pauses_a_campaign(console: Console) -> None:
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.get("/console/campaigns")
    assert "Tạo chiến dịch" in console.page
    await console.post("/console/campaigns", {"name": "", "flow_id": "par_index", "units": "p.ha_noi"})
    assert console.status == 422 and "Hãy đặt tên cho chiến dịch." in console.page
    await console.post("/console/campaigns", {"name": "PAR INDEX 2025", "flow_id": "par_index", "units": "p.ha_noi"})
    assert console.status == 303
    cid = re.search(r"/campaigns/([a-z0-9]+)\?done=created", console.headers["Location"]).group(1)  # type: ignore[union-attr]
    await console.follow()
    assert "Đã tạo chiến dịch" in console.page

    await console.post(f"/console/campaigns/{cid}/start", {})
    assert console.status == 409 and "chiến dịch chưa có ai để mời" in console.page

    await _upload(console, cid, BAD)
    assert console.status == 422
    assert "Danh sách có 3 lỗi nên chưa nhập người nào." in console.page
    for said in ("thiếu họ tên", "p.hue&#39; không thuộc các đơn vị của chiến dịch",
                 "không phải số điện thoại Việt Nam"):
        assert said in console.page
    assert "Người được mời</dt><dd>0" in console.page

    await _upload(console, cid, GOOD)
    assert console.status == 303
    await console.follow()
    assert "Đã nhập danh sách." in console.page and "Người được mời</dt><dd>1" in console.page
    await console.post(f"/console/campaigns/{cid}/start", {})
    await console.follow()
    assert "Đã bắt đầu gửi lời mời." in console.page and "Đang gửi" in console.page
    await console.post(f"/console/campaigns/{cid}/pause", {})
    await console.follow()
    assert "Tạm dừng" in console.page and "Tiếp tục gửi" in console.page


async def test_an_official_sees_campaigns_but_no_actions(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await console.get("/console/campaigns")
    assert console.status == 200 and "Tạo chiến dịch" not in console.page
    await console.post("/console/campaigns", {"name": "X", "flow_id": "par_index", "units": "p.ha_noi"})
    assert console.status == 403


def test_every_reason_a_list_can_be_refused_for_reads_in_vietnamese() -> None:
    rows = read_csv(("Họ tên,Đơn vị,Kênh,Tài khoản,Số điện thoại,Email\n"
                     ",p.ha_noi,,,,\n" + "A" * 201 + ",p.ha_noi,,,0912345678,\n"
                     "B,nowhere,,,0912345677,\n" "C,p.hue,,,0912345676,\n" "D,,,,0912345675,\n"
                     "E,p.ha_noi,fax,1,,\n" "F,p.ha_noi,,5123456789,,\n" "G,p.ha_noi,telegram,@g,,\n"
                     "H,p.ha_noi,zalo,x,,\n" "I,p.ha_noi,messenger,y,,\n" "J,p.ha_noi,,,0912,\n"
                     "K,p.ha_noi,,,,bad\n" "L,p.ha_noi,,,0912000111,\n" "M,p.ha_noi,,,0912000111,\n").encode())
    units = UnitCatalogue.load(REPO_ROOT / "data" / "units")
    errors = ListChecker(units, frozenset({"p.ha_noi", "p.da_nang"}), date(2025, 9, 1)).check(rows).errors
    assert len(errors) >= 13
    untranslated = [e.reason for e in errors if in_vietnamese(e.reason) == e.reason]
    assert untranslated == []
