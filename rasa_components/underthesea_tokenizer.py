"""A Rasa 3.6 tokenizer for Vietnamese: word segmentation by underthesea.

Vietnamese writes one syllable per space-separated unit, so whitespace splitting cuts words apart
("căn cước" is one word, "căn" and "cước" alone mean other things). underthesea's CRF segmenter
(its model ships inside the pip wheel: nothing is downloaded) groups syllables into words; each
word becomes one token with its syllables joined by ``_`` (``căn_cước``), which Rasa's
CountVectorsFeaturizer keeps whole. Tokens are lowercased (``lowercase: true``) and keep their
diacritics: ``hai long`` and ``hài lòng`` stay different tokens for the word featurizer, and the
char n-gram featurizer gives the overlap between them. Unicode is NFC-normalised and old-style
tone marks are normalised by underthesea (``hoà`` → ``hòa``) in the token text; offsets point into
the text as received (for NFC input — what keyboards send — exactly). Pure punctuation and emoji
are dropped like Rasa's WhitespaceTokenizer does, unless nothing else is left.

Use in config.yml (with PYTHONPATH=<repo root>)::

    pipeline:
      - name: rasa_components.underthesea_tokenizer.UnderTheSeaTokenizer
        lowercase: true          # default
        fixed_words: [một cửa]   # optional: syllable groups always kept as one word
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

_WORDLIKE = re.compile(r"\w", re.UNICODE)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class UnderTheSeaTokenizer(Tokenizer):
    """Vietnamese word segmentation (underthesea.word_tokenize), lowercased, diacritics kept."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # as Rasa's own tokenizers
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # ours
            "lowercase": True,
            "fixed_words": [],
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["underthesea"]

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["vi"]

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.lowercase = bool(config.get("lowercase", True))
        self.fixed_words = [str(w) for w in (config.get("fixed_words") or [])]
        # imported here so that loading the class (the graph's validation) stays cheap
        from underthesea import word_tokenize
        from underthesea.pipeline.text_normalize import token_normalize
        from underthesea.pipeline.text_normalize.character_normalize import normalize_characters_in_text
        self._word_tokenize = word_tokenize
        self._token_normalize = token_normalize
        self._normalize_text = normalize_characters_in_text

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnderTheSeaTokenizer":
        return cls(config)

    def words(self, text: Text) -> List[tuple[Text, int, int]]:
        """``(token text, start, end)`` for each word of ``text``."""
        norm = self._normalize_text(text)
        # offsets are exact when normalising kept the length (NFC input); otherwise approximate
        # (only entity extraction would care, and this pipeline extracts none)
        # underthesea's own token normalisation would change the syllables it returns, so it is
        # applied after, to the token text only: the syllables below are substrings of ``norm``.
        words = self._word_tokenize(norm, use_token_normalize=False, fixed_words=self.fixed_words)
        out: List[tuple[Text, int, int]] = []
        cursor = 0
        for word in words:
            run: List[tuple[Text, int, int]] = []  # consecutive word-like syllables
            for syllable in word.split():
                start = norm.find(syllable, cursor)
                if start < 0:  # should not happen; keep going in order
                    start = min(cursor, len(text))
                end = min(start + len(syllable), len(text))
                cursor = max(cursor, start + len(syllable))
                if _WORDLIKE.search(syllable):
                    run.append((syllable, start, end))
                    continue
                # punctuation ("?", "...") splits a run: underthesea sometimes glues it to the next syllable
                self._flush(run, out)
                run = []
            self._flush(run, out)
        return out

    def _flush(self, run: List[tuple[Text, int, int]], out: List[tuple[Text, int, int]]) -> None:
        if not run:
            return
        syllables = [self._token_normalize(s) for s, _, _ in run]
        token = "_".join(syllables)
        if self.lowercase:
            token = token.lower()
        out.append((token, run[0][1], run[-1][2]))

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        words = self.words(text)
        if not words and text.strip():
            # nothing but punctuation or emoji: the whole text as one token (as WhitespaceTokenizer)
            stripped = text.strip()
            start = text.index(stripped)
            words = [(stripped.lower() if self.lowercase else stripped, start, start + len(stripped))]
        tokens = [Token(word, start, end) for word, start, end in words]
        return self._apply_token_pattern(tokens)
