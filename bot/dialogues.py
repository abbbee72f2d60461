"""The bot's phrases, loaded from ``dialogues/<lang>.yaml`` so officials can reword them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .text import fold


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Dialogues:
    phrases: dict[str, str]
    commands: dict[str, frozenset[str]]

    def say(self, key: str, **params: Any) -> str:
        template = self.phrases.get(key, key)
        return template.format_map(_Blank({k: "" if v is None else v for k, v in params.items()}))

    def command(self, text: str) -> tuple[str, str] | None:
        """("edit", "3") for "sửa câu 3"; None when the message is not a command."""
        folded = fold(text)
        if not folded or len(folded) > 40:
            return None
        for name, words in self.commands.items():
            if folded in words:
                return name, ""
        for word in sorted(self.commands.get("edit", ()), key=len, reverse=True):
            if folded.startswith(word + " "):
                rest = folded[len(word) + 1:].strip()
                if rest.isascii() and rest.isdigit() and len(rest) < 7:
                    return "edit", rest
        return None


def load_dialogues(directory: Path, language: str = "vi") -> Dialogues:
    data = yaml.safe_load((directory / f"{language}.yaml").read_text(encoding="utf-8"))
    commands = {name: frozenset(fold(w) for w in words) for name, words in data.pop("commands", {}).items()}
    return Dialogues(phrases={k: str(v) for k, v in data.items()}, commands=commands)
