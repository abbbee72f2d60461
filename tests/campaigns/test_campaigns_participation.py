"""The participation table an official reads, on a list small enough to count by hand, with
every status coming from real conversations over Telegram (the fake Bot API)."""
from __future__ import annotations

from typing import Any

from bot.app import SERVICES
from bot.campaigns import send_due
from bot.campaigns.reports import list_invitees, participation
from fakes.telegram import FakeTelegram
from platforms.driver import NUMBERED, run_survey, settle, typed_answer

from .conftest import MONDAY_9, buttons, new_campaign, sayer, text_of, to_chat

# Hà Nội: An completes, Bình stops half-way, Chi declines, Dũng reads nothing back, Em blocked the
# bot; Phương has only an e-mail: the unit mailed her the code and she completed on Telegram.
# Huế: Giang wrote to the bot after the invitation (opened), Hà has only a phone.
# Đà Nẵng registered nobody.
LIST = ["An,p.ha_noi,telegram,100001,,", "Bình,p.ha_noi,telegram,100002,,", "Chi,p.ha_noi,telegram,100003,,",
        "Dũng,p.ha_noi,telegram,100004,,", "Em,p.ha_noi,telegram,100005,,", "Phương,p.ha_noi,,,,phuong@hanoi.gov.vn",
        "Giang,p.hue,telegram,200001,,", "Hà,p.hue,,,0905123456,"]


async def test_participation_per_unit_counted_by_hand(tg_app: Any, tg: FakeTelegram) -> None:
    app = tg_app.app
    services = app[SERVICES]
    cid = await new_campaign(services, ("p.ha_noi", "p.hue", "p.da_nang"), start=True, lines=LIST)
    tg.blocked.add("100005")
    assert await send_due(services, MONDAY_9) == 6  # the six with a Telegram id
    await settle(app)
    assert "gửi mã" in to_chat(tg, 100001)[0] and len(to_chat(tg, 100005)) == 0
    codes = {i["name"]: i["code"] for i in await list_invitees(services, cid, scope=None)}

    await run_survey(app, "telegram", "100001", codes["An"], sayer(tg_app, tg, 100001), buttons, text_of)
    binh = sayer(tg_app, tg, 100002)
    consent = await binh(codes["Bình"])
    first_question = await binh(buttons(consent[-1])[0], button=True)  # "Đồng ý tham gia"
    ids = buttons(first_question[-1])
    await (binh(ids[0], button=True) if ids else binh("1" if NUMBERED.search(text_of(first_question[-1]))
                                                       else await typed_answer(app, "telegram", "100002")))
    chi = sayer(tg_app, tg, 100003)
    consent = await chi(codes["Chi"])
    await chi(buttons(consent[-1])[1], button=True)  # "Không tham gia"
    await run_survey(app, "telegram", "300001", codes["Phương"], sayer(tg_app, tg, 300001), buttons, text_of)
    await sayer(tg_app, tg, 200001)("xin chào")

    statuses = {i["name"]: i["status"] for i in await list_invitees(services, cid, scope=None)}
    assert statuses == {"An": "completed", "Bình": "partial", "Chi": "refused", "Dũng": "delivered",
                        "Em": "failed", "Phương": "completed", "Giang": "opened", "Hà": "invited"}
    table = [(r.unit_code, r.registered, r.reached, r.started, r.completed, r.rate)
             for r in await participation(services, cid, scope=None)]
    assert table == [("p.da_nang", 0, 0, 0, 0, None),
                     ("p.ha_noi", 6, 5, 4, 2, 33.3),
                     ("p.hue", 2, 1, 0, 0, 0.0),
                     ("*", 8, 6, 4, 2, 25.0)]
    hue_only = await participation(services, cid, scope=frozenset({"p.hue"}))
    assert [(r.unit_code, r.registered) for r in hue_only] == [("p.hue", 2), ("*", 2)]
    failed = [i for i in await list_invitees(services, cid, scope=None, status="failed")]
    assert [i["name"] for i in failed] == ["Em"] and "blocked" in failed[0]["delivery_error"]
