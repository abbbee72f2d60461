"""Public search of the reform documents database, for the ministries' and provinces' websites
(the bot answers the same search in chat), and public downloads."""
from __future__ import annotations

import re
from typing import Any, Callable

from aiohttp import web

from bot.content import documents
from bot.services import Services

from .http import file_response, json_error

_UNIT = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class PublicDocuments:
    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services

    async def search(self, request: web.Request) -> web.Response:
        svc = self._services()
        q = request.query
        text, unit, year, kind, limit = q.get("q", ""), q.get("unit"), q.get("year"), q.get("kind"), q.get("limit", "20")
        if len(text) > 200 or (unit is not None and (len(unit) > 40 or not _UNIT.match(unit))) \
                or (year is not None and not (year.isascii() and year.isdigit() and len(year) == 4)) \
                or (kind is not None and kind not in documents.KINDS) \
                or not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 50):
            return json_error(400, "bad_query", "q ≤ 200 ký tự; unit là mã đơn vị; year 4 chữ số; "
                                                "kind ∈ " + ", ".join(documents.KINDS) + "; limit 1–50.")
        found = await documents.search(svc.engine, text, limit=int(limit), unit=unit, year=int(year) if year else None,
                                       kind=kind)
        base = svc.settings.base_url
        return web.json_response({"items": [self._item(svc, d, base) for d in found]}, headers={
            "Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"})

    @staticmethod
    def _item(svc: Services, d: dict[str, Any], base: str) -> dict[str, Any]:
        return {"id": d["id"], "title": d["title"], "unit_code": d["unit_code"], "unit_name": svc.units.name(d["unit_code"]),
                "year": d["year"], "kind": d["kind"], "file_type": d["file_type"], "size": d["size"],
                "url": documents.file_url(base, d["id"])}

    async def file(self, request: web.Request) -> web.StreamResponse:
        svc = self._services()
        got = await documents.public_file(svc.engine, svc.settings.data_dir, request.match_info["doc_id"])
        if got is None:
            return json_error(404, "not_found", "Không tìm thấy văn bản này.")
        return file_response(*got)
