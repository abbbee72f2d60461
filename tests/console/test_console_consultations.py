"""Consultations on draft policies in the console, in-process: a unit administrator creates one,
attaches the draft (a renamed program is refused in Vietnamese and stored nowhere), publishes it,
reads the opinions a page at a time and downloads the report; officials and analysts only read,
and another province sees none of it."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

from console_fixtures import EXE, PDF, Console

from bot.content import consultations
from console.filters import VN

TITLE = "Dự thảo Quy chế tiếp công dân"
NOW = datetime.now(VN)
DRAFT = {"title": TITLE, "summary": "Quy định việc tiếp công dân tại trụ sở UBND.", "unit_code": "p.ha_noi",
         "document_url": "https://hanoi.gov.vn/du-thao/quy-che.pdf",
         "opens_at": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
         "closes_at": (NOW + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")}


async def _create(console: Console, **fields: str) -> str:
    await console.get("/console/consultations")
    await console.post("/console/consultations", {**DRAFT, **fields})
    assert console.status == 303, console.page
    return re.search(r"/consultations/(\w+)\?done=created", console.headers["Location"]).group(1)  # type: ignore[union-attr]


async def _chat_opinion(console: Console, cid: str, answers: list[str]) -> None:
    """A citizen opens the consultation's chat link and answers every question."""
    resp = await console.client.post("/api/v1/chat/sessions", json={"flow": "consultation", "context": {"draft": cid}})
    token = (await resp.json())["session"]
    for text in answers:
        r = await console.client.post(f"/api/v1/chat/sessions/{token}/messages",
                                      json={"text": text, "cid": uuid.uuid4().hex})
        assert r.status == 200, await r.text()


async def test_a_unit_admin_creates_edits_attaches_publishes_and_reads_the_opinions(console: Console) -> None:
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.get("/console/consultations")
    assert "Tạo đợt lấy ý kiến" in console.page and 'aria-current="page">Lấy ý kiến<' in console.page
    await console.post("/console/consultations", {**DRAFT, "closes_at": DRAFT["opens_at"]})
    assert console.status == 422 and "Thời điểm kết thúc phải sau thời điểm bắt đầu" in console.page
    assert f'value="{TITLE}"' in console.page  # what was typed is kept
    await console.post("/console/consultations", {**DRAFT, "document_url": "hanoi.gov.vn/du-thao"})
    assert console.status == 422 and "bắt đầu bằng http:// hoặc https://" in console.page
    cid = await _create(console)
    await console.follow()
    assert "Đã tạo đợt lấy ý kiến" in console.page and "Chưa công bố" in console.page
    assert f"/chat?flow=consultation&amp;draft={cid}" in console.page

    await console.post(f"/console/consultations/{cid}/edit", {**DRAFT, "title": TITLE + " (lần 2)"})
    assert "Đã lưu thay đổi." in await console.follow() and TITLE + " (lần 2)" in console.page

    await console.upload(f"/console/consultations/{cid}/file", {}, ("du-thao.pdf", EXE, "application/pdf"))
    assert console.status == 422 and "Chỉ nhận tệp PDF, Word (.docx) hoặc Excel (.xlsx)" in console.page
    assert console.stored_files() == [] and "Tệp dự thảo (" not in console.page
    await console.upload(f"/console/consultations/{cid}/file", {}, ("du-thao.pdf", PDF, "application/pdf"))
    assert "Đã đính kèm tệp dự thảo." in await console.follow() and "Tệp dự thảo (PDF)" in console.page
    resp = await console.client.get(f"/console/consultations/{cid}/file")
    assert resp.status == 200 and await resp.read() == PDF and "attachment" in resp.headers["Content-Disposition"]

    await console.post(f"/console/consultations/{cid}/publish", {})
    assert "Đã công bố" in await console.follow() and "Đang lấy ý kiến" in console.page

    flow = await console.services.flows.get(consultations.FLOW_ID)
    assert flow is not None
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    for i in range(51):
        await consultations.add_opinion(console.services.engine, flow, cid,
                                        position="agree_changes" if i % 2 == 0 else "disagree",
                                        comments=f"Góp ý số {i:02d}", publish_consent=True,
                                        now=start + timedelta(seconds=i))
    await _chat_opinion(console, cid, ["3", "Điều 5 chưa rõ thời gian tiếp", "0912345678", "có", "gửi"])

    page = await console.get(f"/console/consultations/{cid}")
    assert "Ý kiến đã nhận: 52" in page and "Qua Biểu mẫu trên trang web" in page and "Qua Web chat" in page
    assert "Góp ý số 00" in page and "Góp ý số 49" in page and "Góp ý số 50" not in page
    assert "0912345678" not in page
    assert f"/console/consultations/{cid}?offset=50" in page
    page = await console.get(f"/console/consultations/{cid}?offset=50")
    assert "Góp ý số 50" in page and "Điều 5 chưa rõ thời gian tiếp" in page and "Góp ý số 49" not in page
    listing = await console.get("/console/consultations")
    assert TITLE + " (lần 2)" in listing and re.search(r'data-label="Số ý kiến">52<', listing)

    resp = await console.client.get(f"/console/consultations/{cid}/report.csv")
    assert resp.status == 200 and f'filename="y-kien-{cid}.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    assert ["disagree", "Không đồng ý", "26"] in rows and ["agree_changes", "Đồng ý nhưng cần chỉnh sửa, bổ sung", "26"] in rows
    resp = await console.client.get(f"/console/consultations/{cid}/report.json")
    report = json.loads(await resp.read())
    assert report["total"] == 52 and report["by_channel"] == {"web_form": 51, "web": 1}
    assert "0912345678" not in json.dumps(report)

    await console.post(f"/console/consultations/{cid}/unpublish", {})
    assert "Đã thu hồi" in await console.follow() and "Chưa công bố" in console.page
    audit = await console.get("/console/audit")
    for action in ("Tạo đợt lấy ý kiến", "Sửa đợt lấy ý kiến", "Đính kèm tệp dự thảo", "Công bố lấy ý kiến",
                   "Thu hồi lấy ý kiến"):
        assert action in audit, action


