"""The admin API served in-process, with accounts created the way an administrator would, and
citizens asking questions through the web chat so that tickets come from real conversations."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import update

from admin_api import accounts
from bot.app import SERVICES, create_app
from bot.services import Services
from bot.store.tables import qa_tickets

PASSWORD = "mat-khau-du-dai-1"
API = "/api/v1/admin"


@dataclass
class Admin:
    client: Any

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def user(self, username: str, role: str, unit: str | None = None) -> str:
        async with self.services.engine.begin() as conn:
            u = await accounts.create_user(conn, self.services.units, username=username, password=PASSWORD,
                                           role=role, unit_code=unit)
        return u.id

    async def login(self, username: str, role: str | None = None, unit: str | None = None) -> dict[str, str]:
        if role:
            await self.user(username, role, unit)
        resp = await self.client.post(f"{API}/login", json={"username": username, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}

    async def call(self, method: str, path: str, headers: dict[str, str], expect: int = 200, **kw: Any) -> Any:
        resp = await self.client.request(method, f"{API}{path}", headers=headers, **kw)
        body = await resp.json()
        assert resp.status == expect, body
        return body

    async def citizen_asks(self, text: str, unit: str | None) -> tuple[str, str]:
        """A web chat citizen asks for an official, then their question; returns (session token, ticket id)."""
        session = await self.client.post("/api/v1/chat/sessions", json={})
        token = (await session.json())["session"]
        for said in ("tôi muốn gặp cán bộ", text):
            resp = await self.client.post(f"/api/v1/chat/sessions/{token}/messages",
                                          json={"text": said, "cid": uuid.uuid4().hex})
            assert resp.status == 200, await resp.text()
        tickets = await self.open_tickets()
        ticket = next(t for t in tickets if t["text"] == text)
        if unit:
            async with self.services.engine.begin() as conn:
                await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket["id"]).values(unit_code=unit))
        return token, ticket["id"]

    async def open_tickets(self) -> list[dict[str, Any]]:
        from bot.qa import list_tickets
        return await list_tickets(self.services, status=None)

    async def chat(self, token: str) -> list[str]:
        resp = await self.client.get(f"/api/v1/chat/sessions/{token}/messages")
        return [m["text"] for m in (await resp.json())["messages"]]


@pytest.fixture
async def admin(settings: Any, services: Services, aiohttp_client: Any) -> AsyncIterator[Admin]:
    client = await aiohttp_client(create_app(settings, background=False))
    yield Admin(client)


# ---- issue D content (surveys, consultations, documents): the public pages mounted too --------

def with_public(app: Any) -> Any:
    """The app with admin_api.public mounted, as bot/app.py will do (once only, if it already does)."""
    from admin_api.public import PREFIX, setup_public

    if not any(r.canonical == f"{PREFIX}/consultations" for r in app.router.resources()):
        setup_public(app, lambda: app[SERVICES])
    return app


@pytest.fixture
async def site(settings: Any, services: Services, aiohttp_client: Any) -> AsyncIterator[Admin]:
    """Like ``admin``, with the public consultation, document and preview pages."""
    client = await aiohttp_client(with_public(create_app(settings, background=False)))
    yield Admin(client)
