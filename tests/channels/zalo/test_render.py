"""Bot messages as Zalo message objects."""
from __future__ import annotations

from bot.messages import Choice, InputSpec, Outbound
from channels.render import numbered
from channels.zalo import CAPABILITIES, button_payload, parse_event, render


def choices(n: int) -> tuple[Choice, ...]:
    return tuple(Choice(f"c{i}", f"Lựa chọn {i}") for i in range(1, n + 1))


def test_capabilities() -> None:
    assert (CAPABILITIES.max_buttons, CAPABILITIES.max_text, CAPABILITIES.window_hours) == (5, 2000, 48)
    assert CAPABILITIES.max_button_title == 100


def test_plain_text() -> None:
    assert render(Outbound("Cảm ơn anh/chị đã tham gia khảo sát.")) == [{"text": "Cảm ơn anh/chị đã tham gia khảo sát."}]


def test_up_to_five_choices_become_hidden_query_buttons_carrying_the_choice_id() -> None:
    out = Outbound("Anh/chị có hài lòng không?", InputSpec("choice", choices(5)))
    assert render(out) == [{
        "text": "Anh/chị có hài lòng không?",
        "attachment": {"type": "template", "payload": {"buttons": [
            {"title": f"Lựa chọn {i}", "type": "oa.query.hide", "payload": button_payload(f"c{i}")}
            for i in range(1, 6)]}},
    }]


def test_a_pressed_button_parses_back_to_its_choice_id() -> None:
    out = Outbound("Chọn thủ tục", InputSpec("choice", (Choice("flow:ksdn", "Khảo sát doanh nghiệp"),)))
    payload = render(out)[0]["attachment"]["payload"]["buttons"][0]["payload"]
    [inbound] = parse_event({"event_name": "user_send_text", "timestamp": "1", "sender": {"id": "2468458835296117922"},
                             "message": {"text": payload, "msg_id": "m1"}})
    assert (inbound.kind, inbound.choice) == ("choice", "flow:ksdn")


def test_six_choices_become_a_numbered_list() -> None:
    out = Outbound("Anh/chị đến từ tỉnh nào?", InputSpec("choice", choices(6)))
    rendered = render(out)
    assert rendered == [{"text": numbered(out)}]
    assert "6. Lựa chọn 6" in rendered[0]["text"]
    assert "attachment" not in rendered[0]


def test_multi_choice_is_always_numbered() -> None:
    out = Outbound("Anh/chị đã dùng những kênh nào?", InputSpec("multi", choices(3)))
    rendered = render(out)
    assert rendered == [{"text": numbered(out)}]
    assert "1. Lựa chọn 1" in rendered[0]["text"]


def test_long_label_uses_the_short_title() -> None:
    long = "Rất hài lòng với thái độ phục vụ của cán bộ tiếp nhận hồ sơ tại bộ phận một cửa " * 2
    out = Outbound("Mức độ hài lòng?", InputSpec("choice", (Choice("a", long, short="Rất hài lòng"), Choice("b", "Không"))))
    titles = [b["title"] for b in render(out)[0]["attachment"]["payload"]["buttons"]]
    assert titles == ["Rất hài lòng", "Không"]


def test_long_label_without_short_is_cut_at_a_word_with_an_ellipsis() -> None:
    long = "Rất hài lòng với thái độ phục vụ của cán bộ tiếp nhận hồ sơ tại bộ phận một cửa của ủy ban nhân dân xã"
    assert len(long) > 100
    out = Outbound("Mức độ hài lòng?", InputSpec("choice", (Choice("a", long), Choice("b", "Không"))))
    title = render(out)[0]["attachment"]["payload"]["buttons"][0]["title"]
    assert len(title) <= CAPABILITIES.max_button_title
    assert title.endswith("…")
    assert long.startswith(title[:-1])
    assert long[len(title) - 1] == " "


def test_titles_that_collide_after_shortening_fall_back_to_a_numbered_list() -> None:
    stem = "Đồng ý với phương án điều chỉnh quy hoạch sử dụng đất của xã trong giai đoạn năm năm tới, "
    out = Outbound("Ý kiến?", InputSpec("choice", (Choice("a", stem + "phương án một"), Choice("b", stem + "phương án hai"))))
    assert render(out) == [{"text": numbered(out)}]


def test_long_text_is_split_and_buttons_go_on_the_last_piece() -> None:
    sentence = "Đây là phần giới thiệu dài của cuộc khảo sát về chất lượng dịch vụ hành chính công. "
    text = sentence * 60
    out = Outbound(text, InputSpec("choice", choices(2)))
    rendered = render(out)
    assert len(rendered) >= 3
    assert all(len(m["text"]) <= CAPABILITIES.max_text for m in rendered)
    assert all("attachment" not in m for m in rendered[:-1])
    assert len(rendered[-1]["attachment"]["payload"]["buttons"]) == 2
    assert " ".join(m["text"] for m in rendered) == text.strip()


def test_long_numbered_list_is_split() -> None:
    many = tuple(Choice(f"p{i}", f"Tỉnh hoặc thành phố trực thuộc trung ương số {i}") for i in range(1, 64))
    out = Outbound("Anh/chị đang sống ở đâu?", InputSpec("choice", many))
    rendered = render(out)
    assert len(rendered) >= 2
    assert all(len(m["text"]) <= CAPABILITIES.max_text and "attachment" not in m for m in rendered)
    assert "63. Tỉnh" in rendered[-1]["text"]


def test_empty_message_renders_nothing() -> None:
    assert render(Outbound("")) == []
