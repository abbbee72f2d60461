"""Mounts the chat platforms whose credentials are configured, and runs the outbox sender.

A platform without credentials is off: its webhook does not exist (404) and nothing is sent to it.
The sender here sends at once what this process's inbox wrote; the periodic sweeps (due retries,
pending inbox events) are jobs (``bot.jobs``), started by the composition root, which finds the
sender under ``SENDER``. Pacing is shared through Redis when it is configured.
"""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from bot.inbox import Inbox
from bot.jobs.pacing import open_pacer
from bot.logs import log
from bot.messages import Inbound
from bot.services import Services
from bot.store.outbox_repo import OutboxRepo
from bot.settings import Settings

from .base import PlatformChannel
from .outbox_sender import OutboxSender
from .webhooks import Webhook, webhook_handler

SENDER = web.AppKey("outbox_sender", OutboxSender)


def enabled_platforms(settings: Settings) -> list[str]:
    return [name for name, on in (("zalo", settings.zalo_enabled), ("messenger", settings.messenger_enabled),
                                  ("telegram", settings.telegram_enabled)) if on]


def setup_platforms(app: web.Application, settings: Settings, services: Callable[[], Services], *,
                    background: bool = True) -> None:
    def inbox() -> Inbox:
        return services().inbox

    if settings.zalo_enabled:
        from . import zalo

        app.router.add_post("/webhooks/zalo", webhook_handler(Webhook(
            "zalo", lambda h, b: zalo.verify(h, b, settings.zalo_oa_secret_key), zalo.parse_event,
            zalo.ZaloParseError), inbox, settings.shed_inbox_delay))
    if settings.messenger_enabled:
        from . import messenger

        async def subscribe(request: web.Request) -> web.Response:
            challenge = messenger.verify_subscription(request.query, settings.messenger_verify_token)
            if challenge is None:
                log("webhook.rejected", level=30, channel="messenger", reason="verify_token")
                return web.Response(status=403, text="forbidden")
            return web.Response(text=challenge)

        app.router.add_get("/webhooks/messenger", subscribe)
        app.router.add_post("/webhooks/messenger", webhook_handler(Webhook(
            "messenger", lambda h, b: messenger.verify(h, b, settings.messenger_app_secret),
            messenger.parse_webhook, messenger.MessengerParseError, reject_status=403), inbox,
            settings.shed_inbox_delay))
    telegram_channel = None
    if settings.telegram_enabled:
        from . import telegram
        from .telegram.channel import TelegramChannel

        telegram_channel = TelegramChannel(telegram.TelegramSender(
            settings.telegram_token, base_url=f"{settings.telegram_api_base.rstrip('/')}/bot"))
        pending: set[asyncio.Task[None]] = set()

        async def answer_taps(events: list[Inbound]) -> None:
            # Telegram shows a spinner until a button tap is answered; do it without delaying the 200
            task = asyncio.create_task(telegram_channel.answer_callbacks(events))
            pending.add(task)
            task.add_done_callback(pending.discard)

        app.router.add_post("/webhooks/telegram", webhook_handler(Webhook(
            "telegram", lambda h, b: telegram.verify(h, settings.telegram_secret), telegram.parse_body,
            telegram.TelegramParseError, after=answer_taps), inbox, settings.shed_inbox_delay))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as http:
            svc = services()
            channels = await build_channels(settings, svc, http)
            if telegram_channel is not None:
                channels["telegram"] = telegram_channel
            pacer = open_pacer(settings.redis_url, settings.redis_prefix)
            sender = OutboxSender(repo=OutboxRepo(svc.engine, svc.sealer), channels=channels, max_attempts=settings.send_max_attempts,
                                  backoff=settings.send_backoff_seconds, user_pacing=settings.send_user_pacing,
                                  pacer=pacer)
            app[SENDER] = sender
            svc.inbox.on_outbox = sender.wake
            tasks = [asyncio.create_task(sender.run())] if background else []
            try:
                yield
            finally:
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
                await svc.inbox.drain()
                for ch in channels.values():
                    await ch.close()
                await pacer.close()

    app.cleanup_ctx.append(lifecycle)


async def build_channels(settings: Settings, services: Services, http: aiohttp.ClientSession) -> dict[str, PlatformChannel]:
    channels: dict[str, PlatformChannel] = {}
    if settings.zalo_enabled:
        from .zalo import TokenPair, ZaloClient
        from .zalo.channel import ZaloChannel
        from .zalo.db_tokens import DbTokenStore

        store = DbTokenStore(services.engine)
        if await store.load() is None and settings.zalo_refresh_token:
            # first start: seed the pair from the environment; later refreshes live in the database
            expires = datetime.now(timezone.utc) + (timedelta(hours=1) if settings.zalo_access_token else timedelta(0))
            await store.replace(None, TokenPair(settings.zalo_access_token or "-", settings.zalo_refresh_token, expires))
        channels["zalo"] = ZaloChannel(ZaloClient(app_id=settings.zalo_app_id, app_secret=settings.zalo_app_secret,
                                                  tokens=store, session=http, base_url=settings.zalo_api_base,
                                                  oauth_url=settings.zalo_oauth_base))
    if settings.messenger_enabled:
        from .messenger import MessengerClient
        from .messenger.channel import MessengerChannel

        channels["messenger"] = MessengerChannel(MessengerClient(
            settings.messenger_page_token, session=http, graph_url=settings.messenger_api_base,
            api_version=settings.messenger_api_version))
    return channels
