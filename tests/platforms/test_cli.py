"""The operator's commands for platforms: status, Telegram webhook registration, failed messages."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from fakes.telegram import TOKEN, FakeTelegram

from bot.settings import REPO_ROOT


async def test_telegram_webhook_is_registered_with_the_secret() -> None:
    async with FakeTelegram() as tg:
        env = {**os.environ, "HAILONG_TELEGRAM_TOKEN": TOKEN, "HAILONG_TELEGRAM_SECRET": "s3cret-token_1",
               "HAILONG_TELEGRAM_API_BASE": tg.url, "HAILONG_PUBLIC_URL": "https://hailong.example.gov.vn"}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "platforms", "telegram-webhook",
                                                    cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert tg.webhook["url"] == "https://hailong.example.gov.vn/webhooks/telegram"
        assert tg.webhook["secret_token"] == "s3cret-token_1"


def test_status_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "platforms", "status"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "telegram\toff\tneeds HAILONG_TELEGRAM_TOKEN" in out
