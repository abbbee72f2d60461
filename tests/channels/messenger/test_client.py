"""The Send API client against the fake Graph server: every outcome maps to one SendResult."""
from __future__ import annotations

import json

import aiohttp

from bot.messages import Choice, InputSpec, Outbound
from channels.messenger import MessengerClient, render
from fakes.messenger import FakeGraphAPI, graph_error

PSID = "6780462125377510"
HELLO = {"text": "Xin chào"}


async def test_send_posts_the_documented_body_and_returns_the_message_id(
    graph: FakeGraphAPI, client: MessengerClient
) -> None:
    result = await client.send(PSID, HELLO)
    assert result.status == "sent"
    assert result.platform_message_id == "m_fake1"
    assert result.error is None
    [request] = graph.requests
    assert request.version == "v25.0"
    assert request.query == {"access_token": graph.access_token}
    assert request.body == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": HELLO}


async def test_rendered_messages_are_accepted_by_the_fake(graph: FakeGraphAPI, client: MessengerClient) -> None:
    labels = [f"Phương án số {i} rất dài để bị cắt" for i in range(1, 14)]
    spec = InputSpec("choice", tuple(Choice(f"opt{i}", label) for i, label in enumerate(labels, 1)))
    outbound = Outbound("Câu hỏi dài. " * 300, spec)
    messages = render(outbound)
    results = [await client.send(PSID, m) for m in messages]
    assert [r.status for r in results] == ["sent"] * len(messages)
    assert len(graph.requests) == len(messages) > 1


async def test_http_429_is_retried_with_the_platform_wait(graph: FakeGraphAPI, client: MessengerClient) -> None:
    graph.rate_limit_next(headers={"Retry-After": "7"})
    result = await client.send(PSID, HELLO)
    assert result.status == "retry"
    assert result.retry_after == 7
    assert "graph error 4/None (HTTP 429)" in (result.error or "")


async def test_graph_rate_limit_codes_are_retried(graph: FakeGraphAPI, client: MessengerClient) -> None:
    usage = {"106000000000001": [{"type": "messenger", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    graph.rate_limit_next(status=400, code=613, headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    graph.rate_limit_next(status=400, code=32)
    first = await client.send(PSID, HELLO)
    second = await client.send(PSID, HELLO)
    assert (first.status, first.retry_after) == ("retry", 180)
    assert (second.status, second.retry_after) == ("retry", None)


async def test_server_errors_are_retried(graph: FakeGraphAPI, client: MessengerClient) -> None:
    graph.server_error_next()
    graph.graph_error_next(2, "An unexpected error has occurred. Please retry your request later.", status=500)
    graph.graph_error_next(1200, "Temporary send message failure. Please try again later.")
    results = [await client.send(PSID, HELLO) for _ in range(3)]
    assert [r.status for r in results] == ["retry", "retry", "retry"]
    assert results[0].error == "HTTP 500: Internal Server Error"
    assert (await client.send(PSID, HELLO)).status == "sent"


async def test_timeout_is_retried(graph: FakeGraphAPI) -> None:
    release = graph.hang_next()
    async with MessengerClient(graph.access_token, graph_url=graph.url, timeout=0.2) as client:
        result = await client.send(PSID, HELLO)
    release.set()
    assert result.status == "retry"
    assert result.error == "timeout after 0.2s"


async def test_connection_refused_is_retried() -> None:
    fake = await FakeGraphAPI().start()
    url = fake.url
    await fake.close()
    async with MessengerClient("tok", graph_url=url) as client:
        result = await client.send(PSID, HELLO)
    assert result.status == "retry"
    assert (result.error or "").startswith("connection error: ")


async def test_outside_the_24h_window_is_window_closed(graph: FakeGraphAPI, client: MessengerClient) -> None:
    graph.window_closed_next()
    graph.graph_error_next(10, "(#10) This message is sent outside of allowed window.")
    results = [await client.send(PSID, HELLO) for _ in range(2)]
    assert [r.status for r in results] == ["window_closed", "window_closed"]
    assert "10/2018278" in (results[0].error or "")


async def test_blocked_or_unavailable_recipient_fails(graph: FakeGraphAPI, client: MessengerClient) -> None:
    graph.blocked_next()
    graph.graph_error_next(200, "(#551) This person isn't available right now.", 1545041)
    graph.graph_error_next(10, "This person isn't receiving messages from you right now.", 2018108)
    graph.graph_error_next(100, "(#100) No matching user found", 2018001)
    results = [await client.send(PSID, HELLO) for _ in range(4)]
    assert [r.status for r in results] == ["failed"] * 4
    assert all((r.error or "").startswith("recipient unavailable") for r in results)
    assert "551/1545041" in (results[0].error or "")


async def test_other_client_errors_fail_with_code_and_message(graph: FakeGraphAPI, client: MessengerClient) -> None:
    result = await client.send(PSID, {"text": "x" * 2001})
    assert result.status == "failed"
    assert "graph error 100/None (HTTP 400)" in (result.error or "")
    assert "less than or equal to 2000" in (result.error or "")


async def test_wrong_token_fails_and_the_token_is_never_shown(graph: FakeGraphAPI) -> None:
    secret = "EAAB-wrong|token/with+specials"
    async with MessengerClient(secret, graph_url=graph.url) as client:
        result = await client.send(PSID, HELLO)
    assert result.status == "failed"
    assert "graph error 190" in (result.error or "")
    assert secret not in repr(result)


async def test_the_token_never_appears_in_any_error(graph: FakeGraphAPI, client: MessengerClient) -> None:
    token = graph.access_token
    graph.graph_error_next(100, f"(#100) Invalid parameter access_token={token}")
    graph.respond_next(503, f"upstream failed for /me/messages?access_token={token}")
    graph.respond_next(400, graph_error(10, f"outside of allowed window for {token}", 2018278))
    graph.respond_next(200, {"recipient_id": PSID, "note": token})
    graph.rate_limit_next()
    graph.hang_next()
    results = [await client.send(PSID, HELLO) for _ in range(5)]
    async with MessengerClient(token, graph_url=graph.url, timeout=0.1) as short:
        results.append(await short.send(PSID, HELLO))
    async with MessengerClient(token, graph_url="http://127.0.0.1:1") as refused:
        results.append(await refused.send(PSID, HELLO))
    async with MessengerClient(token, graph_url="http://[::1") as invalid:
        results.append(await invalid.send(PSID, HELLO))
    assert [r.status for r in results] == [
        "failed", "retry", "window_closed", "failed", "retry", "retry", "retry", "failed",
    ]
    for result in results:
        assert token not in repr(result)
    assert [("***" in (r.error or "")) for r in results[:3]] == [True, True, True]
    assert token not in repr(client)


async def test_an_injected_session_is_left_open(graph: FakeGraphAPI) -> None:
    async with aiohttp.ClientSession() as session:
        async with MessengerClient(graph.access_token, session=session, graph_url=graph.url) as client:
            assert (await client.send(PSID, HELLO)).status == "sent"
        assert not session.closed


async def test_an_owned_session_is_closed(graph: FakeGraphAPI) -> None:
    client = MessengerClient(graph.access_token, graph_url=graph.url, api_version="v21.0")
    assert (await client.send(PSID, HELLO)).status == "sent"
    session = client._session
    await client.close()
    assert session is not None and session.closed
    assert graph.requests[0].version == "v21.0"
