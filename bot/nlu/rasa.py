"""Intent parsing by a Rasa 3.6 server (``HAILONG_NLU_BACKEND=rasa``, ``HAILONG_RASA_URL``).

Rasa runs in its own process and Python (``make rasa``, ``scripts/rasa_serve``): this module only
speaks HTTP to its ``POST /model/parse`` and never imports Rasa. Rasa gives only an intent; official
answers come from the knowledge base through a ``fallback`` backend (the built-in one, which also
serves ``entry`` and ``reload``). How the two combine:

- ``answers_first=True`` (default): the fallback is asked first (it is sub-millisecond); a confident
  official answer is returned as it is, without asking Rasa (the built-in backend already declines
  to answer what it is sure is a command). Otherwise Rasa's intent and confidence decide; for
  ``ask_question`` the fallback's "did you mean" candidates and ``escalate`` are kept.
- ``answers_first=False``: Rasa decides every intent; the fallback is asked only for
  ``ask_question`` (answer, candidates, escalate).

Measured when written (``hailong nlu eval --backend builtin,rasa`` on nlu_data/eval/test.tsv and
intents.tsv, seed knowledge base): the first keeps the built-in's answers (64.7% answered right)
with Rasa's better intents (94.4% vs 87.5%); the second loses half the answers (36.2%), because
Rasa files many questions about surveys under start_survey and the like.
Either way, a question nothing can answer (no answer, no candidate) is escalated to officials.

When Rasa cannot be reached, times out, answers an error status or something that is not its
parse JSON, the conversation goes on: the fallback's own understanding is returned if there is a
fallback, otherwise ``Understanding(intent="none", confidence=0.0, escalate=False)`` — "none"
shows the menu, and an outage must not turn every message into a ticket for officials. After a
failure Rasa is left alone for ``retry_after`` seconds, so an outage does not add a timeout to
every message; one warning is logged per outage and one info line when Rasa answers again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp

from ..logs import log
from ..settings import Settings
from .base import INTENTS, NluBackend, Understanding

# Rasa's FallbackClassifier answers this when no intent is confident enough (nlu_data/config.yml).
RASA_FALLBACK_INTENT = "nlu_fallback"


class RasaUnavailable(Exception):
    """Rasa did not give a usable parse (down, slow, an error status, unexpected JSON)."""


def parse_rasa_reply(body: Any) -> tuple[str, float]:
    """``(intent, confidence)`` from ``/model/parse`` JSON; an intent Hailong does not know (and
    Rasa's ``nlu_fallback``) becomes ``none``."""
    if not isinstance(body, dict):
        raise RasaUnavailable("parse reply is not a JSON object")
    intent = body.get("intent")
    if intent is None:  # Rasa answers {"intent": null} ... for an empty text
        return "none", 0.0
    if not isinstance(intent, dict):
        raise RasaUnavailable("parse reply has no intent object")
    name = intent.get("name")
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError) as exc:
        raise RasaUnavailable("parse reply has a non-numeric confidence") from exc
    if not isinstance(name, str) or name == RASA_FALLBACK_INTENT or name not in INTENTS:
        return "none", confidence
    return name, confidence


