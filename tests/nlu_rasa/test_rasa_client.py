"""RasaNlu's HTTP behaviour against a fake Rasa: a real aiohttp server on 127.0.0.1 answering
``POST /model/parse`` with the JSON shape Rasa 3.6 sends (scripted hangs, 500s and garbage)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from bot.nlu.base import Candidate, Understanding
from bot.nlu.rasa import RasaNlu, parse_rasa_reply


def rasa_reply(text: str, intent: str, confidence: float) -> dict[str, Any]:
    """What Rasa 3.6's /model/parse returns for an NLU-only model without entities."""
    others = [n for n in ("greeting", "stop", "ask_question") if n != intent]
    rest = (1.0 - confidence) / len(others)
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "text_tokens": [[0, len(text)]],
        "intent_ranking": [{"name": intent, "confidence": confidence}]
        + [{"name": n, "confidence": rest} for n in others],
    }


class FakeRasa:
    def __init__(self) -> None:
        self.intents: dict[str, tuple[str, float]] = {}
        self.calls: list[dict[str, Any]] = []
        self.fail_status: int | None = None
        self.garbage = False
        self.hang: asyncio.Event | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def parse(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(body)
        if self.hang is not None:
            await self.hang.wait()
        if self.fail_status is not None:
            return web.json_response({"version": "3.6.21", "status": "failure", "message": "boom",
                                      "reason": "ParsingError", "code": self.fail_status},
                                     status=self.fail_status)
        if self.garbage:
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        text = body["text"]
        name, conf = self.intents.get(text, ("nlu_fallback", 0.3))
        return web.json_response(rasa_reply(text, name, conf))

    async def status(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"model_file": "nlu-0123456789abcdef.tar.gz", "model_id": "f00",
                                  "num_active_training_jobs": 0})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/model/parse", self.parse)
        app.router.add_get("/status", self.status)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.hang is not None:
            self.hang.set()
        if self._runner is not None:
            await self._runner.cleanup()


class FakeKb:
    """A fallback backend with one official answer, given when the text says "căn cước ở đâu";
    other texts about căn cước are unsure (escalate, with the answer as a "did you mean")."""

    name = "fake-kb"

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.closed = False
        self.reloaded = 0

    async def understand(self, text: str, *, unit: str | None = None) -> Understanding:
        self.asked.append(text)
        choice = (Candidate("kb-1", "Làm căn cước ở đâu?", 0.9),)
        if "căn cước ở đâu" in text:
            return Understanding(text=text, intent="ask_question", confidence=0.9, answer="Tại công an xã.",
                                 answer_id="kb-1", matched_question="Làm căn cước ở đâu?", candidates=choice,
                                 unit=unit)
        if "căn cước" in text:
            return Understanding(text=text, intent="ask_question", confidence=0.4, escalate=True,
                                 candidates=choice, unit=unit)
        return Understanding(text=text, intent="greeting", confidence=0.6, unit=unit)

    async def entry(self, answer_id: str) -> Understanding | None:
        return Understanding(text="", intent="ask_question", confidence=1.0, answer="Tại công an xã.",
                             answer_id=answer_id) if answer_id == "kb-1" else None

    async def reload(self) -> None:
        self.reloaded += 1

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
async def fake() -> AsyncIterator[FakeRasa]:
    server = FakeRasa()
    await server.start()
    yield server
    await server.stop()


async def test_intent_and_confidence_from_rasa(fake: FakeRasa) -> None:
    fake.intents["xin chào"] = ("greeting", 0.97)
    nlu = RasaNlu(fake.url)
    try:
        u = await nlu.understand("xin chào", unit="p.hue")
    finally:
        await nlu.close()
    assert (u.intent, u.confidence, u.escalate, u.answer, u.unit) == ("greeting", 0.97, False, None, "p.hue")
    assert fake.calls == [{"text": "xin chào"}]


