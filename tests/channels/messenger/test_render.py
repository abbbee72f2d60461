"""Outbound messages rendered within Messenger's limits, degrading to numbered lists."""
from __future__ import annotations

from bot.messages import Choice, InputSpec, Outbound
from channels.messenger import CAPABILITIES, render
from channels.render import numbered


def choices(n: int) -> tuple[Choice, ...]:
    return tuple(Choice(f"c{i}", f"Lựa chọn {i}") for i in range(1, n + 1))


def test_capabilities() -> None:
    assert CAPABILITIES.max_buttons == 13
    assert CAPABILITIES.max_button_title == 20
    assert CAPABILITIES.max_text == 2000
    assert CAPABILITIES.window_hours == 24


def test_single_choice_becomes_quick_replies_with_choice_id_payloads() -> None:
    out = Outbound("Bạn có hài lòng không?", InputSpec("choice", choices(13)))
    [message] = render(out)
    assert message["text"] == "Bạn có hài lòng không?"
    replies = message["quick_replies"]
    assert len(replies) == 13
    assert [r["payload"] for r in replies] == [f"c{i}" for i in range(1, 14)]
    assert all(r["content_type"] == "text" and 0 < len(r["title"]) <= 20 for r in replies)
    assert replies[0]["title"] == "Lựa chọn 1"


def test_long_labels_use_the_short_form_or_are_trimmed_with_an_ellipsis() -> None:
    spec = InputSpec(
        "choice",
        (
            Choice("a", "Rất hài lòng với thái độ phục vụ", short="Rất hài lòng"),
            Choice("b", "Không hài lòng với thời gian chờ đợi"),
            Choice("c", "Khác"),
        ),
    )
    [message] = render(Outbound("Đánh giá?", spec))
    titles = [r["title"] for r in message["quick_replies"]]
    assert titles[0] == "Rất hài lòng"
    assert titles[1].endswith("…") and len(titles[1]) <= 20 and titles[1].startswith("Không hài lòng")
    assert titles[2] == "Khác"


def test_titles_that_collide_after_trimming_fall_back_to_a_numbered_list() -> None:
    spec = InputSpec(
        "choice",
        (
            Choice("a", "Thủ tục hành chính cấp xã"),
            Choice("b", "Thủ tục hành chính cấp huyện"),
        ),
    )
    out = Outbound("Lĩnh vực nào?", spec)
    assert render(out) == [{"text": numbered(out)}]


def test_fourteen_choices_become_a_numbered_list() -> None:
    out = Outbound("Tỉnh của bạn?", InputSpec("choice", choices(14)))
    [message] = render(out)
    assert "quick_replies" not in message
    assert message["text"] == numbered(out)
    assert "14. Lựa chọn 14" in message["text"]


def test_multi_choice_is_a_numbered_list() -> None:
    out = Outbound("Chọn các dịch vụ đã dùng", InputSpec("multi", choices(3)))
    [message] = render(out)
    assert "quick_replies" not in message
    assert message["text"] == numbered(out)


def test_long_text_is_split_and_quick_replies_ride_on_the_last_piece() -> None:
    sentence = "Đây là một câu hỏi khảo sát khá dài về chất lượng dịch vụ công trực tuyến. "
    text = sentence * 60
    out = Outbound(text, InputSpec("choice", choices(2)))
    messages = render(out)
    assert len(messages) >= 3
    assert all(len(m["text"]) <= 2000 for m in messages)
    assert all("quick_replies" not in m for m in messages[:-1])
    assert [r["payload"] for r in messages[-1]["quick_replies"]] == ["c1", "c2"]
    assert " ".join(m["text"] for m in messages).split() == text.split()


def test_plain_and_free_text_questions_are_text_only() -> None:
    assert render(Outbound("Cảm ơn bạn!")) == [{"text": "Cảm ơn bạn!"}]
    assert render(Outbound("Bạn bao nhiêu tuổi?", InputSpec("number", min=0, max=120))) == [{"text": "Bạn bao nhiêu tuổi?"}]
    assert render(Outbound("   ")) == []


def test_choice_ids_too_long_for_a_payload_fall_back_to_numbered() -> None:
    out = Outbound("Chọn", InputSpec("choice", (Choice("x" * 1001, "A"), Choice("b", "B"))))
    assert "quick_replies" not in render(out)[0]
