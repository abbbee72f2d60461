"""A citizen's platform id is the one personal identifier we must keep to reply; it is stored
encrypted, bound to its row, and readable only with the data key."""
from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from bot.messages import Inbound
from bot.sealing import Sealer
from bot.services import Services
from bot.store.outbox_repo import OutboxRepo
from bot.store.tables import contacts

CHAT_ID = "777000111222"


async def test_the_platform_id_is_encrypted_at_rest_and_still_reached(services: Services) -> None:
    await services.inbox.accept([Inbound(channel="telegram", respondent_key=CHAT_ID, kind="text", text="xin chào",
                                         message_id="tg-1")])
    await services.inbox.drain()
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(contacts))).one()
    assert CHAT_ID not in row.address and row.address.startswith("v1:")
    contact = await OutboxRepo(services.engine, services.sealer).contact(row.respondent_id)
    assert contact is not None and contact.address == CHAT_ID
    with pytest.raises(InvalidTag):
        Sealer(b"\x01" * 32).open(row.address, row.respondent_id)
    with pytest.raises(InvalidTag):  # copied onto another respondent's row, it does not decrypt
        services.sealer.open(row.address, "r_someone_else")
