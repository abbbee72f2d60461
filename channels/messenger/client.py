"""A small async Send API client whose only answer is a ``SendResult`` the outbox can act on.

Graph errors are classified here, once, into retry / window_closed / failed, so the outbox never
has to know Meta's error codes. The page access token travels in the query string as the Send API
documents; it must never reach logs or operator screens, so every error text this module produces
is built from known parts and scrubbed of the token before it leaves.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import quote
from types import TracebackType
from typing import Any

import aiohttp

from channels.delivery import SendResult

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v25.0"

# Graph/Messenger error codes, from Meta's "Common Error Codes" and Graph error-handling pages.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
TRANSIENT_CODES = frozenset({1, 2, 1200})
WINDOW_CLOSED_SUBCODES = frozenset({2018278, 2534022, 2018065})
UNAVAILABLE_SUBCODES = frozenset({1545041, 2018108, 2018001})
UNAVAILABLE_CODES = frozenset({551})
_WINDOW_TEXT = "outside of allowed window"
_MAX_ERROR = 500


class MessengerClient:
    """Sends ``message`` objects (see ``render``) to one Page's respondents through the Send API.

    Pass ``session`` to share the application's ``aiohttp.ClientSession``; without one, the client
    opens its own on first use and closes it in ``close()``.
    """

    def __init__(
        self,
        page_access_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        graph_url: str = DEFAULT_GRAPH_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 10.0,
    ) -> None:
        if not page_access_token:
            raise ValueError("a page access token is required")
        self._token = page_access_token
        self._session = session
        self._owns_session = session is None
        self.graph_url = graph_url.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout

    @property
    def endpoint(self) -> str:
        """The Send API URL without the token (safe to log)."""
        return f"{self.graph_url}/{self.api_version}/me/messages"

    async def send(self, psid: str, message: dict[str, Any], messaging_type: str = "RESPONSE") -> SendResult:
        """Send one ``message`` to the respondent ``psid``; never raises for platform or network faults."""
        body = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message}
        try:
            session = self._get_session()
            async with session.post(
                self.endpoint,
                params={"access_token": self._token},
                json=body,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                retry_after = _retry_after(response.headers)
                text = await response.text(errors="replace")
        except asyncio.TimeoutError:
            return SendResult.retry(f"timeout after {self.timeout:g}s")
        except aiohttp.InvalidURL:
            return SendResult.failed("invalid Send API URL: check graph_url and api_version")
        except aiohttp.ClientError as exc:
            return SendResult.retry(self._scrub(f"connection error: {type(exc).__name__}: {exc}"))
        return self._scrub_result(_classify(status, text, retry_after))

    async def close(self) -> None:
        """Close the session if this client opened it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    async def __aenter__(self) -> "MessengerClient":
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"MessengerClient(endpoint={self.endpoint!r})"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
        return self._session

    def _scrub(self, text: str) -> str:
        for form in (self._token, quote(self._token, safe=""), quote(self._token)):
            text = text.replace(form, "***")
        return text

    def _scrub_result(self, result: SendResult) -> SendResult:
        if result.error is None:
            return result
        error = self._scrub(result.error)
        if error == result.error:
            return result
        return SendResult(result.status, result.platform_message_id, result.retry_after, error)


def _classify(status: int, text: str, retry_after: float | None) -> SendResult:
    data = _json(text)
    error = data.get("error") if isinstance(data, dict) else None
    if 200 <= status < 300 and error is None:
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if isinstance(message_id, str) and message_id:
            return SendResult.sent(message_id)
        return SendResult.failed(f"HTTP {status} without message_id: {_clip(text)}")
    if not isinstance(error, dict):
        described = f"HTTP {status}: {_clip(text)}"
        if status == 429 or status >= 500:
            return SendResult.retry(described, retry_after)
        return SendResult.failed(described)
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    message = str(error.get("message") or "")
    described = f"graph error {code}/{subcode} (HTTP {status}): {_clip(message)}"
    if status == 429 or code in RATE_LIMIT_CODES:
        return SendResult.retry(described, retry_after)
    if subcode in WINDOW_CLOSED_SUBCODES or (code == 10 and subcode is None and _WINDOW_TEXT in message):
        return SendResult.window_closed(described)
    if code in UNAVAILABLE_CODES or subcode in UNAVAILABLE_SUBCODES:
        return SendResult.failed(f"recipient unavailable (blocked, deactivated or unknown): {described}")
    if status >= 500 or code in TRANSIENT_CODES or error.get("is_transient") is True:
        return SendResult.retry(described, retry_after)
    return SendResult.failed(described)


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait, from ``Retry-After`` or Meta's business-use-case usage header (minutes)."""
    value = headers.get("Retry-After")
    if value is not None:
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds >= 0:
            return seconds
    usage = _json(headers.get("X-Business-Use-Case-Usage") or "")
    if isinstance(usage, dict):
        waits = [
            entry.get("estimated_time_to_regain_access")
            for entries in usage.values()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
        minutes = [w for w in waits if isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0]
        if minutes:
            return float(max(minutes)) * 60
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"
