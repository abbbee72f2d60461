"""Intents from ``nlu_data/nlu.yml`` (Rasa 3 format) and a small classifier trained on them at start-up.

The classifier is multinomial logistic regression (numpy only) over TF-IDF features of the folded,
shorthand-expanded text: character n-grams (2–5, which forgive typos and missing diacritics) plus
word unigrams and bigrams. Training ~250 short examples takes well under a second, so the model is
never stored: ``nlu.yml`` stays the single source of training data, shared with the Rasa backend.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import yaml

from .base import INTENTS

_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
_EXAMPLE = re.compile(r"^\s*-\s?(.*)$")


class NluDataError(ValueError):
    pass


def _examples(block: object, where: str) -> list[str]:
    if isinstance(block, list):  # examples as a YAML list (also accepted by Rasa)
        lines = [str(x.get("text", "")) if isinstance(x, dict) else str(x) for x in block]
        return [_ANNOTATION.sub(r"\1", s).strip() for s in lines if str(s).strip()]
    if not isinstance(block, str):
        raise NluDataError(f"{where}: 'examples' must be a block of '- example' lines")
    out = []
    for line in block.splitlines():
        if not line.strip():
            continue
        m = _EXAMPLE.match(line)
        if not m:
            raise NluDataError(f"{where}: example line {line!r} must start with '- '")
        text = _ANNOTATION.sub(r"\1", m.group(1)).strip()
        if text:
            out.append(text)
    return out


def load_nlu_yaml(path: Path) -> dict[str, list[str]]:
    """Intent → examples from a Rasa 3 ``nlu.yml`` (entity annotations stripped; synonym, regex and
    lookup items ignored). Only the intents of :data:`INTENTS` are accepted."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise NluDataError(f"{path}: not valid YAML: {e}") from None
    items = data.get("nlu") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise NluDataError(f"{path}: expected a top-level 'nlu:' list (Rasa 3 format)")
    out: dict[str, list[str]] = {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or "intent" not in item:
            continue  # synonym:, regex:, lookup: items
        name = str(item["intent"])
        if name not in INTENTS or name == "none":
            raise NluDataError(f"{path}: item {i}: unknown intent {name!r} (known: {', '.join(INTENTS[:-1])})")
        out.setdefault(name, []).extend(_examples(item.get("examples"), f"{path}: intent {name}"))
    if not out:
        raise NluDataError(f"{path}: no intents")
    return out


def _features(words: Sequence[str]) -> Counter[str]:
    feats: Counter[str] = Counter()
    text = " ".join(words)
    padded = f" {text} "
    for n in (2, 3, 4, 5):
        for i in range(len(padded) - n + 1):
            feats["c:" + padded[i:i + n]] += 1
    for w in words:
        feats["w:" + w] += 1
    for a, b in zip(words, words[1:]):
        feats[f"b:{a} {b}"] += 1
    return feats


@dataclass(frozen=True)
class IntentScores:
    intent: str
    confidence: float
    probabilities: Mapping[str, float]


class IntentClassifier:
    """``tokenize``: text → folded, shorthand-expanded words (:meth:`TextNormalizer.expand`)."""

    def __init__(self, examples: Mapping[str, Iterable[str]], tokenize: Callable[[str], list[str]], *,
                 l2: float = 1e-3, epochs: int = 250, lr: float = 2.0) -> None:
        self.tokenize = tokenize
        self.labels = sorted(examples)
        texts: list[list[str]] = []
        y: list[int] = []
        for k, label in enumerate(self.labels):
            for ex in examples[label]:
                words = tokenize(ex)
                if words:
                    texts.append(words)
                    y.append(k)
        docs = [_features(t) for t in texts]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.vocab = {f: i for i, f in enumerate(sorted(df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in sorted(df)], dtype=np.float32)
        # sparse rows (CSR): every example has ~150 non-zero features out of thousands
        starts, cols, vals = [], [], []
        for d in docs:
            idx, val = self._vector(d)
            starts.append(len(cols))
            cols.extend(idx.tolist())
            vals.extend(val.tolist())
        col = np.array(cols, dtype=np.int64)
        val = np.array(vals, dtype=np.float64)[:, None]
        row = np.repeat(np.arange(n), np.diff(np.array(starts + [len(cols)])))
        start = np.array(starts, dtype=np.int64)
        n_feat, n_lab = len(self.vocab), len(self.labels)
        Y = np.zeros((n, n_lab))
        Y[np.arange(n), y] = 1.0
        # class-balanced weights: ask_question has more examples than stop
        counts = Y.sum(axis=0)
        sw = (n / (n_lab * counts[y]))[:, None]
        W = np.zeros((n_feat, n_lab))
        b = np.zeros(n_lab)
        for _ in range(epochs):
            logits = np.add.reduceat(W[col] * val, start, axis=0) + b
            P = _softmax(logits)
            G = (P - Y) * sw / n
            contrib = G[row] * val
            grad = np.stack([np.bincount(col, weights=contrib[:, j], minlength=n_feat) for j in range(n_lab)], axis=1)
            W -= lr * (grad + l2 * W)
            b -= lr * G.sum(axis=0)
        W, b = W.astype(np.float32), b.astype(np.float32)
        self.W, self.b = W, b
        # the vocabulary by kind, for looking up a message's features without building them all
        self._by_kind: dict[str, dict[str, int]] = {"c": {}, "w": {}, "b": {}}
        for f, i in self.vocab.items():
            self._by_kind[f[0]][f[2:]] = i

    def _vector(self, feats: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(self.vocab[f], 1.0 + math.log(c)) for f, c in feats.items() if f in self.vocab]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        val = np.fromiter((v for _, v in pairs), dtype=np.float32, count=len(pairs)) * self.idf[idx]
        norm = float(np.linalg.norm(val))
        return idx, val / norm if norm else val

    def _known_vector(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The same vector as ``_vector(_features(words))``, counting only the features the classifier
        knows: a long message has thousands of character n-grams and only the known ones matter."""
        counts: dict[int, int] = {}
        chars, ws, bigrams = self._by_kind["c"], self._by_kind["w"], self._by_kind["b"]
        padded = f" {' '.join(words)} "
        for n in (2, 3, 4, 5):
            for i in range(len(padded) - n + 1):
                j = chars.get(padded[i:i + n])
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
        for w in words:
            j = ws.get(w)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for a, b in zip(words, words[1:]):
            j = bigrams.get(f"{a} {b}")
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        val = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[idx]
        norm = float(np.linalg.norm(val))
        return idx, val / norm if norm else val

    def predict(self, text: str, words: list[str] | None = None) -> IntentScores:
        """``words``: ``tokenize(text)`` if the caller already has it."""
        words = self.tokenize(text) if words is None else words
        idx, val = self._known_vector(words) if words else (np.zeros(0, dtype=np.int64), None)
        if not len(idx):
            return IntentScores("none", 0.0, {})
        logits = val @ self.W[idx] + self.b
        p = _softmax(logits[None, :])[0]
        k = int(p.argmax())
        return IntentScores(self.labels[k], float(p[k]), {l: float(v) for l, v in zip(self.labels, p)})


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