async def test_rasa_fallback_and_unknown_intents_are_none(fake: FakeRasa) -> None:
    fake.intents["đặt pizza"] = ("order_pizza", 0.8)
    nlu = RasaNlu(fake.url)
    try:
        assert (await nlu.understand("asdkjh qwe")).intent == "none"  # Rasa's nlu_fallback
        assert (await nlu.understand("đặt pizza")).intent == "none"
        empty = await nlu.understand("   ")
    finally:
        await nlu.close()
    assert (empty.intent, empty.confidence) == ("none", 0.0)
    assert len(fake.calls) == 2  # an empty text is not sent


async def test_a_confident_official_answer_wins_and_rasa_is_not_asked(fake: FakeRasa) -> None:
    kb = FakeKb()
    nlu = RasaNlu(fake.url, fallback=kb)
    try:
        u = await nlu.understand("làm căn cước ở đâu", unit="p.hue")
        picked = await nlu.entry("kb-1")
        await nlu.reload()
    finally:
        await nlu.close()
    assert (u.intent, u.confidence, u.answer_id, u.escalate, u.unit) == ("ask_question", 0.9, "kb-1", False, "p.hue")
    assert fake.calls == []
    assert picked is not None and picked.answer_id == "kb-1"
    assert kb.reloaded == 1 and kb.closed


async def test_without_a_confident_answer_rasa_decides(fake: FakeRasa) -> None:
    fake.intents["đổi căn cước mất bao lâu"] = ("ask_question", 0.88)
    fake.intents["phí trước bạ xe máy bao nhiêu"] = ("ask_question", 0.9)
    fake.intents["căn cước làm khảo sát được không"] = ("start_survey", 0.8)
    fake.intents["chào"] = ("greeting", 0.99)
    nlu = RasaNlu(fake.url, fallback=FakeKb())
    try:
        unsure = await nlu.understand("đổi căn cước mất bao lâu")
        unknown = await nlu.understand("phí trước bạ xe máy bao nhiêu")
        survey = await nlu.understand("căn cước làm khảo sát được không")
        hello = await nlu.understand("chào")
    finally:
        await nlu.close()
    # a question: Rasa's intent and confidence, the knowledge base's "did you mean" and escalation
    assert (unsure.intent, unsure.confidence, unsure.answer, unsure.escalate) == ("ask_question", 0.88, None, True)
    assert [c.answer_id for c in unsure.candidates] == ["kb-1"]
    # Rasa says question, the knowledge base has nothing at all: it goes to officials
    assert (unknown.intent, unknown.answer, unknown.escalate) == ("ask_question", None, True)
    # not a question for Rasa: its intent, no choices
    assert (survey.intent, survey.escalate, survey.candidates) == ("start_survey", False, ())
    assert (hello.intent, hello.confidence) == ("greeting", 0.99)


async def test_rasa_first_asks_the_knowledge_base_only_for_questions(fake: FakeRasa) -> None:
    fake.intents["làm căn cước ở đâu"] = ("ask_question", 0.88)
    fake.intents["căn cước ở đâu mà chậm thế"] = ("complaint", 0.7)
    fake.intents["chào"] = ("greeting", 0.99)
    kb = FakeKb()
    nlu = RasaNlu(fake.url, fallback=kb, answers_first=False)
    try:
        u = await nlu.understand("làm căn cước ở đâu")
        complaint = await nlu.understand("căn cước ở đâu mà chậm thế")
        hello = await nlu.understand("chào")
    finally:
        await nlu.close()
    assert (u.intent, u.confidence, u.answer_id, u.escalate) == ("ask_question", 0.88, "kb-1", False)
    assert (complaint.intent, complaint.answer) == ("complaint", None)
    assert hello.intent == "greeting"
    assert kb.asked == ["làm căn cước ở đâu"]


async def test_question_without_fallback_escalates(fake: FakeRasa) -> None:
    fake.intents["thủ tục khai sinh cần gì"] = ("ask_question", 0.9)
    nlu = RasaNlu(fake.url)
    try:
        u = await nlu.understand("thủ tục khai sinh cần gì")
        assert await nlu.entry("kb-1") is None
    finally:
        await nlu.close()
    assert (u.intent, u.answer, u.escalate) == ("ask_question", None, True)


