"""Builds the application's services from a settings object; used by the server and the CLI."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from .conversation import ConversationService
from .dialogues import Dialogues, load_dialogues
from .inbox import Inbox
from .nlu import NluBackend
from .sealing import Sealer
from .settings import Settings
from .state import StateStore, open_state_store
from .store.db import create_engine_async
from .store.flows_repo import FlowRegistry
from .store.sa_writer import SqlAlchemyWriter
from .store.writes import MessageWriter
from .units import UnitCatalogue


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    state: StateStore
    flows: FlowRegistry
    dialogues: Dialogues
    units: UnitCatalogue
    conversation: ConversationService
    writer: MessageWriter
    inbox: Inbox
    nlu: NluBackend
    sealer: Sealer

    async def close(self) -> None:
        await self.inbox.close()
        await self.nlu.close()
        await self.writer.close()
        await self.state.close()
        await self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = create_engine_async(settings.effective_database_url)
    state = open_state_store(settings.redis_url, settings.redis_prefix)
    flows = FlowRegistry(engine)
    dialogues = load_dialogues(settings.dialogues_dir)
    units = UnitCatalogue.load(settings.units_dir)
    writer = _writer(engine, settings)
    nlu = _nlu(engine, settings)
    conversation = ConversationService(engine=engine, state=state, flows=flows, dialogues=dialogues, units=units,
                                       settings=settings, writer=writer, nlu=nlu)
    sealer = Sealer.from_settings(settings.data_key, settings.effective_secret_key())
    inbox = Inbox(engine=engine, conversation=conversation, sealer=sealer)
    return Services(settings, engine, state, flows, dialogues, units, conversation, writer, inbox, nlu, sealer)


def _nlu(engine: AsyncEngine, settings: Settings) -> NluBackend:
    """The built-in backend, or Rasa for intents with the built-in one for official answers (and
    for everything while Rasa is unreachable)."""
    from .nlu.builtin import BuiltinNlu

    builtin = BuiltinNlu(engine, settings.nlu_dir)
    if settings.nlu_backend == "builtin":
        return builtin
    if settings.nlu_backend == "rasa":
        from .nlu.rasa import RasaNlu

        return RasaNlu(settings.rasa_url, fallback=builtin)
    raise ValueError(f"HAILONG_NLU_BACKEND must be builtin or rasa, not {settings.nlu_backend!r}")


def _writer(engine: AsyncEngine, settings: Settings) -> MessageWriter:
    portable = SqlAlchemyWriter(engine)
    if engine.dialect.name != "postgresql":
        return portable
    from .store.pg_writer import AsyncpgWriter

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return AsyncpgWriter(dsn, portable)
