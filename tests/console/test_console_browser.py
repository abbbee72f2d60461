"""The console in a real browser: Debian's chromium driven by Playwright against the real
application on a loopback port (PostgreSQL + Redis, as deployed). What an official would notice:
logging in, the inbox, answering a citizen who then reads the answer in the web chat, Vietnamese
messages, forms that refuse forged posts, nothing of another province, and the results chart.
Every page is also checked for Content-Security-Policy violations (no inline script or style)."""
from __future__ import annotations

import os
import secrets
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from console_fixtures import console_app
from sqlalchemy import update

from admin_api import accounts
from bot.app import SERVICES
from bot.settings import REPO_ROOT, Settings
from bot.store.db import create_engine_sync
from bot.store.flows_repo import load_directory
from bot.store.tables import qa_tickets
from tests.admin import live
from tests.admin.conftest import PASSWORD
from tests.analytics.analytics_fixtures import add_response
from tests.conftest import REDIS_URL, _truncate_pg

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("HAILONG_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.Server]:
    _truncate_pg(pg_url)
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("console")), database_url=pg_url, redis_url=REDIS_URL,
                        redis_prefix=f"hailong-test:{secrets.token_hex(4)}:", secret_key="console-secret")
    with pytest.MonkeyPatch.context() as mp:  # until bot/app.py mounts the console itself
        mp.setattr(live, "create_app", console_app)
        s = live.Server(settings).start()
    s.run(load_directory(s.app[SERVICES].engine, REPO_ROOT / "survey_flows"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Browser:
    """One official's browser tab; ``violations`` collects what the CSP blocked."""

    def __init__(self, server: live.Server, context: Any) -> None:
        self.server, self.context = server, context
        self.page = context.new_page()
        self.violations: list[str] = []
        self.page.on("console", lambda m: self.violations.append(m.text)
                     if "Content Security Policy" in m.text else None)

    def open(self, path: str) -> Any:
        self.page.goto(self.server.url + path)
        return self.page

    def login(self, username: str, password: str = PASSWORD) -> Any:
        page = self.open("/console/")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(password)
        page.get_by_role("button", name="Đăng nhập").click()
        return page


@pytest.fixture
def tab(server: live.Server, browser: Any) -> Iterator[Browser]:
    context = browser.new_context(locale="vi-VN")
    b = Browser(server, context)
    yield b
    assert b.violations == []  # every page works under the strict CSP
    context.close()


def user(server: live.Server, username: str, role: str, unit: str | None) -> None:
    async def create() -> None:
        services = server.app[SERVICES]
        async with services.engine.begin() as conn:
            await accounts.create_user(conn, services.units, username=username, password=PASSWORD, role=role,
                                       unit_code=unit)
    server.run(create())


def citizen_asks(server: live.Server, browser: Any, text: str, unit: str) -> tuple[str, str]:
    """A citizen asks for an official in the web chat, then asks; returns (chat session, ticket id).
    The web chat does not say which province a question concerns, so the ticket is given its unit
    as the routing step would."""
    api = browser.new_context().request
    token = api.post(f"{server.url}/api/v1/chat/sessions", data={}).json()["session"]
    for said in ("tôi muốn gặp cán bộ", text):
        r = api.post(f"{server.url}/api/v1/chat/sessions/{token}/messages", data={"text": said, "cid": uuid.uuid4().hex})
        assert r.ok, r.text()

    async def route() -> str:
        async with server.app[SERVICES].engine.begin() as conn:
            row = (await conn.execute(qa_tickets.select().where(qa_tickets.c.text == text))).one()
            await conn.execute(update(qa_tickets).where(qa_tickets.c.id == row.id).values(unit_code=unit))
        return row.id
    return token, server.run(route())


def chat_messages(server: live.Server, browser: Any, token: str) -> list[str]:
    api = browser.new_context().request
    return [m["text"] for m in api.get(f"{server.url}/api/v1/chat/sessions/{token}/messages").json()["messages"]]


def test_an_official_answers_a_web_chat_citizen_who_reads_the_answer_in_the_chat(
        server: live.Server, browser: Any, tab: Browser) -> None:
    question = "Xin hỏi làm lại giấy khai sinh bị mất thì nộp hồ sơ ở đâu?"
    token, ticket = citizen_asks(server, browser, question, "p.ha_noi")
    user(server, "nv.hanoi", "official", "p.ha_noi")
    page = tab.login("nv.hanoi")
    expect(page.get_by_role("heading", name="Câu hỏi của người dân")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=question)
    expect(row).to_contain_text("Thành phố Hà Nội")
    expect(row).to_contain_text("phút")  # how long the citizen has waited
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Câu hỏi", exact=True)).to_be_visible()
    answer = "Ông/Bà nộp hồ sơ tại UBND phường nơi cư trú; thời hạn giải quyết 3 ngày làm việc."
    page.get_by_label("Nội dung trả lời").fill(answer)
    page.get_by_role("button", name="Gửi câu trả lời").click()
    expect(page.get_by_role("status")).to_have_text("Đã gửi câu trả lời tới người hỏi.")
    expect(page.locator("dl.meta")).to_contain_text("Đã trả lời")
    assert chat_messages(server, browser, token)[-1] == answer
    page.get_by_role("link", name="Hỏi đáp").click()
    expect(page.get_by_text(question)).to_have_count(0)  # no longer waiting
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")


def test_a_wrong_password_is_told_in_vietnamese(server: live.Server, tab: Browser) -> None:
    user(server, "nv.sai", "official", "p.ha_noi")
    page = tab.login("nv.sai", "mat-khau-khong-dung")
    expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value("nv.sai")
    expect(page.get_by_label("Mật khẩu")).to_have_value("")


def test_a_post_without_the_forms_csrf_token_is_rejected(server: live.Server, browser: Any, tab: Browser) -> None:
    _, ticket = citizen_asks(server, browser, "Cho hỏi lệ phí cấp đổi giấy phép lái xe là bao nhiêu?", "p.ha_noi")
    user(server, "nv.csrf", "official", "p.ha_noi")
    page = tab.login("nv.csrf")
    expect(page.get_by_role("heading", name="Câu hỏi của người dân")).to_be_visible()
    # the session cookie goes along (same browser), but not the form's token
    forged = tab.context.request.post(f"{server.url}/console/questions/{ticket}/close", form={"x": "1"},
                                      max_redirects=0)
    assert forged.status == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in forged.text()
    tab.open(f"/console/questions/{ticket}")
    expect(page.locator("dl.meta")).to_contain_text("Mới")


def test_another_provinces_question_is_invisible(server: live.Server, browser: Any, tab: Browser) -> None:
    hanoi_question = "Tôi muốn hỏi về thủ tục chuyển hộ khẩu trong nội thành Hà Nội."
    hue_question = "Xin hỏi giờ làm việc của bộ phận một cửa phường Thuận Hóa?"
    _, t_hanoi = citizen_asks(server, browser, hanoi_question, "p.ha_noi")
    citizen_asks(server, browser, hue_question, "p.hue")
    user(server, "nv.hue", "official", "p.hue")
    page = tab.login("nv.hue")
    expect(page.get_by_text(hue_question)).to_be_visible()
    expect(page.get_by_text(hanoi_question)).to_have_count(0)
    tab.open("/console/questions?status=all")
    expect(page.get_by_text(hue_question)).to_be_visible()
    expect(page.get_by_text(hanoi_question)).to_have_count(0)
    response = page.goto(f"{server.url}/console/questions/{t_hanoi}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy")
    expect(page.get_by_text(hanoi_question)).to_have_count(0)


def test_the_results_page_shows_a_chart_and_the_table(server: live.Server, tab: Browser) -> None:
    engine = create_engine_sync(server.settings.database_url)
    at = datetime.now(timezone.utc) - timedelta(days=1)
    with engine.begin() as conn:
        for i, score in enumerate(("5", "4", "2")):
            add_response(conn, f"b{i}", "sipas", unit="p.hue", at=at, answers_={
                **{f"e{k}_satisfaction": score for k in range(1, 5)}, "e5_gave_feedback": "no",
                "overall_satisfaction": score})
    engine.dispose()
    user(server, "pt.hue", "analyst", "p.hue")
    page = tab.login("pt.hue")
    expect(page.get_by_role("heading", name="Kết quả khảo sát")).to_be_visible()
    page.get_by_label("Bộ câu hỏi").select_option(label="Khảo sát mức độ hài lòng về sự phục vụ hành chính (SIPAS)")
    page.get_by_label("Kỳ", exact=True).fill(str(at.year))
    page.get_by_role("button", name="Xem kết quả").click()
    chart = page.get_by_role("img", name="Biểu đồ thanh")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 0  # the SVG decoded and drew
    table = page.get_by_role("table", name="Giá trị các chỉ số")
    expect(table.get_by_role("row").filter(has_text="Chỉ số hài lòng về tiếp cận dịch vụ")).to_contain_text("66,67")
    expect(page.get_by_role("link", name="CSV")).to_be_visible()


def test_the_inbox_fits_a_phone_screen(server: live.Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    tab = Browser(server, context)
    citizen_asks(server, browser, "Đăng ký kết hôn cần mang theo giấy tờ gì ạ?", "p.da_nang")
    user(server, "nv.danang", "official", "p.da_nang")
    page = tab.login("nv.danang")
    expect(page.get_by_text("Đăng ký kết hôn cần mang theo giấy tờ gì ạ?")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    expect(page.get_by_role("link", name="Bỏ qua, đến nội dung chính")).to_be_focused()
    assert tab.violations == []
    context.close()


def test_a_refused_list_shows_each_problem_by_line_in_vietnamese(server: live.Server, tab: Browser) -> None:
    user(server, "qt.danang", "unit_admin", "p.da_nang")
    page = tab.login("qt.danang")
    page = tab.open("/console/campaigns")
    page.get_by_label("Tên chiến dịch").fill("Khảo sát PAR INDEX Đà Nẵng")
    page.get_by_label("Bộ câu hỏi").select_option(value="par_index")
    page.get_by_label("Thành phố Đà Nẵng").check()
    page.get_by_role("button", name="Tạo chiến dịch").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo chiến dịch")

    listing = "Họ tên,Kênh,Tài khoản,Số điện thoại\nAn,telegram,5123456789,\n,,,0912345678\nBình,,,0912\n"
    page.get_by_label("Tệp danh sách").set_input_files(
        {"name": "danh-sach.csv", "mimeType": "text/csv", "buffer": listing.encode()})
    page.get_by_role("button", name="Tải lên").click()
    expect(page.get_by_role("alert")).to_contain_text("Danh sách có 2 lỗi nên chưa nhập người nào.")
    problems = page.get_by_role("table", name="Các lỗi trong danh sách")
    expect(problems.get_by_role("row").filter(has_text="thiếu họ tên")).to_contain_text("3")
    expect(problems.get_by_role("row").filter(has_text="không phải số điện thoại Việt Nam")).to_contain_text("4")


def test_consultations_and_documents_are_in_the_menu_and_work(server: live.Server, tab: Browser) -> None:
    user(server, "qt.hue", "unit_admin", "p.hue")
    page = tab.login("qt.hue")
    page.get_by_role("link", name="Lấy ý kiến").click()
    expect(page.get_by_role("heading", name="Lấy ý kiến dự thảo")).to_be_visible()
    now = datetime.now(timezone(timedelta(hours=7)))
    page.get_by_label("Tên dự thảo").fill("Dự thảo quy chế một cửa Huế")
    page.get_by_label("Tóm tắt nội dung dự thảo").fill("Quy định thời gian tiếp nhận hồ sơ.")
    page.get_by_label("Bắt đầu lấy ý kiến").fill(now.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Kết thúc lấy ý kiến").fill((now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Tạo đợt lấy ý kiến").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo đợt lấy ý kiến")
    expect(page.locator("dl.meta")).to_contain_text("Chưa công bố")

    page.get_by_role("link", name="Văn bản", exact=True).click()
    expect(page.get_by_role("heading", name="Cơ sở dữ liệu văn bản cải cách hành chính")).to_be_visible()
    page.get_by_label("Tên văn bản").fill("Báo cáo cải cách hành chính Huế")
    page.get_by_label("Tệp văn bản").set_input_files(
        {"name": "bao-cao.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 a renamed program"})
    page.get_by_role("button", name="Tải lên").click()
    expect(page.get_by_role("alert")).to_contain_text("Chỉ nhận tệp PDF, Word (.docx) hoặc Excel (.xlsx)")
    expect(page.get_by_label("Tên văn bản")).to_have_value("Báo cáo cải cách hành chính Huế")
