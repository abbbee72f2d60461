"""Logging in, tokens and roles, as an administrator or an integration would meet them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update

from bot.store.tables import admin_tokens

from .conftest import API, PASSWORD, Admin


async def test_a_wrong_password_and_no_token_get_json_errors(admin: Admin) -> None:
    await admin.user("nv.hanoi", "official", "p.ha_noi")
    resp = await admin.client.post(f"{API}/login", json={"username": "nv.hanoi", "password": "sai-mat-khau"})
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_credentials"
    resp = await admin.client.get(f"{API}/me")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await resp.json())["error"]["code"] == "unauthenticated"


async def test_login_says_who_you_are_and_which_units_you_see(admin: Admin) -> None:
    h = await admin.login("qt.tuyenquang", "unit_admin", "p.tuyen_quang")
    me = await admin.call("GET", "/me", h)
    assert me["role"] == "unit_admin" and me["unit_code"] == "p.tuyen_quang"
    assert {"p.tuyen_quang", "p63.ha_giang"} <= set(me["units"])  # Hà Giang merged into Tuyên Quang in 2025
    root = await admin.login("root", "system_admin")
    assert (await admin.call("GET", "/me", root))["units"] is None


async def test_logout_and_expiry_end_a_session(admin: Admin) -> None:
    h = await admin.login("nv1", "official", "p.hue")
    await admin.call("POST", "/logout", h)
    await admin.call("GET", "/me", h, expect=401)
    h = await admin.login("nv1")
    async with admin.services.engine.begin() as conn:
        await conn.execute(update(admin_tokens).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    await admin.call("GET", "/me", h, expect=401)


async def test_an_api_token_works_until_revoked_and_is_shown_once(admin: Admin) -> None:
    h = await admin.login("motcua", "official", "p.da_nang")
    issued = await admin.call("POST", "/tokens", h, expect=201, json={"name": "phần mềm một cửa"})
    api = {"Authorization": f"Bearer {issued['token']}"}
    assert (await admin.call("GET", "/me", api))["username"] == "motcua"
    listed = await admin.call("GET", "/tokens", h)
    assert [t["name"] for t in listed] == ["phần mềm một cửa"] and "token" not in listed[0]
    await admin.call("POST", "/tokens", api, expect=403, json={"name": "another"})
    await admin.call("DELETE", f"/tokens/{issued['id']}", h)
    await admin.call("GET", "/me", api, expect=401)


async def test_a_disabled_account_cannot_log_in_and_loses_its_tokens(admin: Admin) -> None:
    root = await admin.login("root", "system_admin")
    h = await admin.login("nv2", "official", "p.ha_noi")
    me = await admin.call("GET", "/me", h)
    await admin.call("PATCH", f"/users/{me['id']}", root, json={"disabled": True})
    await admin.call("GET", "/me", h, expect=401)
    resp = await admin.client.post(f"{API}/login", json={"username": "nv2", "password": PASSWORD})
    assert resp.status == 401


async def test_roles_limit_what_each_account_can_do(admin: Admin) -> None:
    analyst = await admin.login("pt", "analyst", "p.ha_noi")
    await admin.call("GET", "/questions", analyst, expect=403)
    await admin.call("GET", "/users", analyst, expect=403)
    unit_admin = await admin.login("qt", "unit_admin", "p.ha_noi")
    body = {"username": "x", "password": PASSWORD, "role": "system_admin"}
    assert (await admin.call("POST", "/users", unit_admin, expect=403, json=body))["error"]["code"] == "forbidden"
    body = {"username": "nv.hue", "password": PASSWORD, "role": "official", "unit_code": "p.hue"}
    await admin.call("POST", "/users", unit_admin, expect=403, json=body)
    body["unit_code"] = "p.ha_noi.so_noi_vu"
    created = await admin.call("POST", "/users", unit_admin, expect=201, json=body)
    assert created["unit_code"] == "p.ha_noi.so_noi_vu"
    await admin.call("POST", "/users", unit_admin, expect=409, json=body)


async def test_bad_input_gets_a_precise_error(admin: Admin) -> None:
    h = await admin.login("root", "system_admin")
    resp = await admin.client.post(f"{API}/users", headers={**h, "Content-Type": "application/json"},
                                   data=b"{not json")
    assert resp.status == 422 and "not JSON" in (await resp.json())["error"]["message"]
    err = await admin.call("POST", "/users", h, expect=422, json={"username": "a", "password": "short", "role": "boss"})
    fields = {d["field"] for d in err["error"]["details"]}
    assert {"password", "role"} <= fields or "password" in fields
    err = await admin.call("GET", "/questions?limit=0", h, expect=422)
    assert err["error"]["details"][0]["field"] == "limit"
    assert (await admin.call("GET", "/nothing-here", h, expect=404))["error"]["code"] == "not_found"


async def test_every_change_is_in_the_audit_log(admin: Admin) -> None:
    root = await admin.login("root", "system_admin")
    await admin.call("POST", "/users", root, expect=201,
                     json={"username": "nv3", "password": PASSWORD, "role": "official", "unit_code": "p.hue"})
    log = await admin.call("GET", "/audit", root)
    actions = [e["action"] for e in log["items"]]
    assert "user.create" in actions and "login" in actions


async def test_repeated_wrong_passwords_lock_the_login_even_for_the_right_one(admin: Admin) -> None:
    await admin.user("nv4", "official", "p.ha_noi")

    async def attempt(password: str) -> tuple[int, dict[str, Any]]:
        resp = await admin.client.post(f"{API}/login", json={"username": "nv4", "password": password})
        return resp.status, await resp.json()

    assert [(await attempt("sai-mat-khau"))[0] for _ in range(4)] == [401] * 4
    status, body = await attempt("sai-mat-khau")
    assert status == 429
    assert body["error"]["code"] == "too_many_failures"
    assert body["error"]["message"] == ("too many failed logins for this username from your address: "
                                        "try again in 15 minutes")
    assert body["error"]["details"] == [{"retry_after_seconds": 900}]
    assert (await attempt(PASSWORD))[0] == 429  # not even checked while locked
    await admin.login("other", "official", "p.ha_noi")  # another account is not affected


async def test_console_failures_count_for_the_api_too(admin: Admin) -> None:
    """A guesser gains nothing by switching from the console's form to the API."""
    from admin_api.login import log_in

    await admin.user("nv5", "official", "p.ha_noi")
    for _ in range(5):
        await log_in(admin.services, "nv5", "sai-mat-khau", "127.0.0.1", via="console")
    resp = await admin.client.post(f"{API}/login", json={"username": "nv5", "password": PASSWORD})
    assert resp.status == 429
