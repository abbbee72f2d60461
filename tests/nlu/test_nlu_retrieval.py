"""Retrieval and abstention: the right official answer for paraphrases typed as citizens type, escalation
(not a guess) for questions the knowledge base does not cover, and the backend's life cycle over the
database on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlu import INTENTS, NluBackend, Understanding
from bot.nlu.builtin import BuiltinNlu
from bot.nlu.evaluate import evaluate, read_eval
from bot.nlu.kb import KbEntry, import_file, store_entries
from bot.services import Services

SMALL_KB = [
    KbEntry("cc.noi", "Làm thẻ căn cước ở đâu?", "Tại công an cấp xã hoặc cơ quan quản lý căn cước.", "can_cuoc",
            "bo_cong_an", "Luật Căn cước 2023"),
    KbEntry("cc.phi", "Làm thẻ căn cước mất bao nhiêu tiền?", "Lần đầu không mất lệ phí.", "can_cuoc", "bo_cong_an"),
    KbEntry("ks.hs", "Đăng ký khai sinh cần giấy tờ gì?", "Tờ khai và giấy chứng sinh.", "ho_tich", "bo_tu_phap"),
    KbEntry("kh.tt", "Thủ tục đăng ký kết hôn như thế nào?", "Hai bên nộp tờ khai tại UBND cấp xã.", "ho_tich"),
    KbEntry("hs.tc", "Làm sao tra cứu tình trạng hồ sơ đã nộp?", "Nhập mã hồ sơ trên Cổng Dịch vụ công.", "ho_so"),
    KbEntry("sipas", "SIPAS là gì?", "Chỉ số hài lòng về sự phục vụ hành chính do Bộ Nội vụ đo hằng năm.", "sipas",
            "bo_noi_vu"),
    KbEntry("hn.gio", "Bộ phận một cửa ở Hà Nội làm việc giờ nào?", "Từ 8h đến 17h, sáng thứ Bảy.", "mot_cua",
            "p.ha_noi"),
    KbEntry("hue.gio", "Bộ phận một cửa ở Huế làm việc giờ nào?", "Từ 7h30 đến 17h.", "mot_cua", "p.hue"),
]


@pytest.fixture(scope="module")
def small(nlu_dir: Path) -> BuiltinNlu:
    return BuiltinNlu.from_entries(SMALL_KB, nlu_dir)


@pytest.mark.parametrize("text,expected", [
    ("lam cccd o dau", "cc.noi"),
    ("làm căn cước ở chỗ nào vậy ạ", "cc.noi"),
    ("lam the can cuoc het bao nhieu tien", "cc.phi"),
    ("cccd mất phí ko", "cc.phi"),
    ("dk khai sihn can mang nhung gi", "ks.hs"),
    ("thur tucj dang ky ket hon", "kh.tt"),
    ("lấy vợ cần làm thủ tục gì", "kh.tt"),
    ("kiem tra hs da nop toi dau roi", "hs.tc"),
    ("chi so hai long la gi", "sipas"),
])
def test_paraphrases_find_the_official_answer(small: BuiltinNlu, text: str, expected: str) -> None:
    u = small.understand_sync(text)
    assert u.intent == "ask_question"
    top = u.answer_id or (u.candidates[0].answer_id if u.candidates else None)
    assert top == expected, u.to_json()


def test_a_confident_answer_is_given_with_its_question(small: BuiltinNlu) -> None:
    u = small.understand_sync("lam cccd o dau z")
    assert u.answer_id == "cc.noi" and not u.escalate
    assert u.answer == SMALL_KB[0].answer and u.matched_question == SMALL_KB[0].question
    assert u.topic == "can_cuoc" and u.unit == "bo_cong_an"
    assert u.candidates[0].answer_id == "cc.noi" and u.candidates[0].score == pytest.approx(u.confidence)
    assert all(0 <= c.score <= 1 for c in u.candidates)
    assert sum(c.score for c in u.candidates) <= 1.0 + 1e-6


@pytest.mark.parametrize("text", [
    "giá vàng hôm nay bao nhiêu", "đăng ký xe máy ở đâu", "thủ tục ly hôn đơn phương", "xin giấy phép xây dựng nhà",
    "cách nấu phở bò", "lịch thi đấu bóng đá tối nay",
])
def test_out_of_scope_questions_are_escalated_not_answered(small: BuiltinNlu, text: str) -> None:
    u = small.understand_sync(text)
    assert u.answer is None and u.answer_id is None
    assert u.intent == "ask_question" and u.escalate, u.to_json()


def test_unsure_offers_choices(small: BuiltinNlu) -> None:
    u = small.understand_sync("căn cước")  # which of the two?
    assert u.answer is None and u.escalate
    assert {c.answer_id for c in u.candidates} == {"cc.noi", "cc.phi"}


def test_the_respondents_own_unit_is_preferred(small: BuiltinNlu) -> None:
    assert small.understand_sync("mot cua lam viec may gio", unit="p.hue").candidates[0].answer_id == "hue.gio"
    assert small.understand_sync("mot cua lam viec may gio", unit="p.ha_noi").candidates[0].answer_id == "hn.gio"


async def test_entry_returns_the_official_answer(small: BuiltinNlu) -> None:
    u = await small.entry("kh.tt")
    assert u is not None and u.answer == SMALL_KB[3].answer and u.answer_id == "kh.tt"
    assert await small.entry("nope") is None


def test_seed_knowledge_base_figures(seed_nlu: BuiltinNlu, nlu_dir: Path) -> None:
    """A regression guard on the shipped evaluation sets (figures in docs/benchmarks.md)."""
    import asyncio

    # dev.tsv: 89.6 % top-1 and 10/379 out-of-scope answered when last calibrated (session 5)
    for name, top1_min, oos_max in (("dev.tsv", 0.885, 1 / 15),):
        m = asyncio.run(evaluate(seed_nlu, read_eval(nlu_dir / "eval" / name))).metrics()
        assert m["top1"] >= top1_min, (name, m)
        assert m["oos_answered_count"] <= m["out_of_scope"] * oos_max, (name, m)
        assert m["answered_wrong"] <= 0.06, (name, m)


async def test_backend_over_the_database(services: Services, nlu_dir: Path, tmp_path: Path) -> None:
    nlu: NluBackend = BuiltinNlu(services.engine, nlu_dir)
    assert isinstance(nlu, BuiltinNlu)
    # an empty knowledge base: questions are escalated
    u = await nlu.understand("làm căn cước ở đâu")
    assert u.answer is None and u.escalate
    await store_entries(services.engine, SMALL_KB)
    assert await nlu.refresh() is True
    assert await nlu.refresh() is False
    u = await nlu.understand("làm căn cước ở đâu")
    assert u.answer_id == "cc.noi"
    f = tmp_path / "more.jsonl"
    f.write_text(json.dumps({"id": "cc.noi", "question": "Làm thẻ căn cước ở đâu?", "answer": "Đã sửa."},
                            ensure_ascii=False) + "\n", encoding="utf-8")
    await import_file(services.engine, f)
    await nlu.reload()
    assert (await nlu.understand("lam cccd o dau")).answer == "Đã sửa."
    await nlu.close()


def test_understanding_shape(small: BuiltinNlu) -> None:
    for text in ("xin chào", "lam cccd o dau", "giá vàng", "", "   ", "😀😀"):
        u = small.understand_sync(text)
        assert isinstance(u, Understanding) and u.intent in INTENTS
        assert set(u.to_json()) == {"text", "intent", "confidence", "answer", "answer_id", "matched_question",
                                    "escalate", "candidates"}
        assert u.text == text
