"""Outbound → send_message arguments: inline keyboards within Telegram's limits, numbered lists
where buttons do not fit, long text split with the keyboard under the last piece."""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.messages import Choice, InputSpec, Outbound
from channels.render import numbered
from channels.telegram import CAPABILITIES, callback_data, decode_callback, render

YES_NO = (Choice("yes", "Có"), Choice("no", "Không"))
SCALE = (Choice("1", "Rất không hài lòng"), Choice("2", "Không hài lòng"), Choice("3", "Bình thường"),
         Choice("4", "Hài lòng"), Choice("5", "Rất hài lòng"), Choice("0", "Không biết / Không trả lời"))


def buttons(payload: dict[str, Any]) -> list[list[dict[str, str]]]:
    return payload["reply_markup"]["inline_keyboard"]


def flat(payload: dict[str, Any]) -> list[dict[str, str]]:
    return [b for row in buttons(payload) for b in row]


def test_capabilities() -> None:
    assert (CAPABILITIES.max_text, CAPABILITIES.window_hours) == (4096, None)
    assert CAPABILITIES.max_buttons == 12 and CAPABILITIES.max_button_title == 40


def test_text_only() -> None:
    assert render(Outbound("Cảm ơn bạn!")) == [{"text": "Cảm ơn bạn!"}]


def test_nothing_to_say_renders_nothing() -> None:
    assert render(Outbound("   ")) == []


def test_short_labels_two_per_row() -> None:
    [payload] = render(Outbound("Bạn đồng ý?", InputSpec("choice", YES_NO)))
    assert payload["text"] == "Bạn đồng ý?"
    assert buttons(payload) == [[{"text": "Có", "callback_data": "c:yes"}, {"text": "Không", "callback_data": "c:no"}]]


def test_longer_labels_one_per_row() -> None:
    [payload] = render(Outbound("Mức độ hài lòng?", InputSpec("choice", SCALE)))
    assert [[b["text"] for b in row] for row in buttons(payload)] == [[c.label] for c in SCALE]
    assert [b["callback_data"] for b in flat(payload)] == ["c:1", "c:2", "c:3", "c:4", "c:5", "c:0"]


def test_long_vietnamese_ids_still_fit_in_64_bytes_and_decode() -> None:
    ids = ["ý_kiến_về_thủ_tục_hành_chính_cấp_xã_phường_thị_trấn_" + s for s in ("một", "hai", "ba")]
    ids.append("ă" * 31)  # "c:" + 62 bytes = 64: still the plain form
    choices = tuple(Choice(i, f"Lựa chọn {n}") for n, i in enumerate(ids, 1))
    [payload] = render(Outbound("Chọn một", InputSpec("choice", choices)))
    data = [b["callback_data"] for b in flat(payload)]
    assert all(len(d.encode("utf-8")) <= 64 for d in data)
    assert len(set(data)) == len(data)
    assert [d[:2] for d in data] == ["h:", "h:", "h:", "c:"]
    assert [decode_callback(d, choices) for d in data] == ids


def test_callback_data_is_stable() -> None:
    long_id = "đánh_giá_" * 10
    assert callback_data(long_id) == callback_data(long_id) == "h:" + callback_data(long_id)[2:]
    assert callback_data("yes") == "c:yes"


def test_decode_callback() -> None:
    assert decode_callback("c:yes") == "yes"
    assert decode_callback("c:yes", YES_NO) == "yes"
    assert decode_callback("c:yes", ["yes", "no"]) == "yes"
    assert decode_callback("c:maybe", YES_NO) is None  # a button left on an older question
    assert decode_callback("h:" + "A" * 22) is None  # needs the choices
    assert decode_callback("c:") is None
    assert decode_callback("other") is None


def test_multi_choice_is_a_numbered_list() -> None:
    out = Outbound("Bạn quan tâm lĩnh vực nào?", InputSpec("multi", SCALE[:4], min_choices=1))
    [payload] = render(out)
    assert payload == {"text": numbered(out)}
    assert "1. Rất không hài lòng" in payload["text"] and "ví dụ: 1, 3" in payload["text"]


def test_too_many_choices_are_a_numbered_list() -> None:
    choices = tuple(Choice(str(i), f"Tỉnh {i}") for i in range(1, 14))
    out = Outbound("Tỉnh/thành phố?", InputSpec("choice", choices))
    assert render(out) == [{"text": numbered(out)}]
    assert "reply_markup" in render(Outbound("?", InputSpec("choice", choices[:12])))[0]


def test_a_label_too_long_for_a_button_uses_short() -> None:
    choices = (Choice("a", "Thủ tục đăng ký kinh doanh và cấp phép hoạt động", short="Kinh doanh"), Choice("b", "Khác"))
    [payload] = render(Outbound("Lĩnh vực?", InputSpec("choice", choices)))
    assert [b["text"] for b in flat(payload)] == ["Kinh doanh", "Khác"]
    assert payload["text"] == "Lĩnh vực?"


def test_labels_too_long_for_buttons_become_a_numbered_list_with_number_buttons() -> None:
    choices = tuple(Choice(f"c{i}", f"Phương án số {i}: thủ tục rườm rà, nhiều giấy tờ, đi lại nhiều lần")
                    for i in range(1, 8))
    out = Outbound("Khó khăn lớn nhất?", InputSpec("choice", choices))
    [payload] = render(out)
    assert payload["text"] == numbered(out)
    assert [[b["text"] for b in row] for row in buttons(payload)] == [["1", "2", "3", "4"], ["5", "6", "7"]]
    assert [b["callback_data"] for b in flat(payload)] == [f"c:c{i}" for i in range(1, 8)]


def test_long_text_is_split_with_the_keyboard_on_the_last_piece() -> None:
    sentence = "Cơ quan hành chính tiếp nhận hồ sơ và trả kết quả đúng hạn cho người dân. "
    out = Outbound(sentence * 150, InputSpec("choice", YES_NO))  # about 11 000 characters
    payloads = render(out)
    assert len(payloads) == 3
    assert all(1 <= len(p["text"]) <= 4096 for p in payloads)
    assert ["reply_markup" in p for p in payloads] == [False, False, True]
    assert " ".join(p["text"] for p in payloads).split() == out.text.split()


def test_astral_emoji_count_twice_towards_the_limit() -> None:
    text = "😀" * 3000 + " " + "😀" * 3000
    payloads = render(Outbound(text))
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in payloads)
    assert "".join(p["text"] for p in payloads) == text.replace(" ", "")


def test_empty_text_with_choices_still_shows_them() -> None:
    [payload] = render(Outbound("", InputSpec("choice", YES_NO)))
    assert "1. Có" in payload["text"] and flat(payload)


def test_payloads_are_json() -> None:
    out = Outbound("Câu hỏi " * 700, InputSpec("choice", SCALE))
    assert json.loads(json.dumps(render(out))) == render(out)


@pytest.mark.parametrize("kind", ["text", "number", "date", "phone", "unit", "none"])
def test_free_input_is_text_only(kind: str) -> None:
    assert render(Outbound("Nhập số điện thoại", InputSpec(kind))) == [{"text": "Nhập số điện thoại"}]  # type: ignore[arg-type]
