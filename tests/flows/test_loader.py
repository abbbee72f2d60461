"""Officials edit flow files: every mistake must come back with its file, line and a plain message."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.flows import FlowInvalid, load_flow_text, validate_flow_file
from bot.settings import REPO_ROOT

GOOD = """\
id: demo
version: 1
title: Demo
closing: Cảm ơn
sections:
  - id: s
    questions:
      - {key: a, type: yes_no, text: "A?"}
      - {key: b, type: text, text: "B?", when: {key: a, equals: "yes"}}
"""


def errors(text: str) -> list[str]:
    with pytest.raises(FlowInvalid) as e:
        load_flow_text(text, "f.yaml")
    return [str(err) for err in e.value.errors]


def test_seed_flows_are_valid() -> None:
    for path in sorted((REPO_ROOT / "survey_flows").glob("*.yaml")):
        assert validate_flow_file(path) == [], path


def test_good_flow_loads_with_result_keys() -> None:
    flow = load_flow_text(GOOD)
    assert flow.result_keys == ["a", "b"] and flow.question("b").number == 2


def test_unquoted_yes_as_choice_id_is_explained_with_its_line() -> None:
    text = GOOD.replace('- {key: b, type: text, text: "B?", when: {key: a, equals: "yes"}}',
                        "- key: c\n        type: single\n        text: C\n        choices:\n          - {id: yes, label: Có}")
    [msg] = errors(text)
    assert msg.startswith("f.yaml:13:") and "quotes" in msg


def test_all_errors_reported_at_once_with_lines() -> None:
    text = GOOD.replace("version: 1", "version: one").replace("type: yes_no", "type: yesno")
    found = errors(text)
    assert len(found) == 2
    assert found[0].startswith("f.yaml:2:") and "whole number" in found[0]
    assert found[1].startswith("f.yaml:8:") and "yesno" in found[1]


def test_condition_on_a_later_or_unknown_question() -> None:
    [msg] = errors(GOOD.replace("when: {key: a,", "when: {key: zz,"))
    assert msg.startswith("f.yaml:9:") and "'zz'" in msg


def test_duplicate_key() -> None:
    [msg] = errors(GOOD.replace("key: b", "key: a").replace('when: {key: a, equals: "yes"}', "required: false"))
    assert "used twice" in msg and msg.startswith("f.yaml:9:")


def test_unknown_field_and_missing_field() -> None:
    found = errors(GOOD.replace("closing: Cảm ơn\n", "closng: Cảm ơn\n"))
    assert any("missing field 'closing'" in m for m in found)
    assert any("unknown field 'closng'" in m for m in found)


def test_not_yaml() -> None:
    [msg] = errors("id: [unclosed\n")
    assert msg.startswith("f.yaml:") and "not valid YAML" in msg


def test_scoring_refers_to_unknown_question() -> None:
    text = GOOD + "scoring:\n  indices:\n    - {name: x, method: share, keys: [nope], positive: [\"yes\"]}\n"
    [msg] = errors(text)
    assert "'nope'" in msg and msg.startswith("f.yaml:12:")


def test_cli_validate_prints_errors_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("version: 1", "version: 0"), encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "flows", "validate", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert run.returncode == 1
    assert f"{bad}:2: version:" in run.stdout and f"{good}: ok" in run.stdout
