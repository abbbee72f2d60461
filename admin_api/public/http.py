"""Small HTTP pieces the public pages and the admin API share: file downloads, links, page headers."""
from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from bot.content import files
from bot.content.consultations import CONTEXT_KEY, FLOW_ID

FORM_PATH = "/y-kien/"


def file_response(data: bytes, media_type: str, name: str, title: str) -> web.Response:
    """A download that is never rendered inline (a PDF cannot run in our origin) under a safe name."""
    return web.Response(body=data, content_type=media_type, headers={
        "Content-Disposition": files.content_disposition(title, name), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, max-age=300"})


def consultation_links(base_url: str, cid: str) -> dict[str, str]:
    return {"chat_url": f"{base_url}/chat?flow={FLOW_ID}&{CONTEXT_KEY}={cid}", "form_url": f"{base_url}{FORM_PATH}{cid}"}


def page_headers(frame_ancestors: tuple[str, ...] = ()) -> dict[str, str]:
    """No script at all on these pages; styles from our own origin; forms post only to us."""
    ancestors = " ".join(("'self'",) + frame_ancestors)
    return {"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                       f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status,
                             headers={"Cache-Control": "no-store"})


def html_page(title: str, body: str, status: int = 200) -> web.Response:
    """A plain Vietnamese page in the site's style (the web chat's stylesheet), without script."""
    e = html.escape
    text = (f"<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)} — Hài lòng</title>"
            f"<link rel='stylesheet' href='/static/index.css'></head><body class='hl-page'>"
            f"<header class='hl-header'><h1>{e(title)}</h1></header><main class='hl-card'>{body}</main></body></html>")
    return web.Response(text=text, status=status, content_type="text/html", headers=page_headers())
