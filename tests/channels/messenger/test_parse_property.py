"""Whatever arrives at the webhook, parsing either succeeds or raises MessengerParseError."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.messenger import MessengerParseError, parse_webhook

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def bodies(garbage: bool) -> st.SearchStrategy[Any]:
    """Messenger-shaped webhook bodies; with ``garbage``, any field may hold any JSON value."""

    def may(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return valid | json_values if garbage else valid

    def obj(required: dict[str, Any] | None = None, **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return may(
            st.fixed_dictionaries(
                {k: may(v) for k, v in (required or {}).items()},
                optional={k: may(v) for k, v in optional.items()},
            )
        )

    ids = st.text("0123456789", min_size=1, max_size=6)
    words = st.text(min_size=1, max_size=6)
    timestamps = st.integers(min_value=0, max_value=2**50)
    if garbage:
        ids = ids | st.integers()
        timestamps = timestamps | st.text("0123456789", max_size=25)
    attachment = obj({"type": st.sampled_from(["image", "sticker", "location", "file", "odd"])},
                     payload=obj(url=words, coordinates=obj({"lat": st.floats(), "long": st.floats()})))
    referral = obj({"ref": words}, source=st.sampled_from(["SHORTLINK", "ADS"]), type=st.just("OPEN_THREAD"))
    envelope = {"sender": obj({"id": ids}), "recipient": obj({"id": ids}), "timestamp": timestamps}
    content = st.one_of(
        obj({"text": words}, quick_reply=obj({"payload": words})),
        obj({"attachments": st.lists(attachment, min_size=1, max_size=2)}),
    )
    message = st.builds(lambda mid, rest, echo: {"mid": mid, **rest, **echo} if isinstance(rest, dict) else rest,
                        words, content, st.just({}) | st.just({"is_echo": True}))
    item = st.one_of(
        obj({**envelope, "message": may(message)}),
        obj({**envelope, "postback": obj({"payload": st.sampled_from(["GET_STARTED", "yes"]) | words},
                                         mid=words, title=words, referral=referral)}),
        obj({**envelope, "referral": referral}),
        obj({**envelope, "delivery": obj({"mids": st.lists(words, max_size=2)})}),
    )
    return obj({"object": st.just("page") | st.just("instagram") if garbage else st.just("page"),
                "entry": st.lists(obj({"messaging": st.lists(item, max_size=3)}, id=ids, time=timestamps),
                                  max_size=3)})


page_bodies = bodies(garbage=True)
valid_bodies = bodies(garbage=False)


def parses_or_rejects(payload: Any) -> None:
    try:
        result = parse_webhook(payload)
    except MessengerParseError:
        return
    assert isinstance(result, list)
    for inbound in result:
        assert inbound.channel == "messenger"
        assert isinstance(inbound.respondent_key, str) and inbound.respondent_key
        assert isinstance(inbound.message_id, str) and inbound.message_id.startswith("messenger:")
        assert inbound.kind in ("text", "choice", "start", "media")


@settings(max_examples=200, deadline=None)
@given(valid_bodies)
def test_documented_shapes_always_parse(payload: dict[str, Any]) -> None:
    result = parse_webhook(json.dumps(payload).encode())
    items = [i for entry in payload["entry"] for i in entry["messaging"]]
    assert len(result) <= len(items)
    assert all(i.kind in ("text", "choice", "start", "media") for i in result)


@settings(max_examples=300, deadline=None)
@given(page_bodies)
def test_page_shaped_input(payload: Any) -> None:
    parses_or_rejects(payload if isinstance(payload, dict) else json.dumps(payload).encode())


@settings(max_examples=100, deadline=None)
@given(page_bodies)
def test_page_shaped_json_bytes(payload: Any) -> None:
    parses_or_rejects(json.dumps(payload).encode())


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_values(payload: Any) -> None:
    parses_or_rejects(payload if isinstance(payload, dict) else json.dumps(payload).encode())


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes(payload: bytes) -> None:
    parses_or_rejects(payload)
