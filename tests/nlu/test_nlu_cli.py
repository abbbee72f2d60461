"""The command-line contract: `hailong kb import|list`, `hailong nlu ask --json` (argument or one question
per line on standard input, one JSON object per line) and `hailong nlu eval`, on the database that
HAILONG_DATABASE_URL names — SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.settings import REPO_ROOT, Settings

SEED = REPO_ROOT / "nlu_data" / "kb" / "seed.jsonl"
KEYS = {"text", "intent", "confidence", "answer", "answer_id", "matched_question", "escalate", "candidates"}


def hailong(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env["HAILONG_DATABASE_URL"] = settings.effective_database_url
    env["HAILONG_DATA_DIR"] = str(settings.data_dir)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=REPO_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_import_list_ask_and_eval(settings: Settings, tmp_path: Path) -> None:
    r = hailong(settings, "kb", "import", str(SEED))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("entries: 53 new, 0 updated, 0 unchanged")
    r = hailong(settings, "kb", "list", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 53 and {"id", "question", "answer", "topic", "unit", "source"} <= set(rows[0])

    r = hailong(settings, "nlu", "ask", "--json", "lam cccd o dau z")
    assert r.returncode == 0, r.stderr
    [line] = r.stdout.splitlines()
    out = json.loads(line)
    assert set(out) == KEYS
    assert out["text"] == "lam cccd o dau z" and out["intent"] == "ask_question"
    assert out["answer_id"] == "cancuoc.noi_lam" and out["answer"] and out["escalate"] is False
    assert out["matched_question"] == "Làm thẻ căn cước ở đâu?"
    assert out["candidates"][0] == {"answer_id": "cancuoc.noi_lam", "question": "Làm thẻ căn cước ở đâu?",
                                    "score": out["confidence"]}

    r = hailong(settings, "nlu", "ask", "--json", stdin="xin chào\n\ngiá vàng hôm nay bao nhiêu\nthủ tục đăng ký kết hôn\n")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["xin chào", "giá vàng hôm nay bao nhiêu", "thủ tục đăng ký kết hôn"]
    assert lines[0]["intent"] == "greeting" and lines[0]["answer"] is None
    assert lines[1]["answer"] is None and lines[1]["escalate"] is True
    assert lines[2]["answer_id"] == "hotich.ket_hon"

    f = tmp_path / "eval.tsv"
    f.write_text("# a comment\ncancuoc.noi_lam\tlam cccd o dau\nnone\tgiá vàng hôm nay\n"
                 "intent:greeting\txin chào\n", encoding="utf-8")
    r = hailong(settings, "nlu", "eval", str(f), "--backend", "builtin,nosuch")
    assert r.returncode == 0, r.stderr
    assert "skipped nosuch: not installed here" in r.stdout
    assert "top-1 accuracy" in r.stdout and "100.0%" in r.stdout
    assert "answered instead of escalated             0.0% (0)" in r.stdout
    assert "builtin: 0 misses" in r.stdout


def test_import_errors_exit_non_zero_and_import_nothing(settings: Settings, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("question,answer\nHỏi?,Đáp\n,Đáp mà không hỏi\n", encoding="utf-8")
    r = hailong(settings, "kb", "import", str(f))
    assert r.returncode == 1
    assert f"{f}:3: 'question' is missing or empty" in r.stderr
    assert "nothing imported: 1 error" in r.stderr
    assert hailong(settings, "kb", "list", "--json").stdout == ""
