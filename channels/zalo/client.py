"""Sending consultation messages through Zalo's OA Open API v3, with the outcome as a ``SendResult``.

We wrote our own small client: the PyPI packages are not fit for use (``zalo-sdk`` 0.3.0 is
synchronous, "work in progress" and builds template buttons wrongly; ``zalo-python-sdk`` targets the
2017 API v1), and one endpoint plus a token refresh is little code on aiohttp.
"""
from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

import aiohttp

from channels.delivery import SendResult

from .tokens import Clock, TokenKeeper, TokenPair, TokenStore, ZaloTokenError, exchange_refresh_token, utc_now

API_URL = "https://openapi.zalo.me"
OAUTH_URL = "https://oauth.zaloapp.com"
SEND_PATH = "/v3.0/oa/message/cs"

TOKEN_EXPIRED = frozenset({-216, -124, -220})
RATE_LIMITED = frozenset({-32})
# -230: no interaction for 7 days; -232: no interaction yet or it expired; -305: past the 48 h
# reply window; -311: the free replies for that message are used up.
WINDOW_CLOSED = frozenset({-230, -232, -305, -311})
ZALO_REPLY_PREFIX = "zalo:"


class ZaloClient:
    """Sends one ``message`` object at a time to one user of the OA.

    ``tokens`` is shared with every other process sending for the same OA. ``session`` may be
    passed in (it is then left open); otherwise the client owns one and ``close()`` closes it.
    """

    def __init__(
        self, *, app_id: str, app_secret: str, tokens: TokenStore, session: aiohttp.ClientSession | None = None,
        base_url: str = API_URL, oauth_url: str = OAUTH_URL, timeout: float = 10.0, clock: Clock = utc_now,
        refresh_margin: timedelta = timedelta(minutes=5), refresh_race_grace: float = 3.0,
        refresh_race_poll: float = 0.1,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._session = session
        self._owns_session = session is None
        self._base_url = base_url.rstrip("/")
        self._oauth_url = oauth_url.rstrip("/")
        self._timeout = timeout
        self._clock = clock
        self.tokens = TokenKeeper(tokens, self._exchange, clock=clock, refresh_margin=refresh_margin,
                                  race_grace=refresh_race_grace, race_poll=refresh_race_poll)

    async def __aenter__(self) -> "ZaloClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, user_id: str, message: dict[str, Any], reply_to: str | None = None) -> SendResult:
        """Send ``message`` (from ``render``) to ``user_id``.

        ``reply_to`` is the Zalo ``msg_id`` of the user's message (``Inbound.raw["msg_id"]``; the
        ``zalo:``-prefixed ``Inbound.message_id`` is accepted too). With it the message is a free
        reply inside the 48 h window; without it Zalo counts a paid proactive message.
        """
        if reply_to and reply_to.startswith(ZALO_REPLY_PREFIX):
            reply_to = reply_to[len(ZALO_REPLY_PREFIX):]
        recipient = {"message_id": reply_to} if reply_to else {"user_id": user_id}
        body = {"recipient": recipient, "message": message}
        try:
            pair = await self.tokens.current()
        except ZaloTokenError as exc:
            return _token_failure(exc)
        result, code = await self._post(pair, body)
        if code not in TOKEN_EXPIRED:
            return result
        try:
            pair = await self.tokens.refreshed(pair)
        except ZaloTokenError as exc:
            return _token_failure(exc)
        result, code = await self._post(pair, body)
        if code in TOKEN_EXPIRED:
            return SendResult.failed(f"Zalo rejected a freshly refreshed access token: {result.error}")
        return result

    async def _post(self, pair: TokenPair, body: dict[str, Any]) -> tuple[SendResult, int | None]:
        try:
            async with self._http().post(
                self._base_url + SEND_PATH, json=body, headers={"access_token": pair.access_token},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                raw = await resp.read()
        except TimeoutError:
            return SendResult.retry(f"Zalo did not answer within {self._timeout:g} s"), None
        except aiohttp.ClientError as exc:
            return SendResult.retry(f"Zalo connection failed: {type(exc).__name__} {exc}".rstrip()), None
        if status == 429:
            return SendResult.retry("Zalo answered HTTP 429", retry_after=_seconds(retry_after)), None
        if status >= 500:
            return SendResult.retry(f"Zalo answered HTTP {status}", retry_after=_seconds(retry_after)), None
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("error"), int):
            return SendResult.failed(f"Zalo answered HTTP {status} without an error code"), None
        return _classify(data), data["error"]

    async def _exchange(self, refresh_token: str) -> TokenPair:
        return await exchange_refresh_token(
            self._http(), oauth_url=self._oauth_url, app_id=self._app_id, app_secret=self._app_secret,
            refresh_token=refresh_token, timeout=self._timeout, now=self._clock())

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


def _classify(data: dict[str, Any]) -> SendResult:
    code: int = data["error"]
    what = f"Zalo error {code}: {data.get('message') or 'no message'}"
    if code == 0:
        payload = data.get("data")
        message_id = payload.get("message_id") if isinstance(payload, dict) else None
        return SendResult.sent(str(message_id) if message_id is not None else None)
    if code in RATE_LIMITED:
        return SendResult.retry(what)
    if code in WINDOW_CLOSED:
        return SendResult.window_closed(what)
    return SendResult.failed(what)


def _token_failure(exc: ZaloTokenError) -> SendResult:
    return SendResult.retry(str(exc)) if exc.transient else SendResult.failed(str(exc))


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date instead of seconds: let the outbox back off on its own
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
