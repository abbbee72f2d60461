"""The web chat API as a browser or an embedding site sees it: HTTP JSON, WebSocket, pages.

Every test runs on both storage backends (SQLite + in-process state, PostgreSQL + Redis) through
the ``settings`` fixture; the ``services`` fixture loads the real flows from ``survey_flows``
into the same database before the app starts.
"""
from __future__ import annotations

import asyncio
import html
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.invitations import create_invitations
from bot.services import Services
from bot.settings import Settings
from bot.store.tables import answers, responses
from bot.state import ratelimit

from .driver import is_consent, is_review, plan

API = "/api/v1/chat/sessions"
EMBED = "https://dichvucong.example.gov.vn"
FOREIGN = "https://evil.example.com"
_cids = itertools.count(1)


# ---- helpers ------------------------------------------------------------------------------------


class HumanPace:
    """The rate limiter's clock: a second passes between two of its readings, as when a person
    reads and answers each question (``step = 0``: everything arrives at the same instant)."""

    def __init__(self, step: float = 1.0) -> None:
        self.now, self.step = 1000.0, step

    def time(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(autouse=True)
def pace(monkeypatch: pytest.MonkeyPatch) -> HumanPace:
    clock = HumanPace()
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


@pytest.fixture
def start_app(services: Services, settings: Settings, aiohttp_client):  # type: ignore[no-untyped-def]
    """Starts the real app (flows already loaded by ``services``), optionally with other settings."""

    async def run(s: Settings | None = None):  # type: ignore[no-untyped-def]
        return await aiohttp_client(create_app(s or settings))

    return run


@pytest.fixture
async def client(start_app):  # type: ignore[no-untyped-def]
    return await start_app()


def cid() -> str:
    return f"c-{next(_cids)}"


@dataclass
class Chat:
    client: Any
    token: str
    messages: list[dict[str, Any]]
    flow_state: dict[str, Any]
    answered: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{API}/{self.token}/messages"

    @property
    def last(self) -> dict[str, Any]:
        return self.messages[-1]

    @property
    def question(self) -> str | None:
        return self.flow_state["question"]

    async def raw(self, body: Any, **kw: Any) -> aiohttp.ClientResponse:
        return await self.client.post(self.url, json=body, **kw)

    async def send(self, text: str | None = None, *, choice: Any = None, cid_: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"cid": cid_ or cid()}
        if choice is not None:
            body["choice"] = choice
        else:
            body["text"] = text
        r = await self.raw(body)
        assert r.status == 200, await r.text()
        reply = await r.json()
        assert {"messages", "flow_state"} <= set(reply)
        new = [m for m in reply["messages"] if m["seq"] > self.messages[-1]["seq"]]
        self.messages += new
        self.flow_state = reply["flow_state"]
        return reply

    async def answer(self, turn: int = 0, **kw: Any) -> dict[str, Any]:
        """Answers the current question the way the driver would, and remembers what must be stored."""
        question = self.question
        assert question is not None, self.flow_state
        body, key, value = plan(self.last, question, turn, self.answered, **kw)
        reply = await self.send(body.get("text"), choice=body.get("choice"))
        self.answered[key] = value
        return reply

    async def consent(self) -> None:
        assert is_consent(self.last, self.flow_state)
        await self.send(choice="yes")
        assert self.question is not None

    async def fetch(self, after: int) -> dict[str, Any]:
        r = await self.client.get(f"{self.url}?after={after}")
        assert r.status == 200, await r.text()
        return await r.json()


async def open_chat(client: Any, **body: Any) -> Chat:
    r = await client.post(API, json=body)
    assert r.status == 200, await r.text()
    data = await r.json()
    assert {"session", "messages", "flow_state"} <= set(data)
    assert [m["seq"] for m in data["messages"]] == list(range(1, len(data["messages"]) + 1))
    return Chat(client, data["session"], data["messages"], data["flow_state"])


async def sipas_at_questions(client: Any) -> Chat:
    """A sipas session past the consent and the province, at the first scale question."""
    chat = await open_chat(client, flow="sipas")
    await chat.consent()
    await chat.answer()
    assert chat.question == "e1_seats"
    return chat


async def error_of(r: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert r.status == status, await r.text()
    body = await r.json()
    assert body["error"] == code and body["message"]
    return body


async def db_rows(services: Services, stmt: Any) -> list[Any]:
    async with services.engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def the_response(services: Services, flow: str = "sipas") -> Any:
    rows = await db_rows(services, select(responses).where(responses.c.flow_id == flow))
    assert len(rows) == 1, rows
    return rows[0]


async def stored_answers(services: Services, response_id: str | None = None) -> dict[str, Any]:
    stmt = select(answers.c.key, answers.c.value)
    if response_id is not None:
        stmt = stmt.where(answers.c.response_id == response_id)
    return dict(await db_rows(services, stmt))


async def answer_count(services: Services) -> int:
    return (await db_rows(services, select(func.count()).select_from(answers)))[0][0]


def asks(message: dict[str, Any], question_text: str) -> bool:
    return question_text in message["text"]


async def question_text(services: Services, flow: str, key: str) -> str:
    f = await services.flows.get(flow)
    assert f is not None
    return f.question(key).text


# ---- a whole survey ------------------------------------------------------------------------------


async def test_full_sipas_conversation_over_http(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await open_chat(client, flow="sipas")
    assert chat.flow_state == {"flow": "sipas", "status": "in_progress", "question": None}
    await chat.consent()
    turn = 0
    while not is_review(chat.last):
        before = chat.question
        reply = await chat.answer(turn)
        turn += 1
        assert reply["flow_state"]["status"] == "in_progress"
        assert chat.question != before or chat.last["input"]["type"] == "text", f"{before!r} was re-asked: {chat.last}"
        assert turn < 60, "the survey does not end"
    assert chat.question is None
    # every typed form of the scale was used, and the conditional section was reached
    assert turn >= 30 and "e5_satisfaction" in chat.answered
    summary = chat.messages[-2]["text"]
    assert "Thành phố Hà Nội" in summary and "→ Hài lòng" in summary and "→ Rất hài lòng" in summary

    reply = await chat.send("gửi")
    assert reply["flow_state"] == {"flow": "sipas", "status": "completed", "question": None}
    closing = (await services.flows.get("sipas")).closing.strip()  # type: ignore[union-attr]
    assert reply["messages"][-1]["text"] == closing and "cảm ơn" in closing
    assert reply["messages"][-1]["input"]["type"] == "none"
    seqs = [m["seq"] for m in chat.messages]
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = {"choice", "multi", "text", "number", "date", "phone", "unit", "none"}
    for m in chat.messages:  # the message shape every client relies on
        assert {"seq", "text", "input"} <= set(m) and m["text"].strip()
        assert m["input"]["type"] in kinds
        assert all({"id", "label"} <= set(c) <= {"id", "label", "short"} for c in m["input"]["choices"])
        assert bool(m["input"]["choices"]) == (m["input"]["type"] in ("choice", "multi"))

    row = await the_response(services)
    assert (row.disposition, row.channel, row.unit_code) == ("completed", "web", "p.ha_noi")
    assert row.completed_at is not None
    assert await stored_answers(services, row.id) == chat.answered

    # the same session afterwards: nothing reopens the finished survey
    after = await chat.send("4")
    assert after["flow_state"]["status"] == "completed"
    assert await stored_answers(services, row.id) == chat.answered


async def test_one_stop_rating_to_the_end_with_its_dossier(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await open_chat(client, flow="one_stop_rating",
                           context={"dossier": "000.00.15.H26-250101-0001", "procedure": "1.001234"})
    assert chat.question == "overall"
    await chat.send("không hài lòng")
    assert chat.question == "unsatisfied_criteria" and chat.last["input"]["type"] == "multi"
    await chat.send(choice=["attitude", "dossier"])
    assert chat.question == "comment"
    reply = await chat.send("Chờ quá lâu")
    assert reply["flow_state"]["status"] == "completed"  # no review step in this flow
    row = await the_response(services, "one_stop_rating")
    assert row.context == {"dossier": "000.00.15.H26-250101-0001", "procedure": "1.001234"}
    assert row.disposition == "completed"
    assert await stored_answers(services, row.id) == {
        "overall": "unsatisfied", "unsatisfied_criteria": ["dossier", "attitude"], "comment": "Chờ quá lâu"}


async def test_one_stop_rating_without_its_dossier_says_the_link_is_incomplete(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    for context in (None, {"procedure": "1.001234"}, {"dossier": "có dấu cách"}):
        chat = await open_chat(client, flow="one_stop_rating", **({"context": context} if context else {}))
        assert len(chat.messages) == 1 and "Mã hồ sơ" in chat.messages[0]["text"]
        assert "thiếu thông tin" in chat.messages[0]["text"]
        assert chat.flow_state["status"] is None
    assert await db_rows(services, select(responses)) == []


# ---- resending and bad input ---------------------------------------------------------------------


async def test_the_same_cid_is_answered_once(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    replies = []
    for _ in range(3):
        r = await chat.raw({"text": "4", "cid": "tap-42"})
        assert r.status == 200
        replies.append(await r.json())
    assert replies[0] == replies[1] == replies[2]
    assert replies[0]["flow_state"]["question"] == "e1_equipment_adequate"
    assert await answer_count(services) == before + 1
    last_seq = replies[0]["messages"][-1]["seq"]
    assert (await chat.fetch(0))["messages"][-1]["seq"] == last_seq  # nothing more was said

    # the same words under a new cid are a new message: they answer the next question
    fresh = await chat.raw({"text": "4", "cid": "tap-43"})
    body = await fresh.json()
    assert body["messages"][0]["seq"] == last_seq + 1
    assert body["flow_state"]["question"] == "e1_equipment_modern"
    assert await answer_count(services) == before + 2
    # an old cid resent late still gets its old reply, not a new answer
    r = await chat.raw({"text": "4", "cid": "tap-42"})
    assert await r.json() == replies[0]
    assert await answer_count(services) == before + 2


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "\x00\x01\x07\x1b", "\u200b"], ids=[
    "empty", "spaces", "emoji", "control", "zero-width"])
async def test_meaningless_text_gets_a_vietnamese_reask(client, services: Services, text: str) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    wording = await question_text(services, "sipas", "e1_seats")
    reply = await chat.send(text)
    assert reply["flow_state"] == {"flow": "sipas", "status": "in_progress", "question": "e1_seats"}
    last = reply["messages"][-1]
    assert last["text"].startswith("Xin chọn một trong các phương án") and asks(last, wording)
    assert [c["id"] for c in last["input"]["choices"]] == ["1", "2", "3", "4", "5", "0"]
    assert await answer_count(services) == before


async def test_control_characters_around_an_answer_are_ignored(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    reply = await chat.send("\x00 4\x07\x1b ")
    assert reply["flow_state"]["question"] == "e1_equipment_adequate"
    row = await the_response(services)
    assert (await stored_answers(services, row.id))["e1_seats"] == "4"


async def test_a_ten_thousand_character_message_is_refused_politely(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    reply = await chat.send("hài lòng " * 1111 + "a")
    assert reply["flow_state"] == {"flow": "sipas", "status": "in_progress", "question": "e1_seats"}
    assert reply["messages"][0]["text"].startswith("Tin nhắn quá dài") and "2000" in reply["messages"][0]["text"]
    assert asks(reply["messages"][-1], await question_text(services, "sipas", "e1_seats"))
    assert await answer_count(services) == before


async def test_an_unknown_choice_id_is_reasked(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    for choice in ("9", "yes", ["1", "2"]):
        reply = await chat.send(choice=choice)
        assert reply["flow_state"]["question"] == "e1_seats"
        assert reply["messages"][-1]["text"].startswith("Xin chọn một trong các phương án")
    assert await answer_count(services) == before


async def test_malformed_requests_are_rejected_with_a_code(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    headers = {"Content-Type": "application/json"}
    await error_of(await client.post(chat.url, data=b"{not json", headers=headers), 400, "bad_json")
    await error_of(await client.post(chat.url, data=b"\xff\xfe", headers=headers), 400, "bad_json")
    await error_of(await client.post(chat.url, data=b'["4"]', headers=headers), 400, "bad_json")
    await error_of(await chat.raw({"text": "4"}), 400, "bad_cid")
    await error_of(await chat.raw({"text": "4", "cid": ""}), 400, "bad_cid")
    await error_of(await chat.raw({"text": "4", "cid": "has space"}), 400, "bad_cid")
    await error_of(await chat.raw({"text": "4", "cid": "x" * 65}), 400, "bad_cid")
    await error_of(await chat.raw({"text": "4", "choice": "4", "cid": cid()}), 400, "bad_message")
    await error_of(await chat.raw({"cid": cid()}), 400, "bad_message")
    await error_of(await chat.raw({"text": 4, "cid": cid()}), 400, "bad_message")
    await error_of(await chat.raw({"choice": {"id": "4"}, "cid": cid()}), 400, "bad_choice")
    await error_of(await chat.raw({"choice": "<script>", "cid": cid()}), 400, "bad_choice")
    await error_of(await client.get(f"{chat.url}?after=-1"), 400, "bad_after")
    await error_of(await client.post(API, json={"flow": "Sipas; drop"}), 400, "bad_flow")
    await error_of(await client.post(API, json={"flow": "sipas", "ref": "a b"}), 400, "bad_ref")
    await error_of(await client.post(API, json={"flow": "sipas", "context": ["dossier"]}), 400, "bad_context")
    await error_of(await client.post(API, json={"flow": "no_such_flow"}), 404, "unknown_flow")
    # none of it moved the conversation
    assert await answer_count(services) == before
    state = await chat.fetch(0)
    assert state["flow_state"]["question"] == "e1_seats"
    assert state["messages"] == chat.messages


async def test_an_oversized_body_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    big = json.dumps({"text": "a" * (65 * 1024), "cid": cid()}).encode()
    await error_of(await client.post(chat.url, data=big, headers={"Content-Type": "application/json"}), 413, "too_large")
    await error_of(await client.post(API, data=big, headers={"Content-Type": "application/json"}), 413, "too_large")


async def test_an_oversized_chunked_body_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b"a" * 1024

    r = await client.post(chat.url, data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status in (400, 413)  # never processed; 413 when the size is seen first
    assert (await chat.fetch(0))["messages"] == chat.messages


async def test_a_body_arriving_in_two_pieces_is_read_whole(aiohttp_client, settings: Settings,  # type: ignore[no-untyped-def]
                                                           services: Services) -> None:
    handling = asyncio.Event()

    @web.middleware
    async def note_handling(request, handler):  # type: ignore[no-untyped-def]
        handling.set()
        return await handler(request)

    app = create_app(settings)
    app.middlewares.insert(0, note_handling)
    client = await aiohttp_client(app)
    chat = await sipas_at_questions(client)
    body = json.dumps({"text": "4", "cid": cid(), "client": {"note": " " * 3000}}).encode()

    async def two_pieces():  # type: ignore[no-untyped-def]
        handling.clear()
        yield body[:1400]
        await handling.wait()  # the server is handling the request before the rest of the body exists
        yield body[1400:]

    r = await client.post(chat.url, data=two_pieces(),
                          headers={"Content-Type": "application/json", "Content-Length": str(len(body))})
    assert r.status == 200, await r.text()
    assert (await r.json())["flow_state"]["question"] == "e1_equipment_adequate"


async def test_sending_too_fast_is_slowed_down(client, services: Services, pace: HumanPace) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    pace.step = 0.0  # a script firing messages with no pause at all
    before = await answer_count(services)
    statuses = []
    for _ in range(25):
        r = await chat.raw({"text": "xyz", "cid": cid()})
        statuses.append(r.status)
        if r.status == 429:
            body = await error_of(r, 429, "rate_limited")
            assert "quá nhanh" in body["message"]
    assert 429 in statuses and statuses.index(429) > 10
    assert await answer_count(services) == before
    pace.step = 10.0  # a pause later, the respondent carries on
    reply = await chat.send("4")
    assert reply["flow_state"]["question"] == "e1_equipment_adequate"


# ---- tokens --------------------------------------------------------------------------------------


def _past_signer(seconds: int) -> type[TimestampSigner]:
    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - seconds

    return PastSigner


async def test_a_forged_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    other_key = URLSafeTimedSerializer("not-our-key", salt="hailong.webchat.session").dumps("someone-else")
    tampered = chat.token[:-2] + ("AA" if not chat.token.endswith("AA") else "BB")
    for token in (other_key, tampered, "x", "a" * 201):
        url = f"{API}/{token}/messages"
        body = await error_of(await client.post(url, json={"text": "4", "cid": cid()}), 401, "session_invalid")
        assert "không hợp lệ" in body["message"]
        await error_of(await client.get(url), 401, "session_invalid")
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await client.ws_connect(f"{API}/{token}/ws")
        assert e.value.status == 401


async def test_an_expired_token_is_refused(start_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    short = settings.with_(session_ttl_seconds=1)
    client = await start_app(short)
    chat = await open_chat(client, flow="sipas")  # a fresh token still works
    assert (await chat.send(choice="yes"))["flow_state"]["question"] == "province"
    old = URLSafeTimedSerializer(short.effective_secret_key(), salt="hailong.webchat.session",
                                 signer=_past_signer(60)).dumps("an-old-session")
    url = f"{API}/{old}/messages"
    body = await error_of(await client.post(url, json={"text": "4", "cid": cid()}), 401, "session_expired")
    assert "hết hạn" in body["message"]
    await error_of(await client.get(url), 401, "session_expired")
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await client.ws_connect(f"{API}/{old}/ws")
    assert e.value.status == 401


# ---- catching up: GET and WebSocket --------------------------------------------------------------


async def test_get_after_returns_exactly_the_later_messages(client) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    await chat.answer(1)
    await chat.send("không hiểu")
    assert len(chat.messages) > 6
    caught = await chat.fetch(2)
    assert caught["messages"] == [m for m in chat.messages if m["seq"] > 2]
    assert [m["seq"] for m in caught["messages"]] == list(range(3, chat.messages[-1]["seq"] + 1))
    assert caught["flow_state"] == chat.flow_state
    assert (await chat.fetch(0))["messages"] == chat.messages
    assert (await chat.fetch(chat.messages[-1]["seq"]))["messages"] == []
    assert (await chat.fetch(10_000))["messages"] == []


async def test_websocket_catch_up_answers_and_ping(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    ws = await client.ws_connect(f"{API}/{chat.token}/ws?after=0")
    try:
        hello = await ws.receive_json()
        assert hello["type"] == "messages"
        assert (hello["messages"], hello["flow_state"]) == (chat.messages, chat.flow_state)

        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"

        last = chat.messages[-1]["seq"]
        await ws.send_json({"text": "hài lòng", "cid": cid()})
        frame = await ws.receive_json()
        assert frame["type"] == "messages"
        seqs = [m["seq"] for m in frame["messages"]]
        assert seqs == list(range(last + 1, last + 1 + len(seqs))) and seqs
        assert frame["flow_state"]["question"] == "e1_equipment_adequate"

        await ws.send_json({"choice": "5", "cid": "ws-1"})
        second = await ws.receive_json()
        assert second["messages"][0]["seq"] == seqs[-1] + 1
        assert second["flow_state"]["question"] == "e1_equipment_modern"
        await ws.send_json({"choice": "5", "cid": "ws-1"})  # a resend after a reconnect
        assert await ws.receive_json() == second

        # the HTTP API sees the same conversation
        assert (await chat.fetch(last))["messages"] == frame["messages"] + second["messages"]
    finally:
        await ws.close()
    row = await the_response(services)
    assert (await stored_answers(services, row.id)) == {"province": "p.ha_noi", "e1_seats": "4", "e1_equipment_adequate": "5"}


async def test_websocket_reconnect_gets_only_what_was_missed(client) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    seen = chat.messages[-1]["seq"]
    await chat.answer(1)
    await chat.answer(2)
    ws = await client.ws_connect(f"{API}/{chat.token}/ws?after={seen}")
    try:
        hello = await ws.receive_json()
        assert hello["messages"] == [m for m in chat.messages if m["seq"] > seen] and hello["messages"]
        assert hello["flow_state"] == chat.flow_state
    finally:
        await ws.close()


async def test_websocket_bad_frames_get_errors_and_the_socket_stays_open(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    before = await answer_count(services)
    ws = await client.ws_connect(f"{API}/{chat.token}/ws")
    try:
        await ws.receive_json()
        bad = [({"text": "4", "cid": "bad cid!"}, "bad_cid"), ({"text": "4"}, "bad_cid"),
               ({"text": "4", "choice": "4", "cid": cid()}, "bad_message"), (["4"], "bad_json")]
        for frame, code in bad:
            await ws.send_json(frame)
            error = await ws.receive_json()
            assert error["type"] == "error" and error["error"] == code and error["message"]
        await ws.send_str("{not json")
        assert (await ws.receive_json())["error"] == "bad_json"
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json())["error"] == "bad_frame"
        assert not ws.closed
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"
        await ws.send_json({"text": "4", "cid": cid()})
        assert (await ws.receive_json())["flow_state"]["question"] == "e1_equipment_adequate"
    finally:
        await ws.close()
    assert await answer_count(services) == before + 1


async def test_websocket_origin_check(start_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    client = await start_app(settings.with_(embed_origins=(EMBED,)))
    chat = await open_chat(client, flow="sipas")
    url = f"{API}/{chat.token}/ws"
    for origin in (FOREIGN, EMBED + ".evil.com", "http://dichvucong.example.gov.vn", "null"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await client.ws_connect(url, headers={"Origin": origin})
        assert e.value.status == 403, origin
    own = str(client.make_url("/")).rstrip("/")
    for origin in (EMBED, own):
        ws = await client.ws_connect(url, headers={"Origin": origin})
        try:
            assert (await ws.receive_json())["messages"] == chat.messages
        finally:
            await ws.close()


async def test_websocket_foreign_origin_refused_without_embed_origins(client) -> None:  # type: ignore[no-untyped-def]
    chat = await open_chat(client, flow="sipas")
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await client.ws_connect(f"{API}/{chat.token}/ws", headers={"Origin": EMBED})
    assert e.value.status == 403


# ---- pages ---------------------------------------------------------------------------------------


async def test_chat_page_may_be_framed_only_by_the_embed_origins(start_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    client = await start_app(settings.with_(embed_origins=(EMBED, "https://hanoi.example.gov.vn")))
    r = await client.get("/chat?flow=sipas")
    assert r.status == 200 and r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    ancestors = next(d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors"))
    assert ancestors.split() == ["frame-ancestors", "'self'", EMBED, "https://hanoi.example.gov.vn"]
    index = await client.get("/")
    index_ancestors = next(d.strip() for d in index.headers["Content-Security-Policy"].split(";")
                           if d.strip().startswith("frame-ancestors"))
    assert index_ancestors == "frame-ancestors 'self'"


async def test_chat_page_without_embed_origins_is_framed_only_by_itself(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/chat")
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    assert EMBED not in r.headers["Content-Security-Policy"]


async def test_index_lists_the_open_surveys(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/")
    assert r.status == 200 and r.content_type == "text/html"
    page = await r.text()
    flows = [f for f in await services.flows.open_flows() if f.settings.listed]
    assert {f.id for f in flows} >= {"sipas", "one_stop_rating", "par_index", "consultation"}
    for f in flows:
        assert html.escape(f.title) in page
        assert f'href="/chat?flow={f.id}"' in page


async def test_widget_script_is_served_as_javascript(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/widget.js")
    assert r.status == 200
    assert r.content_type in ("application/javascript", "text/javascript")
    assert "HailongWidget" in await r.text()


async def test_invitation_short_link_redirects_to_the_chat(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/c/ABC123", allow_redirects=False)
    assert r.status in (301, 302, 303, 307, 308)
    assert r.headers["Location"] == "/chat?ref=ABC123"
    assert (await client.get("/c/bad%20code", allow_redirects=False)).status == 404


# ---- navigating the survey -----------------------------------------------------------------------


async def test_refusal_mid_survey_is_final(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    await chat.answer(1)
    reply = await chat.send("hủy")
    assert reply["flow_state"] == {"flow": "sipas", "status": "refused", "question": None}
    assert "Đã dừng khảo sát" in reply["messages"][-1]["text"]
    row = await the_response(services)
    assert row.disposition == "refused"
    stored = await stored_answers(services, row.id)
    later = await chat.send("4")
    assert later["flow_state"]["status"] == "refused"
    assert not any(m["text"].startswith("Câu ") for m in later["messages"])
    assert await stored_answers(services, row.id) == stored
    assert (await the_response(services)).disposition == "refused"


async def test_back_returns_to_the_previous_question(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await sipas_at_questions(client)
    await chat.send("4")
    assert chat.question == "e1_equipment_adequate"
    reply = await chat.send("quay lại")
    assert reply["flow_state"]["question"] == "e1_seats"
    assert asks(reply["messages"][-1], await question_text(services, "sipas", "e1_seats"))
    await chat.send("Quay lại")
    assert chat.question == "province"
    await chat.send("lui")
    assert chat.question == "province"  # the first question: nowhere further back
    assert "câu hỏi đầu tiên" in chat.messages[-2]["text"] or "câu hỏi đầu tiên" in chat.messages[-1]["text"]
    await chat.send("da nang")
    assert chat.question == "e1_equipment_adequate"  # the answered question is not asked again
    await chat.send("quay lại")
    await chat.send("2")  # a changed answer replaces the old one
    row = await the_response(services)
    assert await stored_answers(services, row.id) == {"province": "p.da_nang", "e1_seats": "2"}
    assert row.unit_code == "p.da_nang"


async def test_review_edit_and_submit(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await open_chat(client, flow="consultation")
    assert chat.question == "position"
    await chat.send(choice="disagree")
    assert chat.question == "comments"
    await chat.send("Điều 5 chưa rõ.")
    await chat.send("bỏ qua")  # optional phone
    assert chat.question == "publish_consent"  # shown because a comment was given
    await chat.send("có")
    assert is_review(chat.last) and chat.question is None
    assert "Điều 5 chưa rõ." in chat.messages[-2]["text"]
    await chat.send("sửa 1")
    assert chat.question == "position"
    await chat.send(choice="agree")  # hides the comment questions: their answers go
    assert is_review(chat.last)
    assert "Điều 5 chưa rõ." not in chat.messages[-2]["text"]
    reply = await chat.send(choice="_submit")
    assert reply["flow_state"]["status"] == "completed"
    row = await the_response(services, "consultation")
    assert await stored_answers(services, row.id) == {"position": "agree", "contact_phone": None}


# ---- invitations ---------------------------------------------------------------------------------


async def test_invitation_code_starts_its_flow_once(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    [code] = await create_invitations(services, flow_id="sipas", unit="p.hue")
    chat = await open_chat(client, ref=code)
    assert chat.flow_state == {"flow": "sipas", "status": "in_progress", "question": None}
    assert is_consent(chat.last, chat.flow_state)
    row = await the_response(services)
    assert (row.invitation_code, row.unit_code) == (code, "p.hue")

    # the same code in another browser, while the first is still answering
    again = await open_chat(client, ref=code)
    assert "đã được sử dụng" in again.messages[-1]["text"] and again.flow_state["status"] is None

    await chat.consent()
    for turn in itertools.count():
        if is_review(chat.last):
            break
        await chat.answer(turn, yes_no="no")
    assert (await chat.send("gửi"))["flow_state"]["status"] == "completed"
    row = await the_response(services)
    assert row.disposition == "completed"
    assert row.unit_code == "p.hue"  # the invitation's unit, not the province typed in the survey

    after = await open_chat(client, ref=code)
    assert "đã được sử dụng" in after.messages[-1]["text"]
    assert len(await db_rows(services, select(responses))) == 1


async def test_unknown_invitation_code(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    chat = await open_chat(client, ref="NOSUCH99")
    assert "Mã mời không đúng" in chat.messages[-1]["text"]
    assert chat.flow_state["status"] is None
    assert await db_rows(services, select(responses)) == []


async def test_invitation_unit_survives_losing_the_state_store(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    [code] = await create_invitations(services, flow_id="sipas", unit="p.hue")
    chat = await open_chat(client, ref=code)
    await chat.consent()
    row = await the_response(services)
    await client.server.app[SERVICES].state.delete(row.respondent_id)  # Redis flushed / process restarted
    await chat.send("ha noi")
    assert chat.question == "e1_seats"
    assert (await the_response(services)).unit_code == "p.hue"