async def test_another_province_sees_and_changes_none_of_these_consultations(console: Console) -> None:
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    cid = await _create(console)
    await console.logout()
    for username, role in (("qt.hue", "unit_admin"), ("nv.hue", "official"), ("pt.hue", "analyst")):
        await console.login(username, role, "p.hue")
        assert TITLE not in await console.get("/console/consultations") and console.status == 200
        for path in ("", "/report.csv", "/report.json", "/file"):
            await console.get(f"/console/consultations/{cid}{path}")
            assert console.status == 404, path
        await console.logout()
    await console.login("qt.hue")
    await console.get("/console/consultations")
    for step in ("edit", "publish", "unpublish"):
        await console.post(f"/console/consultations/{cid}/{step}", {**DRAFT, "unit_code": "p.hue"})
        assert console.status == 404, step
        await console.get("/console/consultations")
    await console.upload(f"/console/consultations/{cid}/file", {}, ("du-thao.pdf", PDF, "application/pdf"))
    assert console.status == 404 and console.stored_files() == []
    await console.get("/console/consultations")
    await console.post("/console/consultations", {**DRAFT, "title": "Của Huế", "unit_code": "p.ha_noi"})
    assert console.status == 422 and "thuộc phạm vi của bạn" in console.page
    hanoi = await consultations.get(console.services.engine, cid, scope=None)
    assert hanoi is not None and (hanoi["title"], hanoi["published"], hanoi["has_file"]) == (TITLE, False, False)
    assert [c["id"] for c in await consultations.list_all(console.services.engine, scope=None, limit=10,
                                                           offset=0)] == [cid]


async def test_officials_and_analysts_read_but_cannot_act(console: Console) -> None:
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    cid = await _create(console)
    await console.logout()
    for username, role in (("nv.hanoi", "official"), ("pt.hanoi", "analyst")):
        await console.login(username, role, "p.ha_noi")
        page = await console.get("/console/consultations")
        assert console.status == 200 and TITLE in page and "Tạo đợt lấy ý kiến" not in page
        page = await console.get(f"/console/consultations/{cid}")
        assert console.status == 200 and "Công bố lấy ý kiến" not in page and "Sửa thông tin" not in page
        assert (await console.client.get(f"/console/consultations/{cid}/report.csv")).status == 200
        await console.post("/console/consultations", DRAFT)
        assert console.status == 403
        await console.get(f"/console/consultations/{cid}")
        await console.post(f"/console/consultations/{cid}/publish", {})
        assert console.status == 403
        await console.logout()
    await console.get("/console/consultations")
    assert console.status == 303 and console.headers["Location"].startswith("/console/login?next=")


async def test_a_post_without_its_csrf_token_creates_nothing(console: Console) -> None:
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.get("/console/consultations")
    await console.post("/console/consultations", DRAFT, csrf=False)
    assert console.status == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in console.page
    cid = await _create(console)
    await console.get(f"/console/consultations/{cid}")
    await console.post(f"/console/consultations/{cid}/publish", {}, csrf=False)
    assert console.status == 403
    c = await consultations.get(console.services.engine, cid, scope=None)
    assert c is not None and c["published"] is False
    assert len(await consultations.list_all(console.services.engine, scope=None, limit=10, offset=0)) == 1
