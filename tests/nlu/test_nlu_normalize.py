"""Vietnamese as citizens type it: with or without diacritics, shorthand, telex leftovers and typos
all reach the same canonical tokens as the official wording."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.normalize import SynonymsError, TextNormalizer, dictionary_words, load_synonyms, segment_words
from bot.settings import REPO_ROOT

SYN = load_synonyms(REPO_ROOT / "nlu_data" / "synonyms.yml")
VOCAB = "lam can cuoc o dau dang ky khai sinh cho con thu tuc ket hon ho so tra cuu giay to".split()


@pytest.fixture(scope="module")
def norm() -> TextNormalizer:
    return TextNormalizer(SYN, VOCAB)


def test_with_or_without_diacritics_and_shorthand(norm: TextNormalizer) -> None:
    official = norm.tokens("Làm thẻ căn cước ở đâu?")
    assert official == ["lam", "can_cuoc", "o_dau"]
    assert norm.tokens("lam the can cuoc o dau") == official
    assert norm.tokens("LÀM CCCD Ở ĐÂU") == official
    assert norm.tokens("lam cmnd o cho nao") == ["lam", "chung_minh_nhan_dan", "o_dau"]
    assert norm.tokens("ubnd xa") == ["uy_ban", "xa"]
    assert norm.tokens("tthc nay the nao") == ["thu_tuc", "nay", "nhu_the_nao"]


def test_chat_shorthand(norm: TextNormalizer) -> None:
    assert norm.expand("k dc j") == ["khong", "duoc", "gi"]
    assert norm.expand("ko đc") == ["khong", "duoc"]
    assert norm.expand("nop hs ntn") == ["nop", "ho", "so", "nhu", "the", "nao"]
    # "dk": "được" at the end or before "không", "đăng ký" elsewhere
    assert norm.expand("dk khai sinh") == ["dang", "ky", "khai", "sinh"]
    assert norm.expand("lam dk ko") == ["lam", "duoc", "khong"]
    assert norm.expand("co dk") == ["co", "duoc"]
    assert norm.expand("dang ki") == ["dang", "ky"]


def test_typos_are_repaired_towards_the_knowledge_base(norm: TextNormalizer) -> None:
    assert norm.repair("sihn") == "sinh"          # transposition
    assert norm.repair("tucj") == "tuc"           # telex tone key left over
    assert norm.repair("cuocs") == "cuoc"
    assert norm.repair("khaii") == "khai"         # one letter too many
    assert norm.repair("ddang") == "dang"         # telex đ
    assert norm.tokens("dang ky khai sihn") == ["dang_ky", "khai_sinh"]
    assert norm.tokens("lam cancuoc o dau") == ["lam", "can_cuoc", "o_dau"]   # glued syllables
    assert norm.tokens("hoso o dau") == ["ho_so", "o_dau"]


def test_telex_typed_with_the_vietnamese_keyboard_off(norm: TextNormalizer) -> None:
    # several keys in one syllable: đ and ă ("ddawng"), ê and the tone at the end ("keets"), ơ with the tone
    # before the final consonant ("cuowsc")
    assert norm.tokens("ddawng ky khai sinh") == ["dang_ky", "khai_sinh"]
    assert norm.repair("keets") == "ket"
    assert norm.repair("cuowsc") == "cuoc"
    assert norm.repair("hoof") == "ho"


def test_real_words_and_short_tokens_are_left_alone(norm: TextNormalizer) -> None:
    assert norm.repair("xang") == "xang"   # a Vietnamese syllable (xăng), just not in the knowledge base
    assert norm.repair("oto") == "oto"     # too short to guess: must not become "to"
    assert norm.repair("12345") == "12345"
    assert norm.repair("zalo") == "zalo"


def test_question_detection(norm: TextNormalizer) -> None:
    for q in ("làm cccd ở đâu", "mat bao lau", "co dc ko", "lệ phí bao nhiêu", "sao lại thế?", "ai phụ trách"):
        assert norm.is_question(q), q
    for s in ("xin chào", "cảm ơn", "dừng lại", "tôi muốn phản ánh", "bắt đầu khảo sát", "bản sao"):
        assert not norm.is_question(s), s


def test_a_question_may_end_in_a_polite_word(norm: TextNormalizer) -> None:
    for q in ("phiếu có ẩn danh không ạ", "phieu nay an danh ko a", "co an danh k ad",
              "làm cái phiếu đó có lâu không cháu", "phiếu gồm mấy phần vậy ạ", "sao tôi lại được mời ạ",
              "phieu sipas danh gia may yeu to"):
        assert norm.is_question(q), q
    for s in ("cảm ơn ạ", "chào bạn", "xin chao ad", "tôi muốn làm khảo sát ạ"):
        assert not norm.is_question(s), s


def test_dictionary_and_segmentation_come_with_underthesea() -> None:
    syllables, pairs = dictionary_words()
    assert {"can", "cuoc", "khai", "sinh"} <= syllables
    assert ("can", "cuoc") in pairs
    assert "căn cước" in segment_words("Làm căn cước công dân ở đâu")


def test_synonym_file_errors(tmp_path: Path) -> None:
    f = tmp_path / "s.yml"
    f.write_text("groups:\n  - [can cuoc, cccd]\n  - [chung minh, cccd]\n", encoding="utf-8")
    with pytest.raises(SynonymsError, match="'cccd' is in two groups"):
        load_synonyms(f)
    f.write_text("abbreviations:\n  'hai tu': x\n", encoding="utf-8")
    with pytest.raises(SynonymsError, match="must be one word"):
        load_synonyms(f)
    assert load_synonyms(tmp_path / "missing.yml").phrases == {}
