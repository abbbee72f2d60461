"""What citizens notice of the seed knowledge base's ranking: colloquial questions answered with the
right official entry, the question's facet (where, when, what is) telling apart entries of one
procedure, and out-of-scope questions escalated — plus the learned rank weights themselves."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.nlu.builtin import BuiltinNlu
from bot.nlu.calibration import Calibration, calibrate
from bot.nlu.evaluate import EvalItem
from bot.nlu.index import IndexParams, KbIndex
from bot.nlu.kb import KbEntry
from bot.nlu.normalize import load_synonyms
from bot.nlu.rerank import FEATURES, candidate_lists, cross_validate, fit_weights, learn_ranking, top1, weights_of


@pytest.mark.parametrize("text,expected", [
    ("mat cccd thi lam lai o dau", "cancuoc.mat_the"),
    ("lam cccd o dau z", "cancuoc.noi_lam"),
    ("mot cua may h mo cua", "motcua.gio_lam_viec"),                 # "h" = giờ
    ("ho so cua toi toi dau roi", "hoso.tra_cuu"),                     # "tới đâu rồi" = progress
    ("dia chi tren can cuoc doi do sap nhap tinh thi sao", "sapxep.giay_to_cu"),  # "chỉ" is not "chị"
    ("ko dc thu them tien ngoai le phi dung ko", "lephi.muc_thu"),
])
def test_colloquial_questions_get_the_official_answer(seed_nlu: BuiltinNlu, text: str, expected: str) -> None:
    u = seed_nlu.understand_sync(text)
    top = u.answer_id or (u.candidates[0].answer_id if u.candidates else None)
    assert top == expected, u.to_json()


@pytest.mark.parametrize("text", ["thu tuc cap so do lan dau", "gia vang hom nay bao nhieu",
                                  "bảo hiểm y tế học sinh đóng bao nhiêu"])
def test_out_of_scope_questions_are_escalated(seed_nlu: BuiltinNlu, text: str) -> None:
    u = seed_nlu.understand_sync(text)
    assert u.answer_id is None and u.escalate, u.to_json()


def test_a_particle_that_makes_a_word_is_kept(seed_entries: list[KbEntry], nlu_dir: Path) -> None:
    index = KbIndex(seed_entries, load_synonyms(nlu_dir / "synonyms.yml"), segment=False)
    assert "dia_chi" in index.analyze("dia chi nha toi").content
    assert "do" in index.analyze("so do cua ong ba").content  # sổ đỏ, not "đó"
    assert index.analyze("anh chi cho em hoi").content == ["hoi"]  # forms of address alone still go


SMALL = [
    KbEntry("noi", "Làm thẻ căn cước ở đâu?", "Tại công an cấp xã."),
    KbEntry("phi", "Làm thẻ căn cước mất bao nhiêu tiền?", "Lần đầu không mất lệ phí."),
    KbEntry("lau", "Làm thẻ căn cước bao lâu thì có?", "Tối đa 7 ngày làm việc."),
    KbEntry("ks", "Đăng ký khai sinh cần giấy tờ gì?", "Tờ khai và giấy chứng sinh."),
]
DEV = [EvalItem(i, exp, text) for i, (exp, text) in enumerate([
    ("noi", "lam cccd cho nao"), ("noi", "can cuoc lam tai dau"), ("phi", "cccd het may tien"),
    ("phi", "le phi lam can cuoc"), ("lau", "lam cccd may ngay co"), ("lau", "bao gio lay duoc can cuoc"),
    ("ks", "khai sinh can mang gi"), ("ks", "lam giay khai sinh can giay to nao"), ("none", "gia vang hom nay"),
], 1)]


def test_learned_weights_put_the_right_entry_first(nlu_dir: Path) -> None:
    index = KbIndex(SMALL, load_synonyms(nlu_dir / "synonyms.yml"), segment=False)
    lists = candidate_lists(index, DEV)
    assert len(lists) == 8  # the out-of-scope question is not a ranking example
    w = fit_weights(lists)
    assert w.shape == (len(FEATURES),) and top1(lists, w) == 1.0
    assert 0.0 <= cross_validate(lists, folds=4) <= 1.0
    weights, report = learn_ranking(index, DEV)
    assert weights["w_bm25"] == 1.0 and set(report) >= {"top1_in_sample", "top1_out_of_fold", "recall_at_depth"}
    assert top1(lists, weights_of(weights)) == 1.0


def test_calibrate_writes_the_learned_ranking(nlu_dir: Path, tmp_path: Path) -> None:
    cal = calibrate(SMALL, DEV, load_synonyms(nlu_dir / "synonyms.yml"), ranking={}, fitted_on="dev")
    assert set(cal.ranking) == set(IndexParams.__dataclass_fields__)
    assert cal.report["ranking"]["questions"] == 8
    cal.save(tmp_path / "c.json")
    assert Calibration.load(tmp_path / "c.json").ranking == cal.ranking
