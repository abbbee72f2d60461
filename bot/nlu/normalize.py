"""Vietnamese text as the built-in NLU compares it: folded syllables, shorthand expanded, typos
repaired, synonyms merged into one canonical token.

Citizens type "lam cccd o dau z", "dk khai sihn", "thur tucj"; officials write "Làm thẻ căn cước ở
đâu?". Both sides go through the same steps so they meet:

1. ``bot.text.clean`` + ``fold`` (no diacritics, đ → d, no punctuation) and ``bot.text.expand``'s
   shorthand (k, ko, dc, cccd, tthc, ubnd …), then the extra shorthand of ``nlu_data/synonyms.yml``
   (j, z, ntn, hs, bn …) and its context-dependent entries ("dk" = "được" or "đăng ký");
2. typo repair against a vocabulary (the knowledge base's own syllables): a token that is not a
   Vietnamese syllable (underthesea's Viet74K dictionary) is mended by dropping a telex tone key
   left over ("tucj" → "tuc"), splitting two glued syllables ("cancuoc") or one edit
   (Damerau–Levenshtein 1: "sihn" → "sinh");
3. synonym groups ("cmnd", "chứng minh thư" → ``chung_minh_nhan_dan``; "ở đâu", "chỗ nào" → ``o_dau``),
   longest expression first, each replaced by one token.

Word segmentation (underthesea) is used where diacritics are present — the official questions — to
learn which syllable pairs are words (:func:`segment_words`); folded citizen text is matched with
syllable bigrams weighted by that lexicon.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import yaml
from rapidfuzz.distance import OSA
from rapidfuzz import process

from ..text import ABBREVIATIONS, clean, fold

log = logging.getLogger(__name__)

_TELEX_TONES = "sfrxj"
_VOWELS = set("aeiouy")
_ALNUM = re.compile(r"^[a-z0-9]+$")


class SynonymsError(ValueError):
    pass


@dataclass(frozen=True)
class Contextual:
    default: str
    at_end: str
    before: frozenset[str]
    replacement_before: str


@dataclass(frozen=True)
class Synonyms:
    """The contents of ``nlu_data/synonyms.yml``, folded."""

    abbreviations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contextual: Mapping[str, Contextual] = field(default_factory=dict)
    particles: frozenset[str] = frozenset()
    # canonical tokens that say little about which answer is meant ("thu tuc", "lam")
    weak: frozenset[str] = frozenset()
    # canonical tokens naming what is asked about a procedure ("o_dau", "bao_lau", "le_phi")
    facets: frozenset[str] = frozenset()
    # expressions that make a message a question, anywhere or as its last word
    question_words: frozenset[tuple[str, ...]] = frozenset()
    question_endings: frozenset[str] = frozenset()
    question_starts: frozenset[str] = frozenset()
    closing_words: frozenset[str] = frozenset()  # may follow the question word: "… không cháu", "… không ạ"
    # folded expression (tuple of syllables) → canonical token ("can_cuoc")
    phrases: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    max_phrase: int = 1

    @property
    def words(self) -> set[str]:
        """Every syllable the file mentions (part of the typo-repair vocabulary)."""
        out: set[str] = set()
        for p in self.phrases:
            out.update(p)
        for exp in self.abbreviations.values():
            out.update(exp)
        return out


def _fold_words(text: object) -> tuple[str, ...]:
    return tuple(fold(str(text)).split())


def load_synonyms(path: Path) -> Synonyms:
    """Read and check ``synonyms.yml``; a missing file means no synonyms."""
    if not path.exists():
        return Synonyms()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise SynonymsError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise SynonymsError(f"{path}: expected a mapping at the top")
    abbreviations: dict[str, tuple[str, ...]] = {}
    for k, v in (data.get("abbreviations") or {}).items():
        key = fold(str(k))
        if " " in key or not key:
            raise SynonymsError(f"{path}: abbreviation {k!r} must be one word")
        abbreviations[key] = _fold_words(v)
    contextual: dict[str, Contextual] = {}
    for k, v in (data.get("contextual") or {}).items():
        if not isinstance(v, dict) or "default" not in v:
            raise SynonymsError(f"{path}: contextual {k!r} needs at least 'default'")
        contextual[fold(str(k))] = Contextual(
            default=fold(str(v["default"])), at_end=fold(str(v.get("at_end", v["default"]))),
            before=frozenset(fold(str(w)) for w in v.get("before") or ()),
            replacement_before=fold(str(v.get("replacement_before", v["default"]))))
    particles = frozenset(fold(str(p)) for p in data.get("particles") or ())
    phrases: dict[tuple[str, ...], str] = {}
    for i, group in enumerate(data.get("groups") or (), 1):
        if not isinstance(group, list) or not group:
            raise SynonymsError(f"{path}: group {i} must be a non-empty list")
        canonical = "_".join(_fold_words(group[0]))
        for expr in group:
            words = _fold_words(expr)
            if not words:
                continue
            if words in phrases and phrases[words] != canonical:
                raise SynonymsError(f"{path}: {expr!r} is in two groups ({phrases[words]} and {canonical})")
            phrases[words] = canonical
    def tokens_of(key: str) -> frozenset[str]:
        return frozenset(phrases.get(_fold_words(w), "_".join(_fold_words(w))) for w in data.get(key) or ())

    return Synonyms(abbreviations=abbreviations, contextual=contextual, particles=particles,
                    weak=tokens_of("weak"), facets=tokens_of("facets"),
                    question_words=frozenset(_fold_words(w) for w in data.get("question_words") or ()),
                    question_endings=frozenset(fold(str(w)) for w in data.get("question_endings") or ()),
                    question_starts=frozenset(fold(str(w)) for w in data.get("question_starts") or ()),
                    closing_words=frozenset(fold(str(w)) for w in data.get("closing_words") or ()),
                    phrases=phrases, max_phrase=max((len(p) for p in phrases), default=1))


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """Folded Vietnamese syllables and two-syllable words from underthesea's Viet74K dictionary."""
    try:
        from underthesea.corpus import viet_dict_74K

        words = viet_dict_74K.words
    except Exception as e:  # the dictionary ships inside the wheel; never downloaded
        log.warning("underthesea dictionary unavailable (%s): typo repair uses the knowledge base only", e)
        words = []
    folded: dict[str, list[str]] = {}  # fold each distinct syllable once (~8k), not each of the 74k words

    def parts_of(syllable: str) -> list[str]:
        hit = folded.get(syllable)
        if hit is None:
            hit = folded[syllable] = fold(syllable).split()
        return hit

    syllables: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for w in words:
        parts = [p for s in w.lower().split() for p in parts_of(s)]
        if len(parts) == 2:
            pairs.add((parts[0], parts[1]))
    for parts in folded.values():
        syllables.update(p for p in parts if _ALNUM.match(p))
    return frozenset(syllables), frozenset(pairs)