class RasaNlu:
    """``NluBackend`` over a Rasa server's HTTP API."""

    name = "rasa"

    def __init__(self, url: str, *, fallback: NluBackend | None = None, answers_first: bool = True,
                 timeout: float = 2.0, retry_after: float = 5.0,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.url = url.rstrip("/")
        self.fallback = fallback
        self.answers_first = answers_first
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry_after = retry_after
        self._session = session
        self._own_session = session is None
        self._down_until = 0.0  # monotonic time before which Rasa is not asked again
        self._down = False

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30))
            self._own_session = True
        return self._session

    async def parse(self, text: str) -> tuple[str, float]:
        """Rasa's intent for ``text``; raises ``RasaUnavailable``."""
        if time.monotonic() < self._down_until:
            raise RasaUnavailable("Rasa failed recently; not asked again yet")
        try:
            session = await self._client()
            async with session.post(f"{self.url}/model/parse", json={"text": text},
                                    timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {resp.status}")
                try:
                    body = await resp.json(content_type=None)
                except ValueError as exc:
                    raise RasaUnavailable("Rasa's reply is not JSON") from exc
            result = parse_rasa_reply(body)
        except (aiohttp.ClientError, asyncio.TimeoutError, RasaUnavailable) as exc:
            self._down_until = time.monotonic() + self.retry_after
            if not self._down:
                self._down = True
                reason = str(exc) or type(exc).__name__
                log("nlu.rasa_unavailable", logging.WARNING, url=self.url, reason=reason)
            if isinstance(exc, RasaUnavailable):
                raise
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if self._down:
            self._down = False
            log("nlu.rasa_available", url=self.url)
        return result

    async def status(self) -> dict[str, Any] | None:
        """Rasa's ``GET /status`` (``model_file``, ``model_id``…) when it answers with a model loaded,
        else ``None``; for health checks, never raises."""
        try:
            session = await self._client()
            async with session.get(f"{self.url}/status", timeout=self.timeout) as resp:
                body = await resp.json(content_type=None) if resp.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None
        return body if isinstance(body, dict) and body.get("model_file") else None

    async def understand(self, text: str, *, unit: str | None = None) -> Understanding:
        if not text.strip():
            return Understanding(text=text, intent="none", confidence=0.0, unit=unit)
        found: Understanding | None = None
        if self.fallback is not None and self.answers_first:
            # A confident official answer wins (the fallback already declines to answer what it
            # is sure is a command); Rasa is asked only about the rest.
            found = await self.fallback.understand(text, unit=unit)
            if found.answer is not None:
                return found
        try:
            intent, confidence = await self.parse(text)
        except RasaUnavailable:
            if self.fallback is not None:
                return found or await self.fallback.understand(text, unit=unit)
            return Understanding(text=text, intent="none", confidence=0.0, unit=unit)
        if intent != "ask_question":
            return Understanding(text=text, intent=intent, confidence=confidence, unit=unit)
        if self.fallback is None:
            # A question, and nothing here can answer it: it goes to officials.
            return Understanding(text=text, intent=intent, confidence=confidence, escalate=True, unit=unit)
        found = found or await self.fallback.understand(text, unit=unit)
        # The fallback may not have taken the text for a question; if it found nothing to offer,
        # Rasa's word stands and the question goes to officials.
        escalate = found.escalate or (found.answer is None and not found.candidates)
        return Understanding(text=text, intent=intent, confidence=confidence, answer=found.answer,
                             answer_id=found.answer_id, matched_question=found.matched_question,
                             escalate=escalate, candidates=found.candidates, topic=found.topic,
                             unit=found.unit or unit)

    async def entry(self, answer_id: str) -> Understanding | None:
        return await self.fallback.entry(answer_id) if self.fallback is not None else None

    async def reload(self) -> None:
        if self.fallback is not None:
            await self.fallback.reload()

    async def close(self) -> None:
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()
        self._session = None
        if self.fallback is not None:
            await self.fallback.close()


async def create(engine: Any, nlu_dir: Path, *, settings: Settings | None = None) -> RasaNlu:
    """The Rasa backend as ``hailong nlu eval --backend rasa`` builds it: Rasa at ``rasa_url``
    (``HAILONG_RASA_URL``) for intents, the built-in backend over ``engine``'s knowledge base for
    answers. Raises ``BackendUnavailable`` when no Rasa with a loaded model answers there (an
    evaluation must not silently measure the fallback; the running app, by contrast, should build
    ``RasaNlu`` directly and start even while Rasa is still loading)."""
    from .builtin import BuiltinNlu
    from .evaluate import BackendUnavailable

    settings = settings or Settings.from_env()
    fallback = BuiltinNlu(engine, nlu_dir)
    nlu = RasaNlu(settings.rasa_url, fallback=fallback)
    if await nlu.status() is None:
        await nlu.close()
        raise BackendUnavailable(f"no Rasa server with a model at {settings.rasa_url} "
                                 "(make rasa-serve, or set HAILONG_RASA_URL)")
    await fallback.reload()
    return nlu
