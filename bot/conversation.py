"""The conversation service: one inbound message in, the replies out, everything learned stored.

Per respondent: take the lock (messages in order), return the stored reply for a message already
handled (platforms and browsers resend), run the pure flow engine, then write answers, response
state, outgoing messages and the de-duplication key in ONE transaction. The state store is only
updated after the commit, so it never knows something the database does not.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .campaigns.service import opt_out_respondent
from .content.documents import chat_reply as document_search
from .dialogues import Dialogues
from .flows import AnswerCleared, AnswerSet, Env, Flow, FlowState, StepResult, start, step
from .flows.engine import reask
from .flows.model import ChoiceDef, Question
from .flows.parsers import Accepted, parse_single
from .logs import log
from .messages import Choice, Inbound, InputSpec, Outbound
from .nlu import Candidate, NluBackend, Understanding
from .settings import Settings
from .state import StateStore
from .store.db import upsert
from .store.flows_repo import FlowRegistry
from .store.sa_writer import SqlAlchemyWriter
from .store.tables import invitations, outbox, processed, respondents, responses
from .store.writes import (DuplicateMessage, InvitationTaken, MessageWrite, MessageWriter, NewResponse, NewTicket,
                           OutboxRow, Processed, ResponseState)
from .text import fold
from .units import UnitCatalogue

# Channels whose clients fetch messages themselves; others are sent by the outbox sender.
PULL_CHANNELS = frozenset({"web", "console", "preview"})
MENU_PREFIX = "flow:"
KB_PREFIX = "kb:"
NONE_ID = "_none"
_QUESTION_WORDS = re.compile(
    r"\b(tai sao|vi sao|lam sao|lam the nao|nhu the nao|the nao|bao gio|bao lau|khi nao|o dau|"
    r"la gi|co phai|co duoc|duoc khong|co khong|bao nhieu|ai la|can gi|gom nhung gi|nhu nao|sao lai)\b")
_CODE = re.compile(r"[A-HJKMNP-Z2-9]{8}")  # bot/invitations.py's alphabet and length
STATE_TTL = 7 * 24 * 3600
_FLOW_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")


@dataclass(frozen=True)
class Reply:
    messages: list[Outbound]
    flow_state: dict[str, Any]
    duplicate: bool = False


@dataclass
class _Conv:
    """What the service keeps per respondent between messages (cached in the state store)."""

    last_seq: int = 0
    response_id: str | None = None
    flow: FlowState | None = None
    invitation: str | None = None
    unit: str | None = None
    unit_from_invitation: bool = False
    menu: list[str] = field(default_factory=list)
    # message ids handled lately, so a redelivery is recognised without a query; older ones are
    # caught by the database's unique key
    recent: list[str] = field(default_factory=list)
    # a "did you mean" offer waiting for a pick: {"text": asked, "ids": [answer ids]}, or
    # {"official": True} after "I want to talk to an official" (the next text is the question)
    offer: dict[str, Any] | None = None
    from_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "response_id": self.response_id,
                "flow": self.flow.to_json() if self.flow else None, "invitation": self.invitation,
                "unit": self.unit, "unit_from_invitation": self.unit_from_invitation, "menu": self.menu,
                "recent": self.recent, "offer": self.offer}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "_Conv":
        return cls(last_seq=d["last_seq"], response_id=d.get("response_id"),
                   flow=FlowState.from_json(d["flow"]) if d.get("flow") else None, invitation=d.get("invitation"),
                   unit=d.get("unit"), unit_from_invitation=d.get("unit_from_invitation", False), menu=d.get("menu", []),
                   recent=d.get("recent", []), offer=d.get("offer"), from_cache=True)


@dataclass
class _Plan:
    outbounds: list[Outbound]
    flow: Flow | None = None
    result: StepResult | None = None
    new_response: bool = False
    invitation: str | None = None
    unit: str | None = None
    menu: list[str] | None = None
    offer: dict[str, Any] | None = None
    ticket: NewTicket | None = None


def flow_state_json(conv: _Conv) -> dict[str, Any]:
    fs = conv.flow
    if fs is None:
        return {"flow": None, "status": None, "question": None}
    return {"flow": fs.flow_id, "status": fs.status,
            "question": fs.current if fs.status == "in_progress" and fs.stage in ("question", "other") else None}


def disposition(fs: FlowState) -> str:
    if fs.status == "in_progress":
        return "partial" if fs.answers else "started"
    return fs.status


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


class ConversationService:
    def __init__(self, *, engine: AsyncEngine, state: StateStore, flows: FlowRegistry, dialogues: Dialogues,
                 units: UnitCatalogue, settings: Settings, clock: Callable[[], datetime] | None = None,
                 writer: MessageWriter | None = None, nlu: NluBackend | None = None) -> None:
        self.engine = engine
        self.writer = writer or SqlAlchemyWriter(engine)
        self.nlu = nlu
        self.state = state
        self.flows = flows
        self.dialogues = dialogues
        self.units = units
        self.settings = settings
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._dialect = engine.dialect.name
        self._secret = settings.effective_secret_key().encode()
        self._respondents: OrderedDict[tuple[str, str], str] = OrderedDict()

    # ---- respondents -------------------------------------------------------------------------

    def _key_hash(self, channel: str, key: str) -> str:
        return hmac.new(self._secret, f"{channel}\x00{key}".encode(), hashlib.sha256).hexdigest()

    async def respondent_id(self, channel: str, key: str) -> str:
        cache_key = (channel, key)
        rid = self._respondents.get(cache_key)
        if rid is not None:
            return rid
        key_hash = self._key_hash(channel, key)
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, respondents, {
                "id": _new_id("r"), "channel": channel, "key_hash": key_hash,
                "created_at": self._clock()}, ["channel", "key_hash"]))
            rid = (await conn.execute(select(respondents.c.id).where(
                and_(respondents.c.channel == channel, respondents.c.key_hash == key_hash)))).scalar_one()
        self._respondents[cache_key] = rid
        if len(self._respondents) > 200_000:
            self._respondents.popitem(last=False)
        return rid

    async def respondent_ids(self, channel: str, keys: list[str], *, now: datetime | None = None) -> dict[str, str]:
        """Platform id → respondent id for a whole batch, creating the missing respondents in ONE
        transaction (campaigns address thousands at once; one commit each would take minutes)."""
        hashes = {self._key_hash(channel, k): k for k in dict.fromkeys(keys)}
        if not hashes:
            return {}
        now = now or self._clock()
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, respondents, [
                {"id": _new_id("r"), "channel": channel, "key_hash": h, "created_at": now} for h in hashes],
                ["channel", "key_hash"]))
            rows = (await conn.execute(select(respondents.c.key_hash, respondents.c.id).where(and_(
                respondents.c.channel == channel, respondents.c.key_hash.in_(list(hashes)))))).all()
        return {hashes[r.key_hash]: r.id for r in rows}

    # ---- state -------------------------------------------------------------------------------

    async def _conv(self, rid: str) -> _Conv:
        cached = await self.state.get(rid)
        if cached is not None:
            return _Conv.from_json(cached)
        return await self._conv_from_db(rid)

    async def _conv_from_db(self, rid: str) -> _Conv:
        async with self.engine.connect() as conn:
            last_seq = (await conn.execute(select(func.max(outbox.c.seq)).where(outbox.c.respondent_id == rid))).scalar() or 0
            row = (await conn.execute(select(responses.c.id, responses.c.state, responses.c.invitation_code,
                                             responses.c.unit_code, responses.c.disposition)
                                      .where(responses.c.respondent_id == rid)
                                      .order_by(responses.c.updated_at.desc()).limit(1))).first()
            invited_unit = None
            if row is not None and row.invitation_code:
                invited_unit = (await conn.execute(select(invitations.c.unit_code).where(
                    invitations.c.code == row.invitation_code))).scalar_one_or_none()
        conv = _Conv(last_seq=last_seq)
        if row is not None:
            conv.response_id = row.id
            conv.flow = FlowState.from_json(row.state)
            conv.invitation = row.invitation_code
            conv.unit = row.unit_code
            conv.unit_from_invitation = invited_unit is not None
        return conv

    async def flow_state(self, rid: str) -> dict[str, Any]:
        return flow_state_json(await self._conv(rid))

    async def messages_after(self, rid: str, after: int, limit: int = 500) -> list[Outbound]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.seq, outbox.c.payload).where(
                and_(outbox.c.respondent_id == rid, outbox.c.seq > after)).order_by(outbox.c.seq).limit(limit))).all()
        return [replace(Outbound.from_json(r.payload), seq=r.seq) for r in rows]

    # ---- the one entry point -----------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> Reply:
        rid = await self.respondent_id(inbound.channel, inbound.respondent_key)
        async with self.state.hold(rid) as slot:
            conv = _Conv.from_json(slot.value) if slot.value is not None else await self._conv_from_db(rid)
            if inbound.message_id and (not conv.from_cache or inbound.message_id in conv.recent):
                stored = await self._stored_reply(rid, inbound.message_id)
                if stored is not None:
                    log("message.duplicate", respondent=rid, message=inbound.message_id, channel=inbound.channel)
                    return stored
            plan = await self._plan(conv, inbound)
            try:
                new_conv, sent = await self._commit(rid, conv, plan, inbound)
            except InvitationTaken:
                new_conv, sent = await self._commit(
                    rid, conv, _Plan([Outbound(self.dialogues.say("invitation_used"))]), inbound)
            except DuplicateMessage:
                # an older redelivery, or another process handled the same message id meanwhile
                slot.drop()
                stored = await self._stored_reply(rid, inbound.message_id) if inbound.message_id else None
                if stored is None:
                    raise
                return stored
            slot.save(new_conv.to_json(), ttl=STATE_TTL)
        log("message.handled", respondent=rid, channel=inbound.channel, message=inbound.message_id,
            flow=new_conv.flow.flow_id if new_conv.flow else None,
            question=new_conv.flow.current if new_conv.flow else None, replies=len(sent))
        return Reply(sent, flow_state_json(new_conv))

    async def push(self, rid: str, outbounds: list[Outbound]) -> list[Outbound]:
        """Messages the respondent did not ask for just now (an official's answer), in sequence with
        the rest of their chat; platform channels deliver them through the outbox."""
        async with self.state.hold(rid) as slot:
            conv = _Conv.from_json(slot.value) if slot.value is not None else await self._conv_from_db(rid)
            async with self.engine.connect() as conn:
                channel = (await conn.execute(select(respondents.c.channel).where(respondents.c.id == rid))).scalar_one()
            first = conv.last_seq + 1
            sent = [replace(o, seq=first + i) for i, o in enumerate(outbounds)]
            await self.writer.write(MessageWrite(
                respondent_id=rid, channel=channel, now=self._clock(),
                outbox=[OutboxRow(o.seq, o.to_json()) for o in sent],  # type: ignore[arg-type]
                outbox_status="sent" if channel in PULL_CHANNELS else "pending"))
            conv.last_seq = sent[-1].seq if sent else conv.last_seq  # type: ignore[assignment]
            slot.save(conv.to_json(), ttl=STATE_TTL)
        log("message.pushed", respondent=rid, channel=channel, messages=len(sent))
        return sent

    async def start_session(self, inbound: Inbound) -> Reply:
        """A new web session: start the requested flow, or greet and show the menu."""
        return await self.handle(replace(inbound, kind="start"))

    async def _stored_reply(self, rid: str, message_key: str) -> Reply | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(processed.c.first_seq, processed.c.last_seq, processed.c.flow_state).where(
                and_(processed.c.respondent_id == rid, processed.c.message_key == message_key)))).first()
            if row is None:
                return None
            rows = (await conn.execute(select(outbox.c.seq, outbox.c.payload).where(
                and_(outbox.c.respondent_id == rid, outbox.c.seq >= row.first_seq, outbox.c.seq <= row.last_seq))
                .order_by(outbox.c.seq))).all()
        return Reply([replace(Outbound.from_json(r.payload), seq=r.seq) for r in rows], row.flow_state, duplicate=True)

    # ---- deciding what to do -----------------------------------------------------------------

    def _env(self) -> Env:
        return Env(self.dialogues, self.units, self._clock(), self.settings.max_failed_attempts)

    async def _plan(self, conv: _Conv, inbound: Inbound) -> _Plan:
        d = self.dialogues
        active = conv.flow is not None and conv.flow.active
        flow = await self.flows.get(conv.flow.flow_id, conv.flow.flow_version) if active and conv.flow else None
        if active and flow is None:  # the flow version vanished: nothing sensible to continue
            active = False
        if inbound.kind == "start" or inbound.invitation or (inbound.flow and inbound.kind != "text"):
            return await self._start(conv, inbound, flow if active else None)
        if inbound.kind == "event":
            if inbound.text == "follow":
                return await self._menu(conv, [Outbound(d.say("welcome"))])
            return _Plan([])
        if inbound.kind == "media":
            prompt = reask(flow, conv.flow, self._env()) if active and flow and conv.flow else []
            return _Plan([Outbound(d.say("media_not_accepted"))] + prompt)
        text = inbound.text if inbound.kind == "text" else None
        if text is not None and len(text) > self.settings.max_text_length:
            prompt = reask(flow, conv.flow, self._env()) if active and flow and conv.flow else []
            return _Plan([Outbound(d.say("too_long_message", max=self.settings.max_text_length))] + prompt)
        if active and flow is not None and conv.flow is not None:
            result = step(flow, conv.flow, self._env(), text=text, choice=inbound.choice)
            if self.nlu and text and result.state.fails > conv.flow.fails and looks_like_question(text):
                asked = await self._question_in_survey(conv, flow, text, inbound)
                if asked is not None:
                    return asked
            return _Plan([], flow=flow, result=result)
        return await self._idle(conv, inbound)

    async def _idle(self, conv: _Conv, inbound: Inbound) -> _Plan:
        """Outside a survey: a menu pick or a flow's id starts it; anything else gets the menu."""
        d = self.dialogues
        choice = inbound.choice if isinstance(inbound.choice, str) else None
        if choice and choice.startswith(MENU_PREFIX):
            return await self._start(conv, replace(inbound, flow=choice[len(MENU_PREFIX):]), None)
        text = (inbound.text or "").strip()
        code = text.upper()
        if _CODE.fullmatch(code) and await self._invitation_exists(code):
            # a short code typed as the first message: how Zalo users (whose links carry no parameter) join
            return await self._start(conv, replace(inbound, invitation=code), None)
        documents = await document_search(self.engine, d, self.units, self.settings.base_url, text) if text else None
        if documents is not None:  # "tra cứu văn bản <keywords>": the reform documents database
            return _Plan(documents, offer=None)
        open_flows = await self.flows.open_flows(self._clock())
        by_id = {f.id: f for f in open_flows}
        typed_id = fold(text).replace(" ", "_")
        if typed_id in by_id:
            return await self._start(conv, replace(inbound, flow=typed_id), None)
        if _FLOW_ID.fullmatch(typed_id) and await self.flows.get(typed_id) is not None:
            # a published survey that is closed or not open yet: the polite answer a link to it gets
            # (an unpublished one is not revealed: the message goes on like any other text)
            return await self._start(conv, replace(inbound, flow=typed_id), None)
        if conv.menu and (text or choice):
            menu_flows = [by_id[f] for f in conv.menu if f in by_id]
            q = Question(key="_menu", type="single", text="", section="", number=0,
                         choices=tuple(ChoiceDef(f.id, f.title) for f in menu_flows))
            picked = parse_single(q, text=text, choice=choice) if menu_flows else None
            if isinstance(picked, Accepted):
                return await self._start(conv, replace(inbound, flow=picked.value), None)
        command = d.command(text) if text else None
        if (command and command[0] == "stop") or _says_stop(d, text):
            return await self._stop(inbound)
        if command and command[0] in ("menu", "help", "resume"):
            return await self._menu(conv, [])
        if self.nlu is not None and conv.offer and (text or choice):
            picked_plan = await self._offer_pick(conv, inbound, text, choice)
            if picked_plan is not None:
                return picked_plan
        if self.nlu is not None and text:
            return await self._understand(conv, inbound, text)
        return await self._menu(conv, [Outbound(d.say("not_understood"))] if text else [Outbound(d.say("welcome"))])

    # ---- questions and answers ---------------------------------------------------------------

    async def _understand(self, conv: _Conv, inbound: Inbound, text: str) -> _Plan:
        """Free text outside a survey: an intent, an official answer, a "did you mean", or officials."""
        assert self.nlu is not None
        d = self.dialogues
        if conv.offer and conv.offer.get("official"):
            return self._forward(conv, inbound, text, None, [], "forwarded")
        u = await self.nlu.understand(text, unit=conv.unit)
        log("nlu.understood", channel=inbound.channel, message=inbound.message_id, intent=u.intent,
            confidence=round(u.confidence, 3), answer=u.answer_id, escalate=u.escalate)
        if u.answer:
            return _Plan(self._answer_messages(u), offer=None)
        if u.intent == "greeting":
            return await self._menu(conv, [Outbound(d.say("welcome"))])
        if u.intent in ("help", "start_survey", "give_opinion"):
            return await self._menu(conv, [])
        if u.intent == "thanks":
            return _Plan([Outbound(d.say("thanks_reply"))], offer=None)
        if u.intent == "stop":
            return await self._stop(inbound)
        if u.intent == "talk_to_official" and not looks_like_question(text) and len(text.split()) <= 8:
            return _Plan([Outbound(d.say("talk_to_official"))], offer={"official": True})
        if u.intent == "complaint":
            return self._forward(conv, inbound, text, u, list(u.candidates), "complaint_received")
        if u.candidates and u.intent in ("ask_question", "none"):
            picks = list(u.candidates[:3])
            choices = tuple(Choice(f"{KB_PREFIX}{c.answer_id}", c.question) for c in picks)
            choices += (Choice(f"{KB_PREFIX}{NONE_ID}", d.say("did_you_mean_none")),)
            return _Plan([Outbound(d.say("did_you_mean"), InputSpec("choice", choices))],
                         offer={"text": text, "ids": [c.answer_id for c in picks]})
        if u.escalate or u.intent in ("ask_question", "talk_to_official") or looks_like_question(text):
            return self._forward(conv, inbound, text, u, list(u.candidates), "forwarded")
        return await self._menu(conv, [Outbound(d.say("not_understood"))])

    async def _offer_pick(self, conv: _Conv, inbound: Inbound, text: str, choice: str | None) -> _Plan | None:
        assert self.nlu is not None and conv.offer is not None
        ids = list(conv.offer.get("ids") or [])
        if not ids:
            return None
        q = Question(key="_offer", type="single", text="", section="", number=0,
                     choices=tuple(ChoiceDef(f"{KB_PREFIX}{i}", str(n)) for n, i in enumerate(ids, 1))
                     + (ChoiceDef(f"{KB_PREFIX}{NONE_ID}", self.dialogues.say("did_you_mean_none")),))
        picked = parse_single(q, text=text, choice=choice)
        if not isinstance(picked, Accepted):
            return None  # a new question instead of a pick
        answer_id = str(picked.value)[len(KB_PREFIX):]
        if answer_id == NONE_ID:
            return self._forward(conv, inbound, conv.offer.get("text") or text, None, [], "forwarded")
        u = await self.nlu.entry(answer_id)
        if u is None or not u.answer:
            return self._forward(conv, inbound, conv.offer.get("text") or text, None, [], "forwarded")
        log("nlu.offer_picked", channel=inbound.channel, message=inbound.message_id, answer=answer_id)
        return _Plan(self._answer_messages(u), offer=None)

    async def _question_in_survey(self, conv: _Conv, flow: Flow, text: str, inbound: Inbound) -> _Plan | None:
        """A question typed instead of an answer: answer it (or forward it), then ask again."""
        assert self.nlu is not None and conv.flow is not None
        u = await self.nlu.understand(text, unit=conv.unit)
        again = [Outbound(self.dialogues.say("continue_survey"))] + reask(flow, conv.flow, self._env())
        if u.answer:
            return _Plan(self._answer_messages(u, more=False) + again)
        if u.intent in ("ask_question", "talk_to_official", "complaint") and u.escalate:
            plan = self._forward(conv, inbound, text, u, list(u.candidates), "forwarded")
            return replace(plan, outbounds=plan.outbounds + again)
        return None

    def _answer_messages(self, u: Understanding, more: bool = True) -> list[Outbound]:
        out = [Outbound(u.answer or "")]
        if more:
            out.append(Outbound(self.dialogues.say("answer_more")))
        return out

    def _forward(self, conv: _Conv, inbound: Inbound, text: str, u: Understanding | None,
                 candidates: list[Candidate], phrase: str) -> _Plan:
        ticket = NewTicket(_new_id("q"), text[:4000], conv.unit or (u.unit if u else None), u.topic if u else None,
                           [c.to_json() for c in candidates[:5]], inbound.message_id)
        log("qa.forwarded", channel=inbound.channel, message=inbound.message_id, ticket=ticket.id,
            unit=ticket.unit_code, topic=ticket.topic)
        return _Plan([Outbound(self.dialogues.say(phrase))], offer=None, ticket=ticket)

    async def _stop(self, inbound: Inbound) -> _Plan:
        """STOP outside a survey: campaigns that wrote to this person send no more reminders."""
        rid = await self.respondent_id(inbound.channel, inbound.respondent_key)
        stopped = await opt_out_respondent(self.engine, rid, self._clock())
        return _Plan([Outbound(self.dialogues.say("stop_opted_out" if stopped else "stop_idle"))], offer=None)

    async def _invitation_exists(self, code: str) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(invitations.c.code).where(invitations.c.code == code))).first() is not None

    async def _menu(self, conv: _Conv, before: list[Outbound]) -> _Plan:
        d = self.dialogues
        listed = [f for f in await self.flows.open_flows(self._clock()) if f.settings.listed]
        if not listed:
            return _Plan(before + [Outbound(d.say("no_open_surveys"))], menu=[])
        choices = tuple(Choice(MENU_PREFIX + f.id, f.title) for f in listed)
        return _Plan(before + [Outbound(d.say("menu"), InputSpec("choice", choices))], menu=[f.id for f in listed])

    async def _start(self, conv: _Conv, inbound: Inbound, active_flow: Flow | None) -> _Plan:
        d = self.dialogues
        env = self._env()
        context = dict(inbound.context)
        unit = None
        flow_id = inbound.flow
        code = (inbound.invitation or "").strip() or None
        if code:
            async with self.engine.connect() as conn:
                inv = (await conn.execute(select(invitations).where(invitations.c.code == code))).first()
            if inv is None or (inv.expires_at is not None and _aware(inv.expires_at) < env.now):
                return _Plan([Outbound(d.say("invitation_unknown"))])
            if inv.response_id and inv.response_id != conv.response_id:
                return _Plan([Outbound(d.say("invitation_used"))])
            flow_id, unit = inv.flow_id, inv.unit_code
            context = {**(inv.context or {}), **context}
        if active_flow is not None and conv.flow is not None:
            if flow_id in (None, active_flow.id) and (code is None or code == conv.invitation):
                return _Plan([Outbound(d.say("resumed"))] + reask(active_flow, conv.flow, env))
            return _Plan([Outbound(d.say("already_active", title=active_flow.title))] + reask(active_flow, conv.flow, env))
        if not flow_id:
            return await self._menu(conv, [Outbound(d.say("welcome"))])
        flow, refusal = await self.flows.for_start(flow_id, env.now, context=context,
                                                   preview=inbound.channel == "preview")
        if refusal is not None or flow is None:  # unpublished, not open yet, closed (in-progress ones never get here)
            return _Plan([Outbound(d.say(refusal.phrase, **refusal.params) if refusal else d.say("unknown_flow"))])
        if code is None and flow.settings.one_response_per == "invitation" and not flow.settings.listed:
            return _Plan([Outbound(d.say("invitation_unknown"))])
        if flow.settings.one_response_per == "respondent" and await self._has_completed(conv, flow.id):
            return _Plan([Outbound(d.say("already_completed"))])
        for param in flow.context:
            value = context.get(param.key)
            if (param.required and not value) or (value and param.pattern and not re.fullmatch(param.pattern, value)):
                return _Plan([Outbound(d.say("context_missing", label=param.label or param.key))])
        context = {p.key: context[p.key] for p in flow.context if context.get(p.key)}
        return _Plan([], flow=flow, result=start(flow, env, context=context), new_response=True, invitation=code, unit=unit)

    async def _has_completed(self, conv: _Conv, flow_id: str) -> bool:
        if conv.flow and conv.flow.flow_id == flow_id and conv.flow.status == "completed":
            return True
        return False

    # ---- storing -----------------------------------------------------------------------------

    async def _commit(self, rid: str, conv: _Conv, plan: _Plan, inbound: Inbound) -> tuple[_Conv, list[Outbound]]:
        now = self._clock()
        new = _Conv(last_seq=conv.last_seq, response_id=conv.response_id, flow=conv.flow, invitation=conv.invitation,
                    unit=conv.unit, unit_from_invitation=conv.unit_from_invitation,
                    menu=plan.menu if plan.menu is not None else ([] if plan.result or plan.offer else conv.menu),
                    recent=conv.recent, offer=plan.offer)  # an offer is answered by the very next message, or dropped
        w = MessageWrite(respondent_id=rid, channel=inbound.channel, now=now, ticket=plan.ticket,
                         outbox_status="sent" if inbound.channel in PULL_CHANNELS else "pending")
        outbounds = list(plan.outbounds)
        if plan.result is not None and plan.flow is not None:
            result, flow = plan.result, plan.flow
            outbounds = outbounds + result.outbounds
            fs = result.state
            if plan.new_response:
                new.response_id = _new_id("s")
                new.invitation = plan.invitation
                new.unit, new.unit_from_invitation = plan.unit, plan.unit is not None
                w.new_response = NewResponse(new.response_id, flow.id, flow.version, inbound.channel, plan.unit,
                                             plan.invitation, inbound.channel == "preview")
            assert new.response_id is not None
            for eff in result.effects:
                if isinstance(eff, AnswerSet):
                    w.answers_set[eff.key] = eff.value
                    if eff.key in w.answers_cleared:
                        w.answers_cleared.remove(eff.key)
                    if not new.unit_from_invitation and flow.has_question(eff.key) and flow.question(eff.key).type == "unit":
                        new.unit = eff.value
                elif isinstance(eff, AnswerCleared):
                    w.answers_set.pop(eff.key, None)
                    if eff.key not in w.answers_cleared:
                        w.answers_cleared.append(eff.key)
            w.response = ResponseState(new.response_id, disposition(fs), fs.to_json(), fs.context or None, new.unit,
                                       fs.status == "completed")
            new.flow = fs
        first = new.last_seq + 1
        sent = [replace(o, seq=first + i) for i, o in enumerate(outbounds)]
        if sent:
            w.outbox = [OutboxRow(o.seq, o.to_json()) for o in sent]  # type: ignore[arg-type]
            new.last_seq = sent[-1].seq  # type: ignore[assignment]
        if inbound.message_id:
            new.recent = (conv.recent + [inbound.message_id])[-20:]
            w.processed = Processed(inbound.message_id, first, new.last_seq, flow_state_json(new))
        await self.writer.write(w)
        return new, sent


def looks_like_question(text: str) -> bool:
    """A question mark or a Vietnamese question phrase (with or without diacritics)."""
    return "?" in text or bool(_QUESTION_WORDS.search(fold(text)))


def _says_stop(d: Dialogues, text: str) -> bool:
    """The opt-out words compared WITH diacritics: folded, "dừng" would also be "đúng" and "dùng"."""
    said = unicodedata.normalize("NFC", text).strip().lower().rstrip(".!")
    return said in {unicodedata.normalize("NFC", w).strip().lower() for w in d.say("opt_out_words").split("|")}


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
