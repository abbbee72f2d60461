"""What keeps an official's browser session safe: strict headers on every page, forms that only
work from our own pages, cookies scripts cannot read, sessions that end, and password guessing
that stops after a few tries."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from console_fixtures import Console, console_app
from sqlalchemy import update

from bot.store.tables import admin_tokens
from tests.admin.conftest import PASSWORD, Admin

Q = "Xin hỏi thủ tục cấp lại căn cước công dân bị mất cần những gì?"


def _cookie(console: Console, name: str) -> str:
    """The Set-Cookie line of the last response for ``name``."""
    lines = console.headers.getall("Set-Cookie", [])
    return next((line for line in lines if line.startswith(name + "=")), "")


async def test_every_page_forbids_inline_script_framing_and_sniffing(console: Console) -> None:
    for path in ("/console/login", "/console/nowhere", "/console/static/console.css"):
        await console.get(path)
        h = console.headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff", path
        assert h["Referrer-Policy"] == "same-origin", path  # no-referrer would make Chromium send Origin: null
    assert console.status == 200 and "immutable" not in console.headers["Cache-Control"]
    page = await console.get("/console/login")
    assert console.headers["Cache-Control"] == "no-store"
    assert "<script" not in page and "style=" not in page


async def test_the_session_cookie_is_httponly_strict_and_expires_with_the_session(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    assert console.status == 303 and console.headers["Location"] == "/console/"
    cookie = _cookie(console, "hailong_admin").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert f"max-age={console.services.settings.admin_session_hours * 3600}" in cookie
    assert "secure" not in cookie  # plain http on a developer's machine


async def test_cookies_are_secure_when_the_public_url_is_https(settings, services, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    console = Console(await aiohttp_client(console_app(settings.with_(public_url="https://hailong.example.vn"))))
    await console.user("nv.hanoi", "official", "p.ha_noi")
    await console.get("/console/login")
    csrf = _cookie(console, "hailong_csrf")
    assert "; secure" in csrf.lower()
    # an http client keeps no Secure cookie: send it back as a browser on https would
    await console.post("/console/login", {"username": "nv.hanoi", "password": PASSWORD},
                       cookies={"hailong_csrf": csrf.split(";")[0].split("=", 1)[1]})
    assert console.status == 303 and "; secure" in _cookie(console, "hailong_admin").lower()


async def test_a_form_without_its_csrf_token_changes_nothing(console: Console, citizens: Admin) -> None:
    _, ticket = await citizens.citizen_asks(Q, "p.ha_noi")
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/close", {}, csrf=False)
    assert console.status == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in console.page
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/close", {"csrf_token": "0" * 64}, csrf=False)
    assert console.status == 403
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/close", {}, headers={"Origin": "https://evil.example"})
    assert console.status == 403
    assert (await citizens.open_tickets())[0]["status"] == "open"
    await console.get(f"/console/questions/{ticket}")
    await console.post(f"/console/questions/{ticket}/close", {})
    assert console.status == 303 and (await citizens.open_tickets())[0]["status"] == "closed"


async def test_a_token_from_another_session_is_refused(console: Console, citizens: Admin) -> None:
    """A token lifted from one official's page does not work in another browser or session."""
    _, ticket = await citizens.citizen_asks(Q, "p.ha_noi")
    await console.login("nv.hanoi", "official", "p.ha_noi")
    stolen = await console.get(f"/console/questions/{ticket}")
    other = console.another_browser()
    await other.login("nv2.hanoi", "official", "p.ha_noi")
    other.page = stolen
    await other.post(f"/console/questions/{ticket}/close", {})
    assert other.status == 403
    await other.close()


async def test_a_session_ends_when_it_expires_and_at_logout(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await console.get("/console/questions")
    assert console.status == 200
    async with console.services.engine.begin() as conn:  # the session's hours have passed
        await conn.execute(update(admin_tokens).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    await console.get("/console/questions")
    page = await console.follow()
    assert "Phiên làm việc đã hết hạn" in page and "Đăng nhập" in page
    await console.login("nv.hanoi")
    await console.get("/console/questions")
    cookie = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/console/"))["hailong_admin"]
    await console.logout()
    assert "Bạn đã đăng xuất" in await console.follow()
    replayed = await console.client.get("/console/questions", cookies={"hailong_admin": cookie.value},
                                        allow_redirects=False)
    assert replayed.status == 303 and replayed.headers["Location"].startswith("/console/login")


async def test_repeated_wrong_passwords_lock_that_username_for_a_while(console: Console) -> None:
    await console.user("nv.hanoi", "official", "p.ha_noi")
    for _ in range(5):
        page = await console.login("nv.hanoi", password="sai-mat-khau-roi")
    assert console.status == 429 and "quá nhiều lần" in page
    page = await console.login("nv.hanoi", password=PASSWORD)  # even the right password waits
    assert console.status == 429
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")  # another account is not locked out
    assert console.status == 303


async def test_login_goes_back_where_the_official_was_but_never_off_site(console: Console) -> None:
    await console.user("nv.hanoi", "official", "p.ha_noi")
    await console.get("/console/questions?status=all")
    assert console.status == 303
    await console.get(console.headers["Location"])
    await console.post("/console/login", {"username": "nv.hanoi", "password": PASSWORD})
    assert console.headers["Location"] == "/console/questions?status=all"
    await console.logout()
    await console.get("/console/login")
    await console.post("/console/login", {"username": "nv.hanoi", "password": PASSWORD,
                                          "next": "https://evil.example/console/"})
    assert console.headers.get("Location") == "/console/", (console.status, console.page[-1500:])


async def test_an_api_token_does_not_open_the_console(console: Console) -> None:
    admin = Admin(console.client)
    headers = await admin.login("tich.hop", "official", "p.ha_noi")
    token = await admin.call("POST", "/tokens", headers, expect=201, json={"name": "mot-cua"})
    resp = await console.client.get("/console/questions", cookies={"hailong_admin": token["token"]},
                                    allow_redirects=False)
    assert resp.status == 303 and "/console/login" in resp.headers["Location"]