def segment_words(text: str) -> list[str]:
    """underthesea's word segmentation of a text with diacritics: ["Làm", "căn cước", "ở", "đâu"]."""
    from underthesea import text_normalize, word_tokenize

    try:
        return list(word_tokenize(text_normalize(clean(text))))
    except Exception:  # a model error must not stop an import; fall back to syllables
        return clean(text).split()


def compound_pairs(texts: Iterable[str]) -> set[tuple[str, str]]:
    """Folded two-syllable words found by segmenting ``texts`` (the official questions)."""
    pairs: set[tuple[str, str]] = set()
    for t in texts:
        for w in segment_words(t):
            parts = fold(w).split()
            for a, b in zip(parts, parts[1:]):
                pairs.add((a, b))
    return pairs


_TELEX_MARKS = (("dd", "d"), ("aa", "a"), ("ee", "e"), ("oo", "o"), ("uw", "u"), ("ow", "o"), ("aw", "a"), ("w", "u"))
_VOWELS = frozenset("aeiouy")
_FINALS = frozenset({"c", "ch", "m", "n", "ng", "nh", "p", "t"})  # what may follow a tone key typed mid-word


def _telex_readings(t: str) -> list[str]:
    """``t`` typed in telex with the keyboard's Vietnamese mode off, read back as plain letters: every mark
    key removed, with and without one tone key (s f r x j) at the end or between a vowel and the final
    consonant ("cuowsc")."""
    def marks(x: str) -> str:
        for a, b in _TELEX_MARKS:
            x = x.replace(a, b)
        return x
    out = [marks(t)]
    for i in range(1, len(t)):
        if t[i] in _TELEX_TONES and (i == len(t) - 1 or (t[i - 1] in _VOWELS | {"w"} and t[i + 1:] in _FINALS)):
            out.append(marks(t[:i] + t[i + 1:]))
    return [c for c in out if c != t]


