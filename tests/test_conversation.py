"""The conversation service over real storage (SQLite + memory, PostgreSQL + Redis): what a
respondent experiences and what ends up in the database."""
from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from bot.messages import Inbound
from bot.services import Services, build_services
from bot.store.tables import answers, outbox, processed, responses


def msg(key: str, text: str | None = None, *, choice=None, mid: str | None = None, channel: str = "web") -> Inbound:  # type: ignore[no-untyped-def]
    return Inbound(channel=channel, respondent_key=key, kind="choice" if choice is not None else "text", text=text or "",
                   choice=choice, message_id=mid or uuid.uuid4().hex)


async def count(s: Services, table, *where) -> int:  # type: ignore[no-untyped-def]
    async with s.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def start(s: Services, key: str, flow: str = "sipas", **kw):  # type: ignore[no-untyped-def]
    return await s.conversation.start_session(Inbound(channel="web", respondent_key=key, kind="start", flow=flow, **kw))


async def test_start_then_answers_are_stored_with_disposition(services: Services) -> None:
    r = await start(services, "u1")
    assert r.flow_state == {"flow": "sipas", "status": "in_progress", "question": None}  # consent first
    r = await services.conversation.handle(msg("u1", "đồng ý"))
    assert r.flow_state["question"] == "province"
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
    assert row.disposition == "started" and row.channel == "web" and row.flow_id == "sipas"
    r = await services.conversation.handle(msg("u1", "ha noi"))
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
        stored = (await conn.execute(select(answers.c.key, answers.c.value))).all()
    assert row.disposition == "partial" and row.unit_code == "p.ha_noi"
    assert stored == [("province", "p.ha_noi")]


async def test_sequence_numbers_are_gapless_per_respondent(services: Services) -> None:
    r1 = await start(services, "u2")
    r2 = await services.conversation.handle(msg("u2", "đồng ý"))
    r3 = await services.conversation.handle(msg("u2", "xyz"))
    seqs = [m.seq for r in (r1, r2, r3) for m in r.messages]
    assert seqs == list(range(1, len(seqs) + 1))
    rid = await services.conversation.respondent_id("web", "u2")
    assert [m.seq for m in await services.conversation.messages_after(rid, 1)] == seqs[1:]


async def test_redelivered_message_is_processed_once(services: Services) -> None:
    await start(services, "u3")
    await services.conversation.handle(msg("u3", "đồng ý"))
    first = await services.conversation.handle(msg("u3", "ha noi", mid="m-1"))
    again = [await services.conversation.handle(msg("u3", "ha noi", mid="m-1")) for _ in range(2)]
    assert all(r.duplicate and r.messages == first.messages and r.flow_state == first.flow_state for r in again)
    assert await count(services, answers) == 1
    assert await count(services, processed) == 2  # consent + answer


async def test_a_redelivery_long_after_is_still_answered_from_storage(services: Services) -> None:
    await start(services, "u3b")
    await services.conversation.handle(msg("u3b", "đồng ý"))
    first = await services.conversation.handle(msg("u3b", "ha noi", mid="early"))
    for i in range(25):  # push "early" out of the recently-seen ids kept with the cached state
        await services.conversation.handle(msg("u3b", "không hiểu", mid=f"later-{i}"))
    again = await services.conversation.handle(msg("u3b", "ha noi", mid="early"))
    assert again.duplicate and again.messages == first.messages
    assert await count(services, answers) == 1


async def test_concurrent_redeliveries_store_one_answer(services: Services) -> None:
    await start(services, "u4")
    await services.conversation.handle(msg("u4", "đồng ý"))
    replies = await asyncio.gather(*(services.conversation.handle(msg("u4", "ha noi", mid="same")) for _ in range(5)))
    assert len({tuple(m.seq for m in r.messages) for r in replies}) == 1
    assert await count(services, answers) == 1


async def test_one_respondents_messages_are_handled_in_order(services: Services) -> None:
    await start(services, "u5", "one_stop_rating", context={"dossier": "HS-9"})
    texts = ["không hài lòng", "1, 3", "Chờ quá lâu"]
    replies = []
    for t in texts:  # sent back to back without waiting, like a fast typist on a slow network
        replies.append(asyncio.ensure_future(services.conversation.handle(msg("u5", t))))
    done = await asyncio.gather(*replies)
    assert [r.flow_state["question"] for r in done] == ["unsatisfied_criteria", "comment", None]
    async with services.engine.connect() as conn:
        rows = dict((await conn.execute(select(answers.c.key, answers.c.value))).all())
    assert rows == {"overall": "unsatisfied", "unsatisfied_criteria": ["info_facilities", "attitude"],
                    "comment": "Chờ quá lâu"}


async def test_many_respondents_in_parallel_each_see_their_own_questions(services: Services) -> None:
    keys = [f"p{i}" for i in range(20)]
    await asyncio.gather(*(start(services, k, "one_stop_rating", context={"dossier": f"HS-{k}"}) for k in keys))
    replies = await asyncio.gather(*(services.conversation.handle(msg(k, "hài lòng" if i % 2 else "không hài lòng"))
                                     for i, k in enumerate(keys)))
    for i, r in enumerate(replies):
        assert r.flow_state["question"] == ("comment" if i % 2 else "unsatisfied_criteria")


