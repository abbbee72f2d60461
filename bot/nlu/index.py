"""The in-memory search index over official questions: BM25 on canonical tokens and syllable
bigrams, plus similarity features for the best few.

Each entry has two fields: its question (with the topic's words) and its answer, weighted less.
Terms are the canonical tokens of :mod:`bot.nlu.normalize` and the pairs of adjacent tokens; a pair
that is a Vietnamese word (underthesea's dictionary, or found by segmenting the official
questions) counts more than a pair that merely sits side by side. Postings are numpy arrays, so
a query costs a few vectorised additions whatever the size of the knowledge base.

For the best ``k`` entries :meth:`KbIndex.search` also returns features that do not depend on the
size of the knowledge base — how much of the query the entry explains (``cov_q``), how much of the
entry's question the query covers (``cov_d``), a character-level similarity that forgives typos
(``char``), how much of the query the entry's answer contains (``cov_a``: officials answer in the
words citizens use more often than they ask in them), how much of it the question and one sentence
of the answer contain together (``cov_s``: the words of a detail sit in the same sentence), whether
the entry asks what the query asks (``facet``) — summed into the rank score with weights learned by
:mod:`bot.nlu.rerank`, and calibrated by :mod:`bot.nlu.retrieval`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from rapidfuzz import fuzz

from ..text import fold
from .kb import KbEntry
from .normalize import Synonyms, TextNormalizer, compound_pairs, dictionary_words


@dataclass(frozen=True)
class IndexParams:
    k1: float = 1.2
    b: float = 0.5
    bigram_word: float = 1.0   # weight of an adjacent pair that is a dictionary word
    bigram_other: float = 0.4  # weight of any other adjacent pair
    answer_weight: float = 0.6
    sub_weight: float = 0.25   # each syllable of a canonical expression, on its own
    facet_weight: float = 0.5  # facets in synonyms.yml ("ở đâu", "bao lâu", "lệ phí")
    weak_weight: float = 0.3   # words listed as weak in synonyms.yml ("thủ tục", "làm", "cần")
    # rank score = w_bm25·bm25n + w_cov_q·cov_q + w_cov_d·cov_d + w_char·char + w_cov_a·cov_a + w_facet·facet
    # (the w_* are learned on the development set by bot.nlu.rerank)
    w_bm25: float = 1.0
    w_cov_q: float = 0.6
    w_cov_d: float = 0.4
    w_char: float = 0.3
    w_cov_a: float = 0.0       # how much of the query the entry's answer contains
    w_facet: float = 0.0       # +1 the entry's question asks what the query asks (where, how long…), -1 another thing
    w_cov_e: float = 0.0       # how much of the query the entry as a whole (question and answer) contains
    w_miss: float = 0.0        # the weightiest query word the entry's question lacks
    w_cov_s: float = 0.0       # how much of the query the question and one sentence of the answer contain together
    partial: float = 0.5       # credit for a word that shares a syllable with the entry's
    depth: int = 10  # how many BM25 hits get the full features

    @classmethod
    def from_json(cls, data: dict[str, float] | None) -> "IndexParams":
        if not data:
            return cls()
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: (int(v) if k == "depth" else float(v)) for k, v in data.items() if k in known})


@dataclass
class Hit:
    doc: int
    score: float  # rank score (not a probability)
    bm25n: float
    cov_q: float
    cov_d: float
    char: float
    cov_a: float = 0.0
    facet: float = 0.0
    cov_e: float = 0.0
    info: float = 0.0    # matched information, in "rare words" (idf / the idf of an unseen word), at most 2
    miss: float = 0.0    # the weightiest query word the entry lacks, in the same unit (0 … 1)
    cov_s: float = 0.0   # the best passage's share of the query
    unknown: float = 0.0  # share of the query's weight that no entry has
    margin: float = 0.0  # score minus the best other score

    def features(self) -> dict[str, float]:
        return {"score": self.score, "margin": self.margin, "bm25n": self.bm25n, "cov_q": self.cov_q,
                "cov_d": self.cov_d, "char": self.char, "cov_a": self.cov_a, "facet": self.facet, "cov_e": self.cov_e,
                "info": self.info,
                "miss": self.miss, "unknown": self.unknown, "cov_s": self.cov_s}


@dataclass
class Query:
    text: str
    tokens: list[str]
    content: list[str]
    terms: dict[str, float] = field(default_factory=dict)
    # words for coverage: canonical tokens, dictionary compounds ("so do", "xe may") and other syllables,
    # each with its weight (weak words and facets count less)
    units: dict[str, float] = field(default_factory=dict)


def _idf(n_docs: int, df: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def _postings(fields: list[tuple[list[dict[str, float]], float]], idf: dict[str, float], k1: float, b: float,
              n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """BM25 postings over several fields, each (docs' terms, weight), summed into one array per term."""
    acc: dict[str, dict[int, float]] = {}
    for docs_terms, weight in fields:
        lengths = np.array([sum(t.values()) for t in docs_terms], dtype=np.float64)
        avg = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        for d, terms in enumerate(docs_terms):
            nd = norm[d]
            for t, tf in terms.items():
                v = weight * idf[t] * tf * (k1 + 1) / (tf + nd)
                slot = acc.setdefault(t, {})
                slot[d] = slot.get(d, 0.0) + v
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t, docs in acc.items():
        out[t] = (np.fromiter(docs.keys(), dtype=np.int32, count=len(docs)),
                  np.fromiter(docs.values(), dtype=np.float32, count=len(docs)))
    return out


class KbIndex:
    def __init__(self, entries: Sequence[KbEntry], synonyms: Synonyms, params: IndexParams | None = None,
                 *, segment: bool = True) -> None:
        self.entries = list(entries)
        self.params = params or IndexParams()
        vocab: set[str] = set()
        for e in self.entries:
            vocab.update(fold(f"{e.question} {e.answer} {e.topic or ''}").replace("_", " ").split())
        self.normalizer = TextNormalizer(synonyms, vocab)
        syllables, dict_pairs = dictionary_words()
        pairs = set(dict_pairs)
        if segment:
            pairs |= compound_pairs(e.question for e in self.entries)
        self.word_pairs = frozenset(pairs)
        self._pair_cache: dict[tuple[str, str], bool] = {}
        q_terms: list[dict[str, float]] = []
        a_terms: list[dict[str, float]] = []
        self.doc_units: list[dict[str, float]] = []
        self.answer_units: list[frozenset[str]] = []
        self.doc_facets: list[frozenset[str]] = []
        self.doc_syllables: list[set[str]] = []
        self.doc_strings: list[str] = []
        self.passages: list[tuple[frozenset[str], ...]] = []
        unit_df: dict[str, int] = {}
        for e in self.entries:
            topic = (e.topic or "").replace("_", " ").replace("-", " ")
            q = self.analyze(f"{e.question} {topic}")
            a = self.analyze(e.answer)
            q_terms.append(q.terms)
            a_terms.append(a.terms)
            self.doc_units.append(q.units)
            self.answer_units.append(frozenset(a.units) | {x for u in a.units for x in u.split("_")})
            # the question with one sentence of the answer at a time: words that go together
            self.passages.append(tuple(frozenset(q.units) | frozenset(self.analyze(part).units)
                                       for part in _sentences(e.answer)))
            self.doc_facets.append(frozenset(t for t in q.content if t in synonyms.facets))
            self.doc_syllables.append({part for u in q.units for part in u.split("_")})
            self.doc_strings.append(" ".join(self.analyze(e.question).content))
            for u in set(q.units) | set(a.units):
                unit_df[u] = unit_df.get(u, 0) + 1
        p = self.params
        n = len(self.entries)
        df: dict[str, int] = {}
        for qt, at in zip(q_terms, a_terms):
            for t in set(qt) | set(at):
                df[t] = df.get(t, 0) + 1
        self.idf = {t: _idf(n, c) for t, c in df.items()}
        self.unit_idf = {u: _idf(n, c) for u, c in unit_df.items()}
        self.max_idf = _idf(n, 0)
        self.postings = _postings([(q_terms, 1.0), (a_terms, p.answer_weight)], self.idf, p.k1, p.b, n)
        self.doc_mass = [sum(w * self.unit_idf[u] for u, w in units.items()) or 1.0 for units in self.doc_units]
        self.by_id = {e.id: i for i, e in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries)

    def _is_word(self, a: str, b: str) -> bool:
        if "_" in a or "_" in b:
            return True
        key = (a, b)
        hit = self._pair_cache.get(key)
        if hit is None:
            hit = key in self.word_pairs
            if len(self._pair_cache) < 200_000:
                self._pair_cache[key] = hit
        return hit

    def _known_parts(self, unit: str) -> bool:
        """A compound none of whose syllables is unknown counts as known (partial credit elsewhere)."""
        return "_" in unit and all(x in self.unit_idf for x in unit.split("_"))

    def _content(self, tokens: list[str], weak: frozenset[str]) -> list[str]:
        """``tokens`` without particles — except a particle that makes a word with a meaningful
        neighbour: folded text loses the tones that told "chị" (sister) from "chỉ" in "địa chỉ",
        "đó" from "đỏ" in "sổ đỏ", "tỉ" in "tỉ lệ"."""
        is_particle = self.normalizer.is_particle
        out: list[str] = []
        n = len(tokens)
        for i, t in enumerate(tokens):
            if is_particle(t):
                prev = tokens[i - 1] if i else ""
                nxt = tokens[i + 1] if i + 1 < n else ""
                if not ((prev and "_" not in prev and not is_particle(prev) and prev not in weak
                         and (prev, t) in self.word_pairs)
                        or (nxt and "_" not in nxt and not is_particle(nxt) and nxt not in weak
                            and (t, nxt) in self.word_pairs)):
                    continue
            out.append(t)
        return out

    def analyze(self, text: str, expanded: list[str] | None = None) -> Query:
        tokens = self.normalizer.tokens(text, expanded)
        weak = self.normalizer.synonyms.weak
        content = self._content(tokens, weak)
        terms: dict[str, float] = {}
        facets = self.normalizer.synonyms.facets
        p = self.params
        for t in content:
            # a canonical expression weighs like a two-syllable word, and its syllables count a little on
            # their own ("dang_ky_kinh_doanh" still meets "ho_kinh_doanh" on "kinh", "doanh")
            n = t.count("_") + 1
            w = min(n, 2) * (p.weak_weight if t in weak else p.facet_weight if t in facets else 1.0)
            terms[t] = terms.get(t, 0.0) + w
            if n > 1 and p.sub_weight and t not in weak and t not in facets:
                for part in t.split("_"):
                    if part not in weak and not self.normalizer.is_particle(part):
                        terms[part] = terms.get(part, 0.0) + p.sub_weight
        for a, b in zip(content, content[1:]):
            key = f"{a}|{b}"
            w = p.bigram_word if self._is_word(a, b) else p.bigram_other
            if a in weak or b in weak:
                w *= p.weak_weight
            terms[key] = terms.get(key, 0.0) + w
        units: dict[str, float] = {}
        i, n = 0, len(content)
        while i < n:
            t = content[i]
            if (i + 1 < n and "_" not in t and "_" not in content[i + 1] and t not in weak
                    and content[i + 1] not in weak and (t, content[i + 1]) in self.word_pairs):
                units[f"{t}_{content[i + 1]}"] = 2.0
                i += 2
                continue
            units[t] = min(t.count("_") + 1, 2) * (p.weak_weight if t in weak else p.facet_weight if t in facets else 1.0)
            i += 1
        return Query(text=text, tokens=tokens, content=content, terms=terms, units=units)

    def search(self, query: Query, k: int = 5, *, unit: str | None = None) -> list[Hit]:
        """The best ``k`` entries for ``query`` with their features, best first (empty if nothing matches)."""
        n = len(self.entries)
        if not n or not query.terms:
            return []
        p = self.params
        scores = np.zeros(n, dtype=np.float32)
        postings = self.postings
        for t, w in query.terms.items():
            hit = postings.get(t)
            if hit is not None:
                scores[hit[0]] += w * hit[1]
        depth = min(p.depth, n)
        if depth < n:
            top = np.argpartition(-scores, depth - 1)[:depth]
        else:
            top = np.arange(n)
        top = top[scores[top] > 0]
        if not len(top):
            return []
        # the query's own weight: what a perfect match would score
        idf = self.idf
        max_idf = self.max_idf
        qnorm = sum(w * idf.get(t, max_idf) for t, w in query.terms.items()) * (p.k1 + 1)
        unit_idf = self.unit_idf
        uni = {u: w * unit_idf.get(u, max_idf) for u, w in query.units.items()}
        uni_mass = sum(uni.values()) or 1.0
        # how much of the query no entry knows at all ("sổ đỏ", "rượu" in a knowledge base without them)
        # (a compound none of them has, though they have its syllables — "sổ đỏ", "học sinh" — counts half)
        unknown = sum(v * (0.5 if self._known_parts(u) else 1.0) for u, v in uni.items() if u not in unit_idf) / uni_mass
        qstring = " ".join(query.content)
        qfacets = {t for t in query.content if t in self.normalizer.synonyms.facets}
        parts = [(u, v, u.split("_")) for u, v in uni.items()]
        hits: list[Hit] = []
        for d in top.tolist():
            doc_units = self.doc_units[d]
            doc_syl = self.doc_syllables[d]
            answer_units = self.answer_units[d]
            # a word the entry has, or half of it when they share a syllable ("tinh" and "tinh_diem")
            matched = in_answer = in_entry = 0.0
            present: list[tuple[str, float]] = []  # the query's words the entry has (for cov_s)
            missing = 0.0  # the weightiest word of the query the entry does not have
            for u, v, syl in parts:
                in_question = u in doc_units
                if in_question:
                    matched += v
                elif any(x in doc_syl for x in syl):
                    matched += p.partial * v
                    missing = max(missing, (1 - p.partial) * v)
                else:
                    missing = max(missing, v)
                if u in answer_units:
                    in_answer += v
                    in_entry += v
                    present.append((u, v))
                elif in_question:
                    in_entry += v
                    present.append((u, v))
            cov_q = matched / uni_mass
            cov_d = sum(w * unit_idf[u] for u, w in doc_units.items() if u in uni) / self.doc_mass[d]
            char = fuzz.token_set_ratio(qstring, self.doc_strings[d]) / 100.0
            bm25n = float(scores[d]) / qnorm if qnorm else 0.0
            cov_a = in_answer / uni_mass
            cov_e = in_entry / uni_mass
            cov_s = max([cov_q] + [sum(v for u, v in present if u in ps) / uni_mass for ps in self.passages[d]])
            facet = _facet_agreement(qfacets, self.doc_facets[d])
            s = (p.w_bm25 * bm25n + p.w_cov_q * cov_q + p.w_cov_d * cov_d + p.w_char * char
                 + p.w_cov_a * cov_a + p.w_facet * facet + p.w_cov_e * cov_e + p.w_miss * missing / (2 * max_idf)
                 + p.w_cov_s * cov_s)
            if unit:
                s *= _unit_factor(self.entries[d].unit, unit)
            hits.append(Hit(doc=d, score=s, bm25n=bm25n, cov_q=cov_q, cov_d=cov_d, char=char, cov_a=cov_a, facet=facet, cov_e=cov_e,
                            info=min(2.0, matched / max_idf), miss=missing / (2 * max_idf), unknown=unknown,
                            cov_s=cov_s))
        hits.sort(key=lambda h: -h.score)
        for i, h in enumerate(hits):
            other = hits[1].score if i == 0 and len(hits) > 1 else (hits[0].score if i > 0 else 0.0)
            h.margin = h.score - other
        return hits[:k]


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _facet_agreement(query: set[str], entry: frozenset[str]) -> float:
    """+1 when the entry's question asks what the query asks ("ở đâu" and "ở đâu"), -1 when it asks only
    something else ("bao lâu"), 0 when either says nothing: an official question about the right procedure
    but the wrong facet is the commonest near miss."""
    if not query or not entry:
        return 0.0
    return 1.0 if query & entry else -1.0


def _unit_factor(entry_unit: str | None, unit: str) -> float:
    """Prefer the respondent's own unit's answers; set aside another province's local answers."""
    if not entry_unit:
        return 1.0
    if entry_unit == unit:
        return 1.08
    if entry_unit.startswith(("p.", "p63.")):
        return 0.85
    return 1.0
