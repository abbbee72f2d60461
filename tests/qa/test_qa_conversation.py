"""Questions in chat: official answers, "did you mean" choices, forwarding to officials, and a
question typed in the middle of a survey — on both storage backends, with the seed knowledge base."""
from __future__ import annotations

import uuid
from typing import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.messages import Inbound
from bot.nlu.kb import import_file
from bot.services import Services
from bot.settings import REPO_ROOT
from bot.store.tables import answers, qa_tickets


@pytest.fixture
async def qa(services: Services) -> AsyncIterator[Services]:
    await import_file(services.engine, REPO_ROOT / "nlu_data" / "kb" / "seed.jsonl")
    await services.nlu.reload()
    yield services


def msg(key: str, text: str = "", choice: str | None = None) -> Inbound:
    return Inbound(channel="web", respondent_key=key, kind="choice" if choice else "text", text=text, choice=choice,
                   message_id=uuid.uuid4().hex)


async def tickets(s: Services) -> list:  # type: ignore[type-arg]
    async with s.engine.connect() as conn:
        return list((await conn.execute(select(qa_tickets))).all())


async def test_a_question_without_diacritics_gets_the_official_answer(qa: Services) -> None:
    reply = await qa.conversation.handle(msg("c1", "lam cccd o dau"))
    assert "căn cước" in reply.messages[0].text.lower()
    assert "câu hỏi nào khác" in reply.messages[-1].text
    assert await tickets(qa) == []


async def test_an_unanswerable_question_is_forwarded_with_a_ticket(qa: Services) -> None:
    reply = await qa.conversation.handle(msg("c2", "gia vang hom nay bao nhieu?"))
    texts = " ".join(m.text for m in reply.messages)
    if reply.messages[-1].input.choices:  # offered the closest questions first: decline them
        assert reply.messages[-1].input.choices[-1].id == "kb:_none"
        reply = await qa.conversation.handle(msg("c2", choice="kb:_none"))
        texts = " ".join(m.text for m in reply.messages)
    assert "chuyển đến cán bộ" in texts
    [t] = await tickets(qa)
    assert t.text == "gia vang hom nay bao nhieu?" and t.status == "open" and t.channel == "web"


async def test_did_you_mean_is_answered_by_number(qa: Services) -> None:
    reply = await qa.conversation.handle(msg("c3", "can cuoc"))
    offer = reply.messages[-1]
    assert offer.input.type == "choice" and offer.input.choices[-1].id == "kb:_none"
    first = offer.input.choices[0]
    picked = await qa.conversation.handle(msg("c3", "1"))
    entry = await qa.nlu.entry(first.id.removeprefix("kb:"))
    assert entry is not None and picked.messages[0].text == entry.answer
    assert await tickets(qa) == []


async def test_asking_for_an_official_takes_the_next_message_as_the_question(qa: Services) -> None:
    reply = await qa.conversation.handle(msg("c4", "toi muon gap can bo"))
    assert "chuyển đến cán bộ" in reply.messages[0].text
    await qa.conversation.handle(msg("c4", "Hồ sơ đất đai của tôi nộp 3 tháng chưa có kết quả"))
    [t] = await tickets(qa)
    assert t.text.startswith("Hồ sơ đất đai")


async def test_a_question_inside_a_survey_is_answered_and_the_survey_continues(qa: Services) -> None:
    await qa.conversation.start_session(Inbound(channel="web", respondent_key="c5", kind="start", flow="sipas"))
    await qa.conversation.handle(msg("c5", "đồng ý"))
    rid = await qa.conversation.respondent_id("web", "c5")
    before = await qa.conversation.flow_state(rid)
    reply = await qa.conversation.handle(msg("c5", "cau tra loi khao sat co duoc giu bi mat khong?"))
    texts = [m.text for m in reply.messages]
    assert any("tiếp tục khảo sát" in t for t in texts)
    assert reply.flow_state == before  # still at the same question, nothing answered
    assert reply.messages[-1].input.type != "none"  # the question is asked again
    async with qa.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(answers))).scalar_one() == 0
    # and the survey goes on normally
    nxt = await qa.conversation.handle(msg("c5", "ha noi"))
    assert nxt.flow_state["question"] != before["question"]


async def test_thanks_and_greetings_are_not_forwarded(qa: Services) -> None:
    await qa.conversation.handle(msg("c6", "cam on nhe"))
    hello = await qa.conversation.handle(msg("c6", "xin chao"))
    assert hello.messages[-1].input.choices  # the menu of open surveys
    assert await tickets(qa) == []
