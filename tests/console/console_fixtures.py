"""Helpers of the console tests: the application with the console mounted, and a browser-like
client (aiohttp's test client keeps cookies) that submits forms with their CSRF token."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.services import Services
from bot.settings import Settings
from console import setup_console

from tests.admin.conftest import PASSWORD, Admin

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
# uploads: a small real PDF, and a Windows program renamed .pdf (refused by its bytes)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode."


def console_app(settings: Settings, *, background: bool = False) -> web.Application:
    """The application with the console mounted (a no-op once bot/app.py mounts it itself)."""
    app = create_app(settings, background=background)
    setup_console(app, lambda: app[SERVICES])
    return app


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Console:
    """One browser: its cookies live in the client's jar; ``page`` is the last HTML seen."""
    client: Any
    page: str = ""
    status: int = 0
    headers: Any = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def user(self, username: str, role: str, unit: str | None = None) -> str:
        return await Admin(self.client).user(username, role, unit)

    async def get(self, path: str, **kw: Any) -> str:
        """One request, redirects not followed (``status`` and ``headers`` tell where it went)."""
        return await self._keep(await self.client.get(path, allow_redirects=False, **kw))

    async def follow(self) -> str:
        """Where the last response redirected to."""
        assert self.status in (302, 303), self.status
        return await self.get(self.headers["Location"])

    async def _keep(self, resp: Any) -> str:
        self.page, self.status, self.headers = await resp.text(), resp.status, resp.headers.copy()
        return self.page

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True, **kw: Any) -> str:
        """Submit a form as the last page would: with its hidden fields (the CSRF token unless told not to)."""
        hidden = {k: html.unescape(v) for k, v in HIDDEN.findall(self.page) if csrf or k != "csrf_token"}
        body = {**hidden, **data}
        return await self._keep(await self.client.post(path, data=body, allow_redirects=False, **kw))

    async def upload(self, path: str, data: dict[str, str], file: tuple[str, bytes, str], *,
                     csrf: bool = True) -> str:
        """Submit a multipart form as the last page would, with one file: (name, content, declared type)."""
        form = FormData()
        if csrf:
            form.add_field("csrf_token", csrf_of(self.page))
        for key, value in data.items():
            form.add_field(key, value)
        name, content, content_type = file
        form.add_field("file", content, filename=name, content_type=content_type)
        return await self._keep(await self.client.post(path, data=form, allow_redirects=False))

    def stored_files(self) -> list[str]:
        """Uploaded files on disk (bot/content/files.py), whatever record points at them."""
        return [f.name for f in (self.services.settings.data_dir / "files").rglob("*") if f.is_file()]

    async def login(self, username: str, role: str | None = None, unit: str | None = None,
                    password: str = PASSWORD) -> str:
        if role:
            await self.user(username, role, unit)
        await self.get("/console/login")
        return await self.post("/console/login", {"username": username, "password": password})

    async def logout(self) -> None:
        """The logout button every page has."""
        await self.get("/console/surveys")
        await self.post("/console/logout", {})

    def another_browser(self) -> "Console":
        """A second browser on the same server, with cookies of its own (close it with ``close``)."""
        return Console(TestClient(self.client.server))

    async def close(self) -> None:
        await self.client.session.close()
