"""schemathesis against the OpenAPI document, on PostgreSQL (the stricter database: a NUL byte
in a string is an error there): generated requests, valid and invalid, never get a server error
and every response matches the document."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings as hsettings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from admin_api import accounts
from bot.app import SERVICES
from bot.settings import Settings

from .conftest import PASSWORD
from .live import Server


@pytest.fixture(scope="module")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    s = Server(Settings(data_dir=Path(tmp_path_factory.mktemp("fuzz")), database_url=pg_url,
                        secret_key="fuzz-secret")).start()

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
    # A file upload (flow YAML, spreadsheet, PDF) is documented as a string of its media type: any
    # string matches the document, yet most are rightly refused with 422 and the reason. Every
    # other check, server errors first, applies to uploads too.
    upload = bool(case.media_type) and case.media_type != "application/json"
    excluded = [positive_data_acceptance] if upload else []
    # Our token replaces whatever Authorization header was generated, so a case made "negative"
    # through that header is a valid request by the time it is sent.
    if "Authorization" in (case.headers or {}):
        excluded.append(negative_data_rejection)
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=excluded or None)
