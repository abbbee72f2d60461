"""Preview: an official tries a survey version (published or not, before it opens) in a chat of
its own. The conversation runs on the ``preview`` channel, so its response is stored with
``preview = true`` and no score, export or report ever counts it. The session is a signed token
(the link an official opens); it names the flow version, so the link keeps showing that version."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..messages import Inbound
from ..store.flows_repo import PREVIEW_SEPARATOR

if TYPE_CHECKING:
    from ..conversation import ConversationService, Reply

CHANNEL = "preview"
MAX_AGE = 7 * 24 * 3600
PAGE_PATH = "/xem-truoc/"


@dataclass(frozen=True)
class PreviewSession:
    sid: str
    flow_id: str
    version: int


class PreviewTokens:
    def __init__(self, secret: str, max_age: int = MAX_AGE) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="hailong.preview")
        self._max_age = max_age

    def issue(self, flow_id: str, version: int) -> tuple[PreviewSession, str]:
        session = PreviewSession(secrets.token_urlsafe(18), flow_id, version)
        return session, self._s.dumps({"s": session.sid, "f": flow_id, "v": version})

    def verify(self, token: str) -> PreviewSession | None:
        if not token or len(token) > 300:
            return None
        try:
            data = self._s.loads(token, max_age=self._max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("s"), str) or not isinstance(data.get("f"), str) \
                or not isinstance(data.get("v"), int):
            return None
        return PreviewSession(data["s"], data["f"], data["v"])


async def start(conversation: "ConversationService", tokens: PreviewTokens, flow_id: str, version: int,
                context: Mapping[str, str] | None = None) -> tuple[str, "Reply"]:
    session, token = tokens.issue(flow_id, version)
    reply = await conversation.start_session(Inbound(
        channel=CHANNEL, respondent_key=session.sid, kind="start", flow=f"{flow_id}{PREVIEW_SEPARATOR}{version}",
        context=dict(context or {})))
    return token, reply


def message(session: PreviewSession, *, text: str | None = None, choice: Any = None, cid: str) -> Inbound:
    kind = "choice" if choice is not None else "text"
    return Inbound(channel=CHANNEL, respondent_key=session.sid, kind=kind, text=text or "", choice=choice,
                   message_id=f"cid:{cid}")


def link(base_url: str, token: str) -> str:
    return f"{base_url}{PAGE_PATH}{token}"
