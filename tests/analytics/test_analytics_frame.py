"""The frame every score and export is built from: which responses count and how answers look."""
from __future__ import annotations

import copy

import pandas as pd
import pytest

from bot.analytics import iter_frames, load_frame, parse_period, score_flow
from bot.analytics.frame import META_COLUMNS, decode_json_texts
from bot.flows import flow_from_source
from bot.store.db import create_engine_sync

from analytics_fixtures import add_flow, add_response, sipas, vn


def test_completed_frame_has_meta_then_result_keys(round_url: str) -> None:
    df = load_frame(round_url, "sipas")
    assert list(df["response_id"]) == ["s1", "s2", "s3", "s4", "s5", "s6"]  # no partial, no preview
    assert list(df.columns) == list(META_COLUMNS) + sipas().result_keys
    s1 = df.iloc[0]
    assert s1["respondent"] == "p-s1" and s1["invitation"] == "INV1" and s1["unit"] == "01"
    assert s1["expectations"] == ["info", "simpler"] and s1["e1_satisfaction"] == "5" and s1["trips"] == 2
    assert s1["service_used_other"].startswith("=HYPERLINK") and not s1["preview"]
    assert s1["completed_at"] == pd.Timestamp(vn(2024, 2, 10))
    s4 = df.iloc[3]
    assert s4["e4_satisfaction"] is None and s4["e5_satisfaction"] is None and s4["gender"] is None


def test_all_dispositions_but_never_previews(round_url: str) -> None:
    df = load_frame(round_url, "sipas", dispositions=None)
    assert sorted(df["disposition"]) == ["completed"] * 6 + ["partial", "refused"]
    assert "s8" not in set(df["response_id"])
    assert list(load_frame(round_url, "sipas", dispositions=["partial"])["response_id"]) == ["s7"]
    with pytest.raises(ValueError, match="unknown disposition"):
        load_frame(round_url, "sipas", dispositions=["done"])


def test_chunks_cover_all_responses_in_order_with_the_same_columns(round_url: str) -> None:
    chunks = list(iter_frames(round_url, "sipas", chunk_size=3, dispositions=None))
    assert [len(c) for c in chunks] == [3, 3, 2]
    assert [r for c in chunks for r in c["response_id"]] == ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s9"]
    assert all(list(c.columns) == list(chunks[0].columns) for c in chunks)
    whole = load_frame(round_url, "sipas", dispositions=None)
    joined = pd.concat(chunks, ignore_index=True)
    assert joined["expectations"].tolist() == whole["expectations"].tolist()


def test_key_named_like_a_meta_column_keeps_both(round_url: str) -> None:
    df = load_frame(round_url, "par_index")
    assert "unit" in df.columns and "unit_answer" in df.columns
    assert df["unit"].tolist() == ["BTP", "BTP", "48", None]
    assert df["unit_answer"].tolist() == ["BTP", "BTP", "48", None]


def test_older_versions_keys_stay_and_newest_rules_score(sqlite_url: str) -> None:
    v1 = sipas()
    src = copy.deepcopy(v1.source)
    src["version"] = 2
    profile = next(s for s in src["sections"] if s["id"] == "profile")
    profile["questions"] = [q for q in profile["questions"] if q["key"] != "trips"]
    src["scoring"]["indices"] = src["scoring"]["indices"][:1]  # v2 scores e1 only
    v2 = flow_from_source(src)
    engine = create_engine_sync(sqlite_url)
    with engine.begin() as conn:
        add_flow(conn, v1)
        add_flow(conn, v2, src)
        add_response(conn, "a", "sipas", version=1, unit="01", at=vn(2024, 1, 5),
                     answers_={"e1_satisfaction": "4", "trips": 3, "legacy_note": "x"})
        add_response(conn, "b", "sipas", version=2, unit="01", at=vn(2024, 1, 6), answers_={"e1_satisfaction": "2"})
    engine.dispose()
    df = load_frame(sqlite_url, "sipas")
    assert list(df.columns) == list(META_COLUMNS) + v2.result_keys + ["trips", "legacy_note"]
    assert df["trips"].tolist() == [3, None] and df["flow_version"].tolist() == [1, 2]
    chunk = next(iter_frames(sqlite_url, "sipas"))
    assert "trips" in chunk.columns and "legacy_note" not in chunk.columns  # chunks: keys the versions define
    result = score_flow(sqlite_url, "sipas")
    assert result["indices"] == {"e1": 50.0} and result["flow_version"] == 2


def test_decode_json_texts() -> None:
    out = decode_json_texts(['"4"', None, "null", '["a", "b"]', "3", "2.5", '"Gi\\u1ea5y ph\\u00e9p"', '""', '[]'])
    assert out.tolist() == ["4", None, None, ["a", "b"], 3, 2.5, "Giấy phép", "", []]


def test_parse_period_is_half_open_in_utc() -> None:
    lo, hi = parse_period("2024-Q4")
    assert lo == vn(2024, 10, 1, 0) and hi == vn(2025, 1, 1, 0)
    assert parse_period("2024-12") == (vn(2024, 12, 1, 0), vn(2025, 1, 1, 0))
    assert parse_period("2024-03-01..") == (vn(2024, 3, 1, 0), None)
    assert parse_period("..2024-03-01") == (None, vn(2024, 3, 2, 0))
    with pytest.raises(ValueError):
        parse_period("..")

