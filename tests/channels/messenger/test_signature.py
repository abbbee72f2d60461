"""Webhook authentication: X-Hub-Signature-256 over the raw bytes, and the GET handshake."""
from __future__ import annotations

import hashlib
import hmac

from channels.messenger import sign, verify, verify_subscription

APP_SECRET = "app-secret-for-tests"
BODY = b'{"object":"page","entry":[{"id":"1","time":1,"messaging":[]}]}'


def test_good_signature_verifies() -> None:
    assert verify({"X-Hub-Signature-256": sign(BODY, APP_SECRET)}, BODY, APP_SECRET)


def test_signature_is_hmac_sha256_of_the_raw_body_with_the_app_secret() -> None:
    expected = hmac.new(APP_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, APP_SECRET) == f"sha256={expected}"
    assert verify({"x-hub-signature-256": f"sha256={expected.upper()}"}, BODY, APP_SECRET)


def test_bad_signature_is_rejected() -> None:
    assert not verify({"X-Hub-Signature-256": sign(BODY, "another-secret")}, BODY, APP_SECRET)
    assert not verify({"X-Hub-Signature-256": sign(BODY, APP_SECRET)}, BODY + b" ", APP_SECRET)
    assert not verify({"X-Hub-Signature-256": "sha256=zz"}, BODY, APP_SECRET)
    assert not verify({"X-Hub-Signature-256": sign(BODY, APP_SECRET)[len("sha256="):]}, BODY, APP_SECRET)
    assert not verify({"X-Hub-Signature-256": "sha256=đ" + "0" * 63}, BODY, APP_SECRET)


def test_missing_signature_is_rejected() -> None:
    assert not verify({}, BODY, APP_SECRET)
    assert not verify({"X-Hub-Signature-256": ""}, BODY, APP_SECRET)


def test_sha1_signature_alone_is_not_enough() -> None:
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert not verify({"X-Hub-Signature": sha1}, BODY, APP_SECRET)
    assert not verify({"X-Hub-Signature-256": sha1}, BODY, APP_SECRET)


def test_empty_app_secret_never_verifies() -> None:
    assert not verify({"X-Hub-Signature-256": sign(BODY, "")}, BODY, "")


def test_subscription_handshake_returns_the_challenge() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "vt-123", "hub.challenge": "1158201444"}
    assert verify_subscription(query, "vt-123") == "1158201444"


def test_subscription_with_wrong_token_is_refused() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"}
    assert verify_subscription(query, "vt-123") is None
    assert verify_subscription({"hub.mode": "subscribe", "hub.challenge": "1"}, "vt-123") is None
    assert verify_subscription({**query, "hub.verify_token": ""}, "") is None


def test_subscription_with_wrong_mode_is_refused() -> None:
    query = {"hub.mode": "unsubscribe", "hub.verify_token": "vt-123", "hub.challenge": "1158201444"}
    assert verify_subscription(query, "vt-123") is None
    assert verify_subscription({"hub.verify_token": "vt-123", "hub.challenge": "1"}, "vt-123") is None
