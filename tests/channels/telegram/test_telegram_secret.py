"""The webhook secret header: only a request carrying exactly our secret is accepted."""
from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from channels.telegram import HEADER, valid_secret, verify

SECRET = "s3cr3t_Token-for-hailong"


def test_header_name_is_the_bot_api_one() -> None:
    assert HEADER == "X-Telegram-Bot-Api-Secret-Token"


def test_matching_header_is_accepted() -> None:
    assert verify({"X-Telegram-Bot-Api-Secret-Token": SECRET}, SECRET)


def test_header_name_is_case_insensitive_for_aiohttp_and_plain_dicts() -> None:
    assert verify(CIMultiDictProxy(CIMultiDict({"x-telegram-bot-api-secret-token": SECRET})), SECRET)
    assert verify({"x-telegram-bot-api-secret-token": SECRET}, SECRET)


def test_missing_header_is_rejected() -> None:
    assert not verify({}, SECRET)
    assert not verify({"Content-Type": "application/json"}, SECRET)


@pytest.mark.parametrize("sent", ["", "wrong", SECRET[:-1], SECRET + "x", SECRET.upper(), " " + SECRET])
def test_wrong_header_is_rejected(sent: str) -> None:
    assert not verify({HEADER: sent}, SECRET)


@pytest.mark.parametrize("configured", ["", "has space", "ümlaut", "x" * 257])
def test_an_unusable_configured_secret_rejects_everything(configured: str) -> None:
    assert not verify({HEADER: configured}, configured)


@pytest.mark.parametrize("secret", ["a", "A-Z_a-z-0-9", "x" * 256])
def test_valid_secrets(secret: str) -> None:
    assert valid_secret(secret)


@pytest.mark.parametrize("secret", ["", "x" * 257, "a b", "a/b", "a+b", "a=b", "đ", None, 123])
def test_invalid_secrets(secret: object) -> None:
    assert not valid_secret(secret)
