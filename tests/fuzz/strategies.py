"""Webhook bodies for fuzzing: well-formed events of each platform, and the same events damaged.

Random JSON alone rarely gets past the first check of a parser, so most bodies here start from a
well-formed event (the shapes the platforms document, as the fakes build them) and damage one
place: a field removed, replaced by any JSON value, by a huge or odd unicode string, or nested
deeply. That reaches the checks deep inside each parser, where a forgotten type test would raise.
"""
from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from hypothesis import strategies as st

from fakes.telegram import callback_update, photo_update, text_update

ZALO_APP_ID = "1496501574123456789"
ZALO_OA_ID = "4318253617123456789"
PAGE = "1067280970047460"

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
# what people type, including NUL, control characters, emoji, combining marks and RTL text
texts = st.text(min_size=1, max_size=200) | st.sampled_from([
    "Hài lòng", "\x00", "a\x00b", "\u202eabc", "🙂" * 50, "e\u0301" * 40, "\ud7ff", "choice:", "choice:1",
    "/start", "/start abc_DEF-123", " ", "\n\t"])
huge = st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "ạ", "🙂", "\x00", "9"]),
                 st.integers(min_value=200, max_value=20_000))
digits = st.text(alphabet="0123456789", min_size=15, max_size=19).filter(lambda s: s[0] != "0")
_serial = itertools.count(1)  # message ids unique across examples (shrinking makes drawn ones collide)
odd_values = json_values | huge | st.just(float("1e308")) | st.builds(lambda n: [[[[n]]]] * 3, st.integers())


@st.composite
def zalo_event(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(["user_send_text", "user_click_button", "user_send_image", "follow", "unfollow",
                                 "user_submit_info", "oa_send_text", "user_seen_message"]))
    user = draw(digits)
    event: dict[str, Any] = {"app_id": ZALO_APP_ID, "user_id_by_app": draw(digits), "event_name": name,
                             "timestamp": str(draw(st.integers(min_value=1_600_000_000_000, max_value=2_000_000_000_000)))}
    if name in ("follow", "unfollow"):
        event.update(oa_id=ZALO_OA_ID, follower={"id": user}, source="oa_profile")
        return event
    event.update(sender={"id": user}, recipient={"id": ZALO_OA_ID})
    msg_id = draw(st.text(alphabet="0123456789abcdef", min_size=20, max_size=24)) + f"{next(_serial):08x}"
    if name == "user_submit_info":
        event["info"] = {"name": draw(texts), "phone": "0912345678", "address": draw(texts)}
    elif name == "user_send_image":
        event["message"] = {"msg_id": msg_id, "text": draw(texts),
                            "attachments": [{"type": "image", "payload": {"url": "https://zalo.me/i.jpg"}}]}
    else:
        event["message"] = {"msg_id": msg_id, "text": draw(texts)}
    return event


@st.composite
def messenger_body(draw: st.DrawFn) -> dict[str, Any]:
    items = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        item: dict[str, Any] = {"sender": {"id": draw(digits)}, "recipient": {"id": PAGE},
                                "timestamp": draw(st.integers(min_value=1_600_000_000_000, max_value=2_000_000_000_000))}
        mid = "m_" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=10, max_size=40)) + str(next(_serial))
        kind = draw(st.sampled_from(["text", "quick_reply", "postback", "referral", "image", "echo", "read"]))
        if kind == "text":
            item["message"] = {"mid": mid, "text": draw(texts)}
        elif kind == "quick_reply":
            item["message"] = {"mid": mid, "text": draw(texts), "quick_reply": {"payload": draw(texts)}}
        elif kind == "postback":
            item["postback"] = {"mid": mid, "title": draw(texts), "payload": draw(texts)}
        elif kind == "referral":
            item["referral"] = {"ref": draw(texts), "source": "SHORTLINK", "type": "OPEN_THREAD"}
        elif kind == "image":
            item["message"] = {"mid": mid, "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}
        elif kind == "echo":
            item["message"] = {"mid": mid, "is_echo": True, "text": draw(texts)}
        else:
            item["read"] = {"watermark": item["timestamp"]}
        items.append(item)
    return {"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000_000, "messaging": items}]}


@st.composite
def telegram_update(draw: st.DrawFn) -> dict[str, Any]:
    chat = draw(st.integers(min_value=1, max_value=2**52))
    update_id = draw(st.integers(min_value=1, max_value=2**31)) * 1000 + next(_serial) % 1000
    kind = draw(st.sampled_from(["text", "callback", "photo"]))
    if kind == "text":
        return text_update(chat, draw(texts), update_id=update_id)
    if kind == "photo":
        return photo_update(chat, draw(st.none() | texts), update_id=update_id)
    return callback_update(chat, draw(texts), update_id=update_id)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def damaged(draw: st.DrawFn, events: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A well-formed event with one to three places removed or replaced by something else."""
    event = copy.deepcopy(draw(events))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(event) if p]
        if not paths:
            return draw(odd_values)
        path = draw(st.sampled_from(paths))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(odd_values)
    return event


def deep(levels: int) -> bytes:
    """JSON nested ``levels`` deep: enough to overflow a recursive parser."""
    return b'{"a":' * levels + b"1" + b"}" * levels


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
