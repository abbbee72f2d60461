"""The sender against a fake Zalo: what each platform answer becomes, and the token lifecycle."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp

from bot.messages import Choice, InputSpec, Outbound
from channels.zalo import MemoryTokenStore, TokenPair, ZaloClient, parse_event, render, verify
from fakes.zalo import Failure, FakeZalo

from .conftest import NOW, MakeClient

USER = "2468458835296117922"
TEXT = {"text": "Câu 1. Anh/chị có hài lòng không?"}


async def test_send_text_by_user_id(client: ZaloClient, fake: FakeZalo) -> None:
    result = await client.send(USER, TEXT)
    assert result.status == "sent"
    assert result.platform_message_id
    [request] = fake.sends
    assert request.headers["access_token"] == fake.access_token
    assert request.body == {"recipient": {"user_id": USER}, "message": TEXT}


async def test_reply_uses_the_users_message_id(client: ZaloClient, fake: FakeZalo) -> None:
    body, headers = fake.user_event(USER, "Xin chào")
    assert verify(headers, body, fake.oa_secret_key)
    [inbound] = parse_event(body)
    msg_id = inbound.raw["msg_id"]
    assert (await client.send(USER, TEXT, reply_to=msg_id)).status == "sent"
    assert (await client.send(USER, TEXT, reply_to=f"zalo:{msg_id}")).status == "sent"
    assert [r.body["recipient"] for r in fake.sends] == [{"message_id": msg_id}] * 2


async def test_rendered_buttons_are_accepted(client: ZaloClient, fake: FakeZalo) -> None:
    out = Outbound("Anh/chị có hài lòng không?", InputSpec("choice", (Choice("y", "Có"), Choice("n", "Không"))))
    for message in render(out):
        assert (await client.send(USER, message)).status == "sent"
    assert fake.delivered[-1]["message"]["attachment"]["payload"]["buttons"][0]["type"] == "oa.query.hide"


async def test_expired_token_is_refreshed_once_and_the_send_retried(
        client: ZaloClient, fake: FakeZalo, store: MemoryTokenStore) -> None:
    old = await store.load()
    assert old is not None
    fake.expire_access_tokens()
    result = await client.send(USER, TEXT)
    assert result.status == "sent"
    assert len(fake.refreshes) == 1
    assert fake.refreshes[0].headers["secret_key"] == fake.app_secret
    assert fake.refreshes[0].body == {"refresh_token": old.refresh_token, "app_id": fake.app_id,
                                      "grant_type": "refresh_token"}
    new = await store.load()
    assert new == TokenPair(fake.access_token, fake.refresh_token, NOW + timedelta(seconds=90000))
    assert [r.headers["access_token"] for r in fake.sends] == [old.access_token, new.access_token]


async def test_scripted_token_errors_also_refresh(client: ZaloClient, fake: FakeZalo) -> None:
    for code in (-216, -124):
        fake.fail_sends(Failure.api(code, "Access token is invalid"))
        assert (await client.send(USER, TEXT)).status == "sent"
    assert len(fake.refreshes) == 2


async def test_token_rejected_again_after_refresh_fails_without_a_second_refresh(
        client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_sends(Failure.api(-216), Failure.api(-216))
    result = await client.send(USER, TEXT)
    assert result.status == "failed"
    assert "-216" in (result.error or "")
    assert len(fake.refreshes) == 1


async def test_access_token_near_expiry_is_refreshed_before_sending(
        make_client: MakeClient, fake: FakeZalo) -> None:
    store = MemoryTokenStore(TokenPair(fake.access_token, fake.refresh_token, NOW + timedelta(minutes=2)))
    client = await make_client(store)
    assert (await client.send(USER, TEXT)).status == "sent"
    assert len(fake.refreshes) == 1
    assert len(fake.sends) == 1
    assert fake.sends[0].headers["access_token"] == fake.access_token


async def test_concurrent_sends_in_one_process_refresh_once(client: ZaloClient, fake: FakeZalo) -> None:
    fake.expire_access_tokens()
    results = await asyncio.gather(*(client.send(USER, {"text": f"Tin {i}"}) for i in range(5)))
    assert [r.status for r in results] == ["sent"] * 5
    assert len(fake.refreshes) == 1


async def test_two_processes_refreshing_at_once_end_with_one_valid_pair(
        make_client: MakeClient, fake: FakeZalo, store: MemoryTokenStore) -> None:
    held = Failure.hang()  # the first refresh to arrive waits until the other process has won
    fake.fail_refreshes(held)
    fake.expire_access_tokens()
    first, second = await make_client(), await make_client()
    tasks = {asyncio.create_task(first.send(USER, {"text": "A"})), asyncio.create_task(second.send(USER, {"text": "B"}))}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    held.release()
    results = [t.result() for t in done] + [await t for t in pending]
    assert [r.status for r in results] == ["sent", "sent"]
    assert len(fake.refreshes) == 2
    assert fake.refreshes[0].body["refresh_token"] == fake.refreshes[1].body["refresh_token"]
    stored = await store.load()
    assert stored is not None and stored.refresh_token == fake.refresh_token
    assert fake.access_tokens == {stored.access_token}


async def test_losing_the_store_race_uses_the_winners_pair(
        client: ZaloClient, fake: FakeZalo, store: MemoryTokenStore) -> None:
    held = Failure.hang()
    fake.fail_refreshes(held)
    fake.expire_access_tokens()
    sending = asyncio.create_task(client.send(USER, TEXT))
    await held.arrived.wait()
    current = await store.load()
    assert current is not None
    winner = TokenPair("access-from-another-process", "refresh-from-another-process", NOW + timedelta(hours=25))
    assert await store.replace(current.refresh_token, winner)
    fake.access_tokens.add(winner.access_token)
    held.release()
    result = await sending
    assert result.status == "sent"
    assert await store.load() == winner
    assert fake.sends[-1].headers["access_token"] == winner.access_token


async def test_refused_refresh_fails_the_send_with_a_clear_error(make_client: MakeClient, fake: FakeZalo) -> None:
    client = await make_client(refresh_race_grace=0)
    fake.refresh_token = "already-spent-elsewhere"
    fake.expire_access_tokens()
    result = await client.send(USER, TEXT)
    assert result.status == "failed"
    assert "refresh was refused" in (result.error or "")
    assert "refresh_token is invalid" in (result.error or "")


async def test_wrong_app_secret_fails(make_client: MakeClient, fake: FakeZalo, store: MemoryTokenStore) -> None:
    client = ZaloClient(app_id=fake.app_id, app_secret="wrong", tokens=store, base_url=fake.url,
                        oauth_url=fake.url, clock=lambda: NOW, refresh_race_grace=0)
    async with client:
        fake.expire_access_tokens()
        result = await client.send(USER, TEXT)
    assert result.status == "failed"
    assert "secret_key is invalid" in (result.error or "")


async def test_refresh_hitting_a_server_error_is_retried_later(client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_refreshes(Failure.http(502))
    fake.expire_access_tokens()
    result = await client.send(USER, TEXT)
    assert result.status == "retry"
    assert "502" in (result.error or "")


async def test_no_stored_pair_fails(make_client: MakeClient) -> None:
    client = await make_client(MemoryTokenStore())
    result = await client.send(USER, TEXT)
    assert result.status == "failed"
    assert "authorize" in (result.error or "")


async def test_rate_limit_error_is_retried(client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_sends(Failure.api(-32, "Your application reached limit call api"))
    result = await client.send(USER, TEXT)
    assert result.status == "retry"
    assert "-32" in (result.error or "")


async def test_http_429_is_retried_with_retry_after(client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_sends(Failure.http(429, retry_after="7"))
    result = await client.send(USER, TEXT)
    assert (result.status, result.retry_after) == ("retry", 7.0)


async def test_http_500_is_retried(client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_sends(Failure.http(500))
    result = await client.send(USER, TEXT)
    assert result.status == "retry"
    assert "500" in (result.error or "")


async def test_timeout_is_retried(make_client: MakeClient, fake: FakeZalo) -> None:
    client = await make_client(timeout=0.2)
    held = Failure.hang()
    fake.fail_sends(held)
    result = await client.send(USER, TEXT)
    held.release()
    assert result.status == "retry"
    assert "did not answer" in (result.error or "")


async def test_connection_refused_is_retried(store: MemoryTokenStore) -> None:
    with_nothing_listening = "http://127.0.0.1:9"
    async with ZaloClient(app_id="1", app_secret="s", tokens=store, base_url=with_nothing_listening,
                          oauth_url=with_nothing_listening, clock=lambda: NOW) as client:
        result = await client.send(USER, TEXT)
    assert result.status == "retry"
    assert "connection failed" in (result.error or "")


async def test_window_errors_wait_for_the_user(client: ZaloClient, fake: FakeZalo) -> None:
    for code in (-230, -305, -311):
        fake.fail_sends(Failure.api(code, "Window closed"))
        result = await client.send(USER, TEXT)
        assert result.status == "window_closed", code
        assert str(code) in (result.error or "")


async def test_unknown_error_fails_with_code_and_message(client: ZaloClient, fake: FakeZalo) -> None:
    fake.fail_sends(Failure.api(-213, "User has not followed OA"))
    result = await client.send(USER, TEXT)
    assert result.status == "failed"
    assert result.error == "Zalo error -213: User has not followed OA"


async def test_bad_request_is_reported_by_zalo_and_fails(client: ZaloClient) -> None:
    result = await client.send(USER, {"text": "x" * 2001})
    assert result.status == "failed"
    assert "-201" in (result.error or "")


async def test_a_passed_session_is_left_open(fake: FakeZalo, store: MemoryTokenStore) -> None:
    async with aiohttp.ClientSession() as session:
        async with ZaloClient(app_id=fake.app_id, app_secret=fake.app_secret, tokens=store, session=session,
                              base_url=fake.url, oauth_url=fake.url, clock=lambda: NOW) as client:
            assert (await client.send(USER, TEXT)).status == "sent"
        assert not session.closed