async def test_timeout_gives_none_then_rasa_is_left_alone_for_a_while(fake: FakeRasa) -> None:
    fake.intents["xin chào"] = ("greeting", 0.97)
    fake.hang = asyncio.Event()
    nlu = RasaNlu(fake.url, timeout=0.2, retry_after=60)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        u = await nlu.understand("xin chào")
        assert loop.time() - started < 2
        assert (u.intent, u.confidence, u.escalate) == ("none", 0.0, False)
        fake.hang.set()
        fake.hang = None
        # within retry_after Rasa is not asked: no added latency during an outage
        again = await nlu.understand("xin chào")
        assert again.intent == "none" and len(fake.calls) == 1
        nlu._down_until = 0.0  # the pause is over
        back = await nlu.understand("xin chào")
    finally:
        await nlu.close()
    assert back.intent == "greeting" and len(fake.calls) == 2


@pytest.mark.parametrize("answers_first", [True, False])
async def test_server_error_uses_the_fallback_understanding(fake: FakeRasa, answers_first: bool) -> None:
    fake.fail_status = 500
    kb = FakeKb()
    nlu = RasaNlu(fake.url, fallback=kb, answers_first=answers_first)
    try:
        u = await nlu.understand("đổi căn cước mất bao lâu")
    finally:
        await nlu.close()
    # degraded to the built-in understanding, its choices included; asked once
    assert (u.intent, u.escalate, [c.answer_id for c in u.candidates]) == ("ask_question", True, ["kb-1"])
    assert len(fake.calls) == 1 and kb.asked == ["đổi căn cước mất bao lâu"]


@pytest.mark.parametrize("problem", ["500", "garbage"])
async def test_bad_replies_never_raise(fake: FakeRasa, problem: str) -> None:
    if problem == "500":
        fake.fail_status = 500
    else:
        fake.garbage = True
    nlu = RasaNlu(fake.url)
    try:
        u = await nlu.understand("xin chào")
    finally:
        await nlu.close()
    assert (u.intent, u.confidence, u.escalate) == ("none", 0.0, False)


async def test_rasa_down_never_raises() -> None:
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nlu = RasaNlu(f"http://127.0.0.1:{port}", timeout=1.0)
    try:
        u = await nlu.understand("xin chào")
    finally:
        await nlu.close()
    assert (u.intent, u.escalate) == ("none", False)


def test_parse_reply_shapes() -> None:
    assert parse_rasa_reply(rasa_reply("hi", "thanks", 0.91)) == ("thanks", 0.91)
    assert parse_rasa_reply({"text": "", "intent": None, "entities": []}) == ("none", 0.0)
    with pytest.raises(Exception):
        parse_rasa_reply(["not", "a", "dict"])


def test_the_app_never_imports_rasa() -> None:
    """Rasa lives in its own Python 3.10 venv: nothing the app imports may import it."""
    import ast

    from bot.settings import REPO_ROOT
    for top in ("bot", "channels", "admin_api"):
        for path in (REPO_ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                assert not any(m.split(".")[0] in ("rasa", "rasa_components", "rasa_sdk") for m in mods), path


async def test_status_and_create_for_nlu_eval(fake: FakeRasa) -> None:
    from bot.nlu.evaluate import BackendUnavailable
    from bot.nlu.rasa import create
    from bot.settings import REPO_ROOT, Settings

    fake.intents["xin chào"] = ("greeting", 0.97)
    nlu = await create(None, REPO_ROOT / "nlu_data", settings=Settings(rasa_url=fake.url))
    try:
        assert (await nlu.status() or {}).get("model_file") == "nlu-0123456789abcdef.tar.gz"
        assert (await nlu.understand("xin chào")).intent == "greeting"
        assert nlu.fallback is not None and nlu.fallback.name == "builtin"
    finally:
        await nlu.close()
    await fake.stop()
    with pytest.raises(BackendUnavailable, match="no Rasa server"):
        await create(None, REPO_ROOT / "nlu_data", settings=Settings(rasa_url=fake.url))
