"""The webhook signature: only a body signed with the OA secret key gets through."""
from __future__ import annotations

import hashlib
import json

from multidict import CIMultiDict

from channels.zalo import SIGNATURE_HEADER, sign, verify

KEY = "oa-secret-key-123"
BODY = json.dumps({
    "app_id": "1496501574123456789", "user_id_by_app": "5510736513123456789", "event_name": "user_send_text",
    "timestamp": "1741248000123", "sender": {"id": "2468458835296117922"},
    "recipient": {"id": "4318253617123456789"}, "message": {"text": "Xin chào", "msg_id": "cb31dff1c39642cc1b83"},
}, ensure_ascii=False).encode()


def test_signature_matches_the_published_recipe() -> None:
    expected = hashlib.sha256(b"1496501574123456789" + BODY + b"1741248000123" + KEY.encode()).hexdigest()
    assert sign(BODY, KEY) == f"mac={expected}"


def test_good_signature_passes() -> None:
    assert verify({SIGNATURE_HEADER: sign(BODY, KEY)}, BODY, KEY)


def test_header_name_is_case_insensitive_in_plain_and_multidict_headers() -> None:
    value = sign(BODY, KEY)
    assert verify({"x-zevent-signature": value}, BODY, KEY)
    assert verify(CIMultiDict({"X-ZEVENT-SIGNATURE": value}), BODY, KEY)


def test_uppercase_hex_passes() -> None:
    value = sign(BODY, KEY)
    assert verify({SIGNATURE_HEADER: "mac=" + value[4:].upper()}, BODY, KEY)


def test_missing_header_fails() -> None:
    assert not verify({}, BODY, KEY)


def test_wrong_key_fails() -> None:
    assert not verify({SIGNATURE_HEADER: sign(BODY, "another-key")}, BODY, KEY)


def test_tampered_body_fails() -> None:
    tampered = BODY.replace("Xin chào".encode(), "Tạm biệt".encode())
    assert tampered != BODY
    assert not verify({SIGNATURE_HEADER: sign(BODY, KEY)}, tampered, KEY)


def test_reserialized_body_fails_because_the_raw_bytes_are_signed() -> None:
    reserialized = json.dumps(json.loads(BODY)).encode()  # \\u escapes instead of UTF-8
    assert not verify({SIGNATURE_HEADER: sign(BODY, KEY)}, reserialized, KEY)


def test_garbled_headers_fail() -> None:
    mac = sign(BODY, KEY)[4:]
    for value in (mac, "sha256=" + mac, "mac=", "mac=zz" + mac[2:], "mac=" + mac[:-1], "mac=" + mac + "00",
                  "mac=ø" + mac[1:]):
        assert not verify({SIGNATURE_HEADER: value}, BODY, KEY), value


def test_body_without_app_id_or_timestamp_fails() -> None:
    for body in (b"", b"not json", b"[1, 2]", json.dumps({"app_id": "1"}).encode(),
                 json.dumps({"timestamp": "1"}).encode(), json.dumps({"app_id": None, "timestamp": "1"}).encode()):
        forged = "mac=" + hashlib.sha256(body + KEY.encode()).hexdigest()
        assert not verify({SIGNATURE_HEADER: forged}, body, KEY)


def test_numeric_app_id_and_timestamp_are_signed_as_their_digits() -> None:
    body = json.dumps({"app_id": 1496501574123456789, "timestamp": 1741248000123, "event_name": "follow"}).encode()
    expected = hashlib.sha256(b"1496501574123456789" + body + b"1741248000123" + KEY.encode()).hexdigest()
    assert verify({SIGNATURE_HEADER: f"mac={expected}"}, body, KEY)


def test_empty_secret_key_never_verifies() -> None:
    assert not verify({SIGNATURE_HEADER: sign(BODY, "")}, BODY, "")
