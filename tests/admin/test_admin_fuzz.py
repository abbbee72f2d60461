"""schemathesis against the OpenAPI document, on PostgreSQL (the stricter database: a NUL byte
in a string is an error there): generated requests, valid and invalid, never get a server error
and every response matches the document."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings as hsettings

from admin_api import accounts
from bot.app import SERVICES, create_app
from bot.settings import Settings

from .conftest import PASSWORD


class Server:
    """The real application on a loopback port, in a thread with its own event loop, because
    schemathesis sends its requests synchronously."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.app = create_app(self.settings, background=False)
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.ready.set()
        self.loop.run_forever()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    s = Server(Settings(data_dir=Path(tmp_path_factory.mktemp("fuzz")), database_url=pg_url,
                        secret_key="fuzz-secret"))
    s.thread.start()
    s.ready.wait(60)

    async def root() -> None:
        services = s.app[SERVICES]
        async with services.engine.begin() as conn:
            await accounts.create_user(conn, services.units, username="root", password=PASSWORD, role="system_admin",
                                       unit_code=None)
    s.run(root())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json").exclude(
        path="/api/v1/admin/logout")


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    r = requests.post(f"{server.url}/api/v1/admin/login", json={"username": "root", "password": PASSWORD}, timeout=10)
    return r.json()["token"]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, server: Server, token: str) -> None:
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
