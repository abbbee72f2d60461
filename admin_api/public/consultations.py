"""Public consultation pages: the open consultations as JSON (for ministries' and provinces' sites),
and a server-rendered Vietnamese form that works without JavaScript or any CDN.

The form is CSRF-safe: the page sets a random cookie (SameSite=Strict) and embeds an HMAC of it
in the form; a post without both, or from another site's Origin, is refused. The JSON endpoint
only takes ``application/json``, which another site's page cannot send without a CORS preflight we
never grant. Both are rate limited per address."""
from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from typing import Any, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.content import consultations
from bot.jsonio import loads
from bot.services import Services
from bot.store.flows_repo import vn_date
from bot.state.ratelimit import Limit

from .http import FORM_PATH, consultation_links, file_response, html_page, json_error

CSRF_COOKIE = "hl_csrf"
MAX_FORM = 16 * 1024


class PublicConsultations:
    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services
        self.limiter = Limit("opinions", rate=0.2, burst=20)  # an office shares one address: generous bursts

    @property
    def svc(self) -> Services:
        return self._services()

    def _public(self, d: dict[str, Any]) -> dict[str, Any]:
        base = self.svc.settings.base_url
        file_url = f"{base}/api/v1/public/consultations/{d['id']}/file" if d["has_file"] else None
        return {"id": d["id"], "title": d["title"], "summary": d["summary"], "unit_code": d["unit_code"],
                "unit_name": self.svc.units.name(d["unit_code"]) if d["unit_code"] else None,
                "opens_at": d["opens_at"].isoformat(), "closes_at": d["closes_at"].isoformat(), "open": d["open"],
                "document_url": d["document_url"], "file_url": file_url, **consultation_links(base, d["id"])}

    # ---- JSON ----------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        items = await consultations.public_list(self.svc.engine)
        return web.json_response({"items": [self._public(d) for d in items]}, headers=_cors())

    async def one(self, request: web.Request) -> web.Response:
        d = await consultations.public_get(self.svc.engine, request.match_info["cid"])
        if d is None:
            return json_error(404, "not_found", "Không tìm thấy dự thảo này.")
        return web.json_response(self._public(d), headers=_cors())

    async def file(self, request: web.Request) -> web.StreamResponse:
        got = await consultations.public_file(self.svc.engine, self.svc.settings.data_dir, request.match_info["cid"])
        if got is None:
            return json_error(404, "not_found", "Không tìm thấy tệp dự thảo.")
        return file_response(*got)

    async def post_json(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return json_error(415, "unsupported_media_type", "Gửi ý kiến dưới dạng application/json.")
        if not self._same_origin(request):
            return json_error(403, "origin_not_allowed", "Trang này không được gửi ý kiến.")
        if not await self.limiter.allow(self.svc.state, request.remote or "?"):
            return json_error(429, "rate_limited", "Ông/Bà gửi quá nhanh, xin thử lại sau ít phút.")
        raw = await request.read()
        try:
            body = loads(raw) if len(raw) <= MAX_FORM else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return json_error(400, "bad_json", "Nội dung gửi phải là một đối tượng JSON.")
        position, comments, consent = body.get("position"), body.get("comments"), body.get("publish_consent")
        if not isinstance(position, str) or not (comments is None or isinstance(comments, str)) \
                or not (consent is None or isinstance(consent, bool)):
            return json_error(422, "invalid", "position là chuỗi; comments là chuỗi; publish_consent là true/false.")
        status, code, message = await self._add(request.match_info["cid"], position, comments, consent)
        return json_error(status, code, message) if status >= 400 else web.json_response(
            {"id": code, "message": message}, status=201)

    async def _add(self, cid: str, position: str, comments: str | None, consent: bool | None) -> tuple[int, str, str]:
        flow = await self.svc.flows.get(consultations.FLOW_ID)
        if flow is None:
            return 404, "not_found", "Chưa mở lấy ý kiến qua biểu mẫu."
        try:
            oid = await consultations.add_opinion(self.svc.engine, flow, cid, position=position, comments=comments,
                                                  publish_consent=consent)
        except LookupError:
            return 404, "not_found", "Không tìm thấy dự thảo này."
        except consultations.ConsultationClosed:
            return 409, "closed", "Dự thảo này hiện không trong thời gian lấy ý kiến. Trân trọng cảm ơn Ông/Bà!"
        except ValueError as e:
            return 422, "invalid", str(e)
        return 201, oid, "Trân trọng cảm ơn Ông/Bà đã đóng góp ý kiến!"

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser's cross-site request (browsers send Origin on POST)
        own = {_origin(self.svc.settings.base_url), f"{request.scheme}://{request.host}"}
        return origin in own

    # ---- the form page -------------------------------------------------------------------

    def _csrf(self, nonce: str, cid: str) -> str:
        key = self.svc.settings.effective_secret_key().encode()
        return hmac.new(key, f"consultation-form:{cid}:{nonce}".encode(), hashlib.sha256).hexdigest()

    async def form_page(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        d = await consultations.public_get(self.svc.engine, cid)
        flow = await self.svc.flows.get(consultations.FLOW_ID)
        if d is None or flow is None:
            return html_page("Không tìm thấy dự thảo", "<p>Không tìm thấy dự thảo này hoặc dự thảo chưa được công bố.</p>", 404)
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(18)
        body = self._details(d) + (self._form(d, flow, self._csrf(nonce, cid)) if d["open"] else
                                   "<p class='hl-meta'>Dự thảo hiện không trong thời gian lấy ý kiến.</p>")
        response = html_page(d["title"], body)
        response.set_cookie(CSRF_COOKIE, nonce, path=FORM_PATH, httponly=True, samesite="Strict",
                            secure=self.svc.settings.base_url.startswith("https://"), max_age=24 * 3600)
        return response

    def _details(self, d: dict[str, Any]) -> str:
        e = html.escape
        p = self._public(d)
        links = []
        if p["file_url"]:
            links.append(f"<a href='{e(p['file_url'])}'>Tải toàn văn dự thảo</a>")
        if p["document_url"]:
            links.append(f"<a href='{e(p['document_url'])}' rel='noopener noreferrer'>Xem dự thảo trên cổng thông tin</a>")
        if d["open"]:
            links.append(f"<a href='{e(p['chat_url'])}'>Góp ý qua trò chuyện</a>")
        return (f"<p class='hl-meta'>{e(p['unit_name'] or '')} · Lấy ý kiến từ {vn_date(d['opens_at'])} đến "
                f"{vn_date(d['closes_at'])}</p><p>{e(d['summary'])}</p><p>{' · '.join(links)}</p>")

    def _form(self, d: dict[str, Any], flow: Any, token: str) -> str:
        e = html.escape
        radios = "".join(f"<p><label><input type='radio' name='position' value='{e(p.id)}' required> {e(p.label)}"
                         f"</label></p>" for p in consultations.positions(flow))
        return (f"<form method='post' action='{FORM_PATH}{e(d['id'])}'>"
                f"<input type='hidden' name='csrf' value='{token}'>"
                f"<fieldset><legend>{e(flow.question(consultations.POSITION_KEY).text)}</legend>{radios}</fieldset>"
                f"<p><label for='comments'>Nội dung góp ý (nếu có, xin ghi rõ điều, khoản của dự thảo):</label><br>"
                f"<textarea id='comments' name='comments' rows='8' cols='60' maxlength='3000'></textarea></p>"
                f"<p><label><input type='checkbox' name='publish_consent' value='yes'> Tôi đồng ý để cơ quan soạn thảo "
                f"công khai nội dung góp ý (không kèm thông tin cá nhân).</label></p>"
                f"<p><button class='hl-start' type='submit'>Gửi ý kiến</button></p></form>")

    async def form_post(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        if not self._same_origin(request) or request.content_type != "application/x-www-form-urlencoded":
            return html_page("Không gửi được", "<p>Xin gửi ý kiến từ trang lấy ý kiến của dự thảo.</p>", 403)
        if (request.content_length or 0) > MAX_FORM:
            return html_page("Không gửi được", "<p>Nội dung góp ý quá dài.</p>", 413)
        form = await request.post()
        nonce = request.cookies.get(CSRF_COOKIE)
        sent = form.get("csrf")
        if not nonce or not isinstance(sent, str) or not hmac.compare_digest(sent, self._csrf(nonce, cid)):
            return html_page("Phiên đã hết hạn", f"<p>Xin <a href='{FORM_PATH}{html.escape(cid)}'>mở lại trang</a> và gửi "
                                             "lại ý kiến.</p>", 403)
        if not await self.limiter.allow(self.svc.state, request.remote or "?"):
            return html_page("Gửi quá nhanh", "<p>Ông/Bà gửi quá nhanh, xin thử lại sau ít phút.</p>", 429)
        position, comments = form.get("position"), form.get("comments")
        status, _, message = await self._add(cid, position if isinstance(position, str) else "",
                                             comments if isinstance(comments, str) else None,
                                             form.get("publish_consent") == "yes")
        title = "Đã nhận ý kiến" if status < 400 else "Chưa gửi được ý kiến"
        return html_page(title, f"<p>{html.escape(message)}</p><p><a href='{FORM_PATH}{html.escape(cid)}'>Quay lại dự thảo"
                            "</a></p>", 200 if status < 400 else status)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _cors() -> dict[str, str]:
    """Read-only lists any ministry's or province's site may show."""
    return {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"}
