"""Public endpoints outside the admin API (no login): open consultations and their opinion form,
the reform documents search and downloads, and the survey preview page. Mounted by the
composition root with ``setup_public(app, lambda: app[SERVICES])``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from aiohttp import web

from .http import consultation_links, file_response

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["setup_public", "consultation_links", "file_response"]
PREFIX = "/api/v1/public"


def setup_public(app: web.Application, services: Callable[[], "Services"]) -> None:
    from .answers import PATH as ANSWER_PATH
    from .answers import AnswerPages
    from .consultations import PublicConsultations
    from .documents import PublicDocuments
    from .http import FORM_PATH
    from .preview import PreviewPages

    from bot.content.preview import PAGE_PATH

    c, d, p = PublicConsultations(services), PublicDocuments(services), PreviewPages(services)
    cid, token = r"{cid:c[0-9a-f]{12}}", r"{token:[A-Za-z0-9_.\-]{1,300}}"
    app.router.add_get(f"{PREFIX}/consultations", c.list)
    app.router.add_get(f"{PREFIX}/consultations/{cid}", c.one)
    app.router.add_get(f"{PREFIX}/consultations/{cid}/file", c.file)
    app.router.add_post(f"{PREFIX}/consultations/{cid}/opinions", c.post_json)
    app.router.add_get(f"{FORM_PATH}{cid}", c.form_page)
    app.router.add_post(f"{FORM_PATH}{cid}", c.form_post)
    app.router.add_get(f"{PREFIX}/documents", d.search)
    app.router.add_get(PREFIX + r"/documents/{doc_id:d[0-9a-f]{16}}/file", d.file)
    app.router.add_get(f"{PAGE_PATH}{token}", p.page)
    app.router.add_post(f"{PAGE_PATH}{token}", p.post)
    app.router.add_get(f"{ANSWER_PATH}{token}", AnswerPages(services).page)
