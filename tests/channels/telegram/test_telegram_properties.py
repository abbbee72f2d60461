"""Properties: parsing never fails with anything but TelegramParseError, whatever arrives; rendered
callback data always fits and always decodes back."""
from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.messages import Choice, InputSpec, Outbound
from channels.telegram import TelegramParseError, decode_callback, parse_update, render
from fakes.telegram import blocked_update, callback_update, message_update, photo_update, text_update

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=25)
keys = st.sampled_from(["update_id", "message", "edited_message", "callback_query", "my_chat_member", "chat",
                        "id", "type", "text", "date", "from", "data", "message_id", "photo", "caption",
                        "new_chat_member", "status", "reply_markup", "inline_keyboard"]) | st.text(max_size=10)
jsonish = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(keys, inner, max_size=6), max_leaves=40)

VALID = [
    text_update(42, "Hài lòng", update_id=1), text_update(42, "/start ABC", update_id=2),
    text_update(-100, "hi", update_id=3, chat_type="group"), photo_update(42, caption="ảnh", update_id=4),
    callback_update(42, "c:yes", update_id=5), callback_update(42, "h:" + "A" * 22, update_id=6),
    blocked_update(42, update_id=7), message_update(42, {"sticker": {"file_id": "a"}}, update_id=8),
    {"update_id": 9, "edited_message": text_update(42, "x")["message"]},
]


def check(data: Any) -> None:
    try:
        inbounds = parse_update(data)
    except TelegramParseError:
        return
    assert isinstance(inbounds, list) and len(inbounds) <= 1
    for inbound in inbounds:
        assert inbound.channel == "telegram"
        assert inbound.message_id == f"telegram:{data['update_id']}"
        assert re.fullmatch(r"-?\d+", inbound.respondent_key)
        assert inbound.kind in ("text", "choice", "start", "media", "event")
        if inbound.invitation is not None:
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", inbound.invitation)


@SETTINGS
@given(jsonish | st.dictionaries(keys, jsonish, max_size=6))
def test_arbitrary_json_only_raises_parse_errors(data: Any) -> None:
    check(data)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, prefix + (i,))
    return out


@SETTINGS
@given(st.data())
def test_damaged_real_updates_only_raise_parse_errors(data: st.DataObject) -> None:
    update = copy.deepcopy(data.draw(st.sampled_from(VALID)))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(update)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = update
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    check(update)


@SETTINGS
@given(st.text(max_size=200))
def test_any_typed_text_parses(text: str) -> None:
    check(text_update(42, text, update_id=10))


@SETTINGS
@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=12, unique=True))
def test_callback_data_always_fits_and_round_trips(ids: list[str]) -> None:
    choices = tuple(Choice(i, f"Lựa chọn {n}") for n, i in enumerate(ids, 1))
    [payload] = render(Outbound("?", InputSpec("choice", choices)))
    data = [b["callback_data"] for row in payload["reply_markup"]["inline_keyboard"] for b in row]
    assert all(1 <= len(d.encode("utf-8")) <= 64 for d in data)
    assert [decode_callback(d, choices) for d in data] == ids
    for d, i in zip(data, ids):
        inbound = parse_update(callback_update(42, d, update_id=11))[0]
        assert inbound.choice == (i if d.startswith("c:") else d)