async def test_losing_the_state_store_loses_nothing(services: Services, settings) -> None:  # type: ignore[no-untyped-def]
    await start(services, "u6")
    for t in ("đồng ý", "ha noi", "4"):
        before = await services.conversation.handle(msg("u6", t))
    rid = await services.conversation.respondent_id("web", "u6")
    await services.state.delete(rid)  # Redis flushed, or a new process with empty memory
    fresh = build_services(settings)
    try:
        r = await fresh.conversation.handle(msg("u6", "xem lại"))
        assert r.flow_state == before.flow_state  # the same question, from the database alone
        summary = r.messages[0].text
        assert "Thành phố Hà Nội" in summary and "Hài lòng" in summary
        r2 = await fresh.conversation.handle(msg("u6", "5"))
        assert r2.messages[-1].seq == r.messages[-1].seq + len(r2.messages)  # numbering continues
    finally:
        await fresh.close()


async def test_refusal_is_recorded_and_the_survey_sends_nothing_more(services: Services) -> None:
    await start(services, "u7")
    await services.conversation.handle(msg("u7", "đồng ý"))
    r = await services.conversation.handle(msg("u7", "hủy"))
    assert r.flow_state["status"] == "refused"
    after = await services.conversation.handle(msg("u7", "4"))
    assert after.flow_state["status"] == "refused"
    assert all("Câu" not in m.text for m in after.messages)  # no survey question any more
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(responses.c.disposition))).scalar_one() == "refused"


async def test_one_active_survey_at_a_time(services: Services) -> None:
    await start(services, "u8")
    await services.conversation.handle(msg("u8", "đồng ý"))
    r = await services.conversation.start_session(Inbound(channel="web", respondent_key="u8", kind="start",
                                                          flow="consultation", context={"draft": "d"}))
    assert "đang làm khảo sát" in r.messages[0].text and r.flow_state["flow"] == "sipas"
    assert await count(services, responses) == 1


async def test_idle_text_equal_to_a_flow_id_starts_it_and_menu_lists_open_flows(services: Services) -> None:
    r = await services.conversation.handle(msg("u9", "xin chào"))
    menu = r.messages[-1]
    assert menu.input.type == "choice" and any(c.id == "flow:sipas" for c in menu.input.choices)
    r = await services.conversation.handle(msg("u9", "sipas"))
    assert r.flow_state["flow"] == "sipas"


async def test_menu_pick_by_number(services: Services) -> None:
    r = await services.conversation.handle(msg("u10", "menu"))
    ids = [c.id for c in r.messages[-1].input.choices]
    r = await services.conversation.handle(msg("u10", str(ids.index("flow:sipas") + 1)))
    assert r.flow_state["flow"] == "sipas"


async def test_media_gets_a_polite_text_request(services: Services) -> None:
    await start(services, "u11")
    r = await services.conversation.handle(Inbound(channel="web", respondent_key="u11", kind="media", message_id="img1"))
    assert "hình ảnh" in r.messages[0].text and r.messages[-1].input.type == "choice"


async def test_invitation_is_single_use_and_sets_the_unit(services: Services) -> None:
    from bot.invitations import create_invitations

    [code] = await create_invitations(services, flow_id="sipas", unit="p.hue")
    r = await services.conversation.start_session(Inbound(channel="web", respondent_key="i1", kind="start", invitation=code))
    assert r.flow_state["flow"] == "sipas"
    await services.conversation.handle(msg("i1", "đồng ý"))
    await services.conversation.handle(msg("i1", "ha noi"))  # the invitation's unit stands
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(responses.c.unit_code, responses.c.invitation_code))).one()
    assert tuple(row) == ("p.hue", code)
    other = await services.conversation.start_session(Inbound(channel="web", respondent_key="i2", kind="start", invitation=code))
    assert "đã được sử dụng" in other.messages[0].text
    unknown = await services.conversation.start_session(Inbound(channel="web", respondent_key="i3", kind="start", invitation="NOPE"))
    assert "không đúng" in unknown.messages[0].text


async def test_required_link_context_is_checked(services: Services) -> None:
    r = await start(services, "c1", "one_stop_rating")
    assert "Mã hồ sơ" in r.messages[0].text and r.flow_state["flow"] is None
    r = await start(services, "c2", "one_stop_rating", context={"dossier": "bad value with spaces"})
    assert r.flow_state["flow"] is None
    r = await start(services, "c3", "one_stop_rating", context={"dossier": "HS-2026/001", "procedure": "khai-sinh", "x": "y"})
    assert r.flow_state["flow"] == "one_stop_rating"
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(responses.c.context))).scalar_one() == {"dossier": "HS-2026/001", "procedure": "khai-sinh"}


async def test_web_messages_are_marked_sent_and_platform_ones_pending(services: Services) -> None:
    await start(services, "w1")
    await services.conversation.handle(msg("z1", "menu", channel="zalo"))
    async with services.engine.connect() as conn:
        rows = dict((await conn.execute(select(outbox.c.channel, outbox.c.status).distinct())).all())
    assert rows == {"web": "sent", "zalo": "pending"}


async def test_a_full_sipas_completes_and_every_answer_is_stored(services: Services) -> None:
    r = await start(services, "full")
    for _ in range(120):
        if r.flow_state["status"] != "in_progress":
            break
        spec = r.messages[-1].input
        if spec.type == "choice":
            pick = spec.choices[0].id if spec.choices[0].id != "_submit" else "_submit"
            r = await services.conversation.handle(msg("full", choice=pick))
        elif spec.type == "multi":
            r = await services.conversation.handle(msg("full", choice=[spec.choices[0].id]))
        elif spec.type == "unit":
            r = await services.conversation.handle(msg("full", "tp hcm"))
        else:
            r = await services.conversation.handle(msg("full", {"number": "2"}.get(spec.type, "Ý kiến")))
    assert r.flow_state["status"] == "completed"
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
        n_answers = (await conn.execute(select(func.count()).select_from(answers))).scalar_one()
    assert row.disposition == "completed" and row.completed_at is not None and row.unit_code == "p.ho_chi_minh"
    assert n_answers == len(row.state["answers"]) > 20
