"""Whatever arrives at the webhook, parsing either succeeds or raises ZaloParseError (a 400), never
another exception (a 500 that Zalo would keep retrying)."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.zalo import ZaloParseError, parse_event
from channels.zalo.parse import FOLLOW_EVENTS, MEDIA_EVENTS, TEXT_EVENTS

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
ids = st.integers(min_value=-10, max_value=10**20) | st.text(max_size=22) | json_values
event_names = st.sampled_from(sorted(TEXT_EVENTS | MEDIA_EVENTS | FOLLOW_EVENTS
                                     | {"user_submit_info", "oa_send_text", "user_seen_message"})) | st.text(max_size=20)
texts = st.text(max_size=40) | st.just("choice:") | st.builds(lambda s: "choice:" + s, st.text(max_size=10)) | json_values


@st.composite
def event_like(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies shaped like Zalo events, with any field missing or of the wrong type."""
    candidates: dict[str, Any] = {
        "app_id": draw(ids),
        "event_name": draw(event_names),
        "timestamp": draw(st.integers(min_value=-5, max_value=10**19) | st.text(max_size=21) | json_values),
        "sender": draw(st.fixed_dictionaries({}, optional={"id": ids}) | json_values),
        "recipient": draw(st.fixed_dictionaries({}, optional={"id": ids})),
        "follower": draw(st.fixed_dictionaries({}, optional={"id": ids}) | json_values),
        "message": draw(st.fixed_dictionaries({}, optional={"text": texts, "msg_id": texts,
                                                            "attachments": json_values}) | json_values),
    }
    keep = draw(st.sets(st.sampled_from(sorted(candidates))))
    return {k: v for k, v in candidates.items() if k in keep | {"event_name"} or draw(st.booleans())}


def check(body: Any) -> None:
    try:
        inbounds = parse_event(body, is_invitation_code=lambda code: code.isupper())
    except ZaloParseError:
        return
    for inbound in inbounds:
        assert inbound.channel == "zalo"
        assert isinstance(inbound.respondent_key, str) and inbound.respondent_key
        assert isinstance(inbound.message_id, str)


@settings(max_examples=400, deadline=None)
@given(event_like())
def test_event_shaped_bodies(event: dict[str, Any]) -> None:
    check(event)
    check(json.dumps(event).encode())


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value(value: Any) -> None:
    check(value)
    check(json.dumps(value).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes(body: bytes) -> None:
    check(body)
