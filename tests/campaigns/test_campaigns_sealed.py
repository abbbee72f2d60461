"""Invitees' names, chat ids, phones and e-mails are not readable from the database (a dump or a
backup of it), yet officials see them, the sender writes to the right chat, and the same person
uploaded twice is still refused, including people stored before sealing existed."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from bot.campaigns import send_due, service
from bot.campaigns.reports import list_invitees
from bot.services import Services
from bot.store.tables import contacts
from bot.store.tables_campaigns import campaign_invitees

from .conftest import MONDAY_9, listing, new_campaign

PEOPLE = ["Nguyễn Văn An,p.ha_noi,telegram,5123456789,,", "Trần Thị Bình,p.ha_noi,,,0912345678,binh@example.vn"]


async def _stored(services: Services) -> list[dict[str, Any]]:
    async with services.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(campaign_invitees))]


async def test_personal_data_is_sealed_at_rest_and_open_to_officials(campaign_services: Services) -> None:
    s = campaign_services
    cid = await new_campaign(s, start=True, lines=PEOPLE)

    dump = repr(await _stored(s))
    for clear in ("Nguyễn Văn An", "Trần Thị Bình", "5123456789", "0912345678", "binh@example.vn"):
        assert clear not in dump
    people = {p["name"]: p for p in await list_invitees(s, cid, scope=None)}
    assert (people["Nguyễn Văn An"]["channel"], people["Nguyễn Văn An"]["address"]) == ("telegram", "5123456789")
    assert (people["Trần Thị Bình"]["phone"], people["Trần Thị Bình"]["email"]) == ("0912345678", "binh@example.vn")

    assert await send_due(s, MONDAY_9) == 1
    async with s.engine.connect() as conn:
        [address] = (await conn.execute(select(contacts.c.address, contacts.c.respondent_id))).all()
    assert s.sealer.open(address.address, address.respondent_id) == "5123456789"  # the chat the sender uses


@pytest.mark.parametrize("again", ["Ai Khác,p.ha_noi,telegram,5123456789,,", "Ai Khác,p.ha_noi,,,+84 912 345 678,",
                                   "Ai Khác,p.ha_noi,,,,BINH@example.vn"])
async def test_the_same_person_uploaded_again_is_refused(campaign_services: Services, again: str) -> None:
    s = campaign_services
    cid = await new_campaign(s, lines=PEOPLE)
    with pytest.raises(service.ListRejected) as refused:
        await service.import_list(s, cid, listing(again), scope=None, now=MONDAY_9)
    [error] = refused.value.errors
    assert error.line == 2 and "the same person as line" in error.reason


async def test_people_stored_in_clear_before_sealing_still_count_and_read(campaign_services: Services) -> None:
    s = campaign_services
    cid = await new_campaign(s, lines=PEOPLE[1:])
    async with s.engine.begin() as conn:  # as 0011 left a row imported before it
        await conn.execute(update(campaign_invitees).values(
            name="Trần Thị Bình", phone="0912345678", email="binh@example.vn",
            address_digest=None, phone_digest=None, email_digest=None))

    with pytest.raises(service.ListRejected):
        await service.import_list(s, cid, listing("Ai Khác,p.ha_noi,,,0912345678,"), scope=None, now=MONDAY_9)
    [person] = await list_invitees(s, cid, scope=None)
    assert (person["name"], person["phone"]) == ("Trần Thị Bình", "0912345678")