class TextNormalizer:
    """Text → canonical tokens. ``vocabulary`` (folded syllables) is what typos are repaired towards."""

    def __init__(self, synonyms: Synonyms, vocabulary: Iterable[str] = (), *, syllables: frozenset[str] | None = None):
        self.synonyms = synonyms
        self.syllables = dictionary_words()[0] if syllables is None else syllables
        vocab = set(vocabulary) | synonyms.words
        self.vocabulary = frozenset(v for v in vocab if _ALNUM.match(v))
        self._by_initial: dict[str, list[str]] = {}
        for v in sorted(self.vocabulary):
            self._by_initial.setdefault(v[0], []).append(v)
        self._repairs: dict[str, str] = {}
        abbreviations = dict(ABBREVIATIONS)
        abbreviations.update({k: " ".join(v) for k, v in synonyms.abbreviations.items()})
        self._abbrev = {k: tuple(v.split()) for k, v in abbreviations.items()}

    # -- step 1: fold and expand shorthand
    def expand(self, text: str) -> list[str]:
        toks = fold(clean(text)).split()
        out: list[str] = []
        n = len(toks)
        for i, t in enumerate(toks):
            ctx = self.synonyms.contextual.get(t)
            if ctx is not None:
                if i == n - 1:
                    out.extend(ctx.at_end.split())
                elif toks[i + 1] in ctx.before:
                    out.extend(ctx.replacement_before.split())
                else:
                    out.extend(ctx.default.split())
                continue
            exp = self._abbrev.get(t)
            if exp is not None:
                out.extend(exp)
            else:
                out.append(t)
        return out

    # -- step 2: typo repair
    def repair(self, token: str) -> str:
        if token in self.vocabulary or token in self.syllables or not token.isalpha() or len(token) > 12:
            return token
        hit = self._repairs.get(token)
        if hit is not None:
            return hit
        fixed = self._repair(token)
        if len(self._repairs) < 100_000:
            self._repairs[token] = fixed
        return fixed

    def _known(self, t: str) -> bool:
        return t in self.vocabulary or t in self.syllables

    def _repair(self, t: str) -> str:
        # a telex tone key left at the end ("tucj", "cuocs") or a doubled vowel/d ("ddang", "hoo")
        if len(t) > 2 and t[-1] in _TELEX_TONES and self._known(t[:-1]):
            return t[:-1]
        for a, b in _TELEX_MARKS:
            if a in t:
                cand = t.replace(a, b)
                if self._known(cand):
                    return cand
        # two syllables typed together ("cancuoc", "khaisinh", "hoso")
        if len(t) >= 4:
            for i in range(2, len(t) - 1):
                left, right = t[:i], t[i:]
                if left in self.vocabulary and right in self.vocabulary:
                    return f"{left} {right}"
        # several telex keys at once, a tone key after a vowel or at the end ("ddawng", "keets", "cuowsc")
        for cand in _telex_readings(t):
            if self._known(cand):
                return cand
        # one edit (insertion, deletion, substitution, transposition) away from the knowledge base
        # (not for short tokens, and the first letter stays: "oto" must not become "to")
        same_initial = self._by_initial.get(t[0])
        if len(t) >= 4 and same_initial:
            best = process.extractOne(t, same_initial, scorer=OSA.distance, score_cutoff=1)
            if best is not None:
                return best[0]
        return t

    # -- step 3: synonyms
    def canonical(self, toks: list[str]) -> list[str]:
        phrases = self.synonyms.phrases
        maxlen = self.synonyms.max_phrase
        out: list[str] = []
        i, n = 0, len(toks)
        while i < n:
            for L in range(min(maxlen, n - i), 0, -1):
                c = phrases.get(tuple(toks[i:i + L]))
                if c is not None:
                    out.append(c)
                    i += L
                    break
            else:
                out.append(toks[i])
                i += 1
        return out

    def tokens(self, text: str, expanded: list[str] | None = None) -> list[str]:
        """Canonical tokens of ``text`` (or of its :meth:`expand` result), particles included."""
        toks: list[str] = []
        for t in (self.expand(text) if expanded is None else expanded):
            r = self.repair(t)
            if " " in r:
                toks.extend(r.split())
            else:
                toks.append(r)
        return self.canonical(toks)

    def is_question(self, text: str, expanded: list[str] | None = None) -> bool:
        """Does ``text`` read as a question ("?", "ở đâu", "bao nhiêu", "... không")?"""
        if "?" in text:
            return True
        toks = self.expand(text) if expanded is None else expanded
        if not toks:
            return False
        start = 0
        while start < len(toks) - 1 and toks[start] in self.synonyms.particles:
            start += 1
        if toks[start] in self.synonyms.question_starts and len(toks) > start + 1:
            return True
        # "... có lâu không cháu", "... ẩn danh không ạ": a question may end in a polite particle or a
        # form of address
        end = len(toks)
        while end > 1:
            if toks[end - 1] in self.synonyms.question_endings:
                return True
            if toks[end - 1] not in self.synonyms.particles and toks[end - 1] not in self.synonyms.closing_words:
                break
            end -= 1
        words = self.synonyms.question_words
        for n in {len(w) for w in words}:
            for i in range(len(toks) - n + 1):
                if tuple(toks[i:i + n]) in words:
                    return True
        return False

    def is_particle(self, token: str) -> bool:
        return token in self.synonyms.particles
