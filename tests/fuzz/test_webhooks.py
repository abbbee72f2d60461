"""The three webhook endpoints of the real application, fuzzed over HTTP on PostgreSQL.

PostgreSQL rather than SQLite because it is the stricter store (length limits on keys, no NUL in
text): a body that parses but cannot be recorded would be a 500, and a platform redelivers a 500
for hours. The contract, whatever a signed body holds:

- never a 5xx;
- a body the parser refuses is logged (``webhook.bad_body``) and acknowledged with 200, and
  nothing is recorded;
- a body that parses is recorded and every event in it is handled to the end (inbox row ``done``).

Bodies are signed correctly: the signature check is what stops strangers, so everything past it
must survive whatever the platform (or a compromised secret) sends.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from admin.live import Server
from bot.app import SERVICES
from bot.settings import Settings
from bot.store.tables import inbox
from channels.messenger import sign as messenger_sign
from channels.zalo import sign as zalo_sign
from channels.zalo.signature import SIGNATURE_HEADER as ZALO_HEADER

from .strategies import ZALO_APP_ID, damaged, deep, encode, json_values, messenger_body, telegram_update, zalo_event
from .test_parsers import parse_or_reject

OA_SECRET, APP_SECRET, TG_SECRET = "fuzz-oa-secret", "fuzz-app-secret", "fuzz_tg_secret"
TG_TOKEN = "123456789:AAHfake-Token_for_tests0123456789abcd"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
REQUEST_CAP = 64 * 1024  # bot/app.py: client_max_size
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    # platforms on, their APIs pointed at a closed port: the sender is never stepped here
    s = Server(Settings(data_dir=Path(tmp_path_factory.mktemp("fuzz-webhooks")), database_url=pg_url,
                        secret_key="fuzz-secret", zalo_app_id=ZALO_APP_ID, zalo_app_secret="x",
                        zalo_oa_secret_key=OA_SECRET, zalo_refresh_token="r", zalo_api_base="http://127.0.0.1:9",
                        zalo_oauth_base="http://127.0.0.1:9", messenger_app_secret=APP_SECRET,
                        messenger_verify_token="v", messenger_page_token="p", messenger_api_base="http://127.0.0.1:9",
                        telegram_token=TG_TOKEN, telegram_secret=TG_SECRET,
                        telegram_api_base="http://127.0.0.1:9")).start()
    yield s
    s.stop()


def signed(channel: str, body: bytes) -> dict[str, str]:
    """The headers the platform would send with ``body``. A Zalo body without ``app_id`` and
    ``timestamp`` cannot be signed at all (the recipe reads them from the body): None then."""
    headers = {"Content-Type": "application/json"}
    if channel == "zalo":
        try:
            headers[ZALO_HEADER] = zalo_sign(body, OA_SECRET)
        except ValueError:
            headers[ZALO_HEADER] = "mac=" + "0" * 64
    elif channel == "messenger":
        headers["X-Hub-Signature-256"] = messenger_sign(body, APP_SECRET)
    else:
        headers["X-Telegram-Bot-Api-Secret-Token"] = TG_SECRET
    return headers


def post(server: Server, channel: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(f"{server.url}/webhooks/{channel}", data=body, method="POST", headers=headers)
    try:
        with OPENER.open(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def inbox_rows(server: Server, channel: str, keys: list[str] | None = None) -> list[Any]:
    async def query() -> list[Any]:
        await server.app[SERVICES].inbox.drain()  # everything accepted is handled first
        where = [inbox.c.channel == channel] + ([inbox.c.message_key.in_(keys)] if keys is not None else [])
        async with server.app[SERVICES].engine.connect() as conn:
            return list((await conn.execute(select(inbox.c.message_key, inbox.c.status, inbox.c.last_error)
                                            .where(*where))).all())
    return server.run(query())


def inbox_count(server: Server) -> int:
    async def query() -> int:
        async with server.app[SERVICES].engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(inbox))).scalar_one()
    return server.run(query())


def check(server: Server, channel: str, body: bytes) -> None:
    headers = signed(channel, body)
    expected = parse_or_reject(channel, body)
    before = inbox_count(server)
    status = post(server, channel, body, headers)
    if len(body) > REQUEST_CAP:
        assert status == 413  # over the app's request size cap: refused before anything is read
        return
    if channel == "zalo" and headers[ZALO_HEADER] == "mac=" + "0" * 64:
        assert status == 401  # unsignable: it cannot have come from Zalo
        return
    assert status == 200, (status, body[:300])
    if not expected:
        assert inbox_count(server) == before  # refused, or nothing a respondent did: nothing recorded
        return
    keys = [ev.message_id for ev in expected if ev.message_id]
    rows = inbox_rows(server, channel, keys)
    assert {r.message_key for r in rows} == set(keys)
    assert all(r.status == "done" for r in rows), [(r.message_key, r.status, r.last_error) for r in rows]


SOURCES = {"zalo": zalo_event(), "messenger": messenger_body(), "telegram": telegram_update()}


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), st.data())
def test_well_formed_events_are_recorded_and_handled(server: Server, channel: str, data: st.DataObject) -> None:
    check(server, channel, encode(data.draw(SOURCES[channel])))


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), st.data())
def test_damaged_events_never_get_a_server_error(server: Server, channel: str, data: st.DataObject) -> None:
    check(server, channel, encode(data.draw(damaged(SOURCES[channel]))))


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), json_values | st.binary(max_size=200))
def test_any_json_or_bytes_never_get_a_server_error(server: Server, channel: str, value: Any) -> None:
    body = value if isinstance(value, bytes) else encode(value)
    if channel == "zalo" and isinstance(value, dict):  # make it signable, so it reaches the parser
        body = encode({**value, "app_id": ZALO_APP_ID, "timestamp": "1700000000000"})
    check(server, channel, body)


@pytest.mark.parametrize("channel", sorted(SOURCES))
def test_a_signed_unreadable_body_is_logged_and_acknowledged(server: Server, channel: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    body = {"zalo": json.dumps({"app_id": ZALO_APP_ID, "timestamp": "1", "event_name": "user_send_text"}).encode(),
            "messenger": b'{"object": "page", "entry": "not a list"}',
            "telegram": b'{"update_id": "one"}'}[channel]
    before = inbox_count(server)
    # the CLI's setup_logging (run by earlier tests) stops propagation: listen on the logger itself
    logger = logging.getLogger("hailong")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="hailong"):
            assert post(server, channel, body, signed(channel, body)) == 200
    finally:
        logger.removeHandler(caplog.handler)
    assert inbox_count(server) == before
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hailong"]
    assert any(e["event"] == "webhook.bad_body" and e["channel"] == channel for e in logged), logged


@pytest.mark.parametrize("text", ["a\x00b", "\u202e🙂e\u0301", "ạ" * 5000])
@pytest.mark.parametrize("channel", sorted(SOURCES))
def test_odd_text_in_a_well_formed_event_is_handled(server: Server, channel: str, text: str) -> None:
    from fakes.telegram import text_update

    if channel == "zalo":
        event = {"app_id": ZALO_APP_ID, "event_name": "user_send_text", "timestamp": "1700000000000",
                 "sender": {"id": "2512736519000000777"}, "recipient": {"id": "1"},
                 "message": {"msg_id": f"odd{len(text)}{ord(text[1])}", "text": text}}
    elif channel == "messenger":
        event = {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": [
            {"sender": {"id": "6852170548195777"}, "recipient": {"id": "1"}, "timestamp": 1700000000000,
             "message": {"mid": f"m_odd{len(text)}{ord(text[1])}", "text": text}}]}]}
    else:
        event = text_update(777_777, text, update_id=900_000 + len(text) + ord(text[1]))
    check(server, channel, encode(event))


@pytest.mark.parametrize("channel", sorted(SOURCES))
def test_deep_nesting_and_oversized_bodies(server: Server, channel: str) -> None:
    body = deep(9_000)  # 54 KB: under the 64 KB request cap, far over Python's recursion limit
    if channel == "zalo":  # signable: the fields the recipe needs, then the nesting
        body = b'{"app_id": "%s", "timestamp": "1", "x": ' % ZALO_APP_ID.encode() + deep(9_000) + b"}"
    assert post(server, channel, body, signed(channel, body)) in (200, 401)
    huge = encode({"app_id": ZALO_APP_ID, "timestamp": "1", "pad": "ạ" * 200_000})
    assert post(server, channel, huge, signed(channel, huge)) == 413
