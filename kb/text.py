"""Index-side text: NFKC + traditional->simplified normalisation, jieba tokens, user dictionary
and synonyms.

Users always see the original text; tokens and matching use the normalised form, which has
exactly one character per original character so that match positions map straight back.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
import opencc

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
_WORDLIKE = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)

STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 为 以 将 把 被 于 由 从 向 等 并 而 且 也 就 都 又 还 这 那 其 之 个
    一 一个 一些 我们 你们 他们 它们 我 你 他 她 它 有 没有 不 会 能 可 可以 应 应该 需 需要 要 中 上
    下 内 后 前 时 如 如何 什么 哪些 哪个 怎么 怎样 为什么 吗 呢 吧 啊 么 该 各 每 此 所 所有 通过
    进行 使 让 给 着 过 到 说 很 更 最 非常 方面 以及 其中 这些 那些 这个 那个 包括 the a an of and
    or to in on for is are was be with by as at""".split()
)

USERDICT_FILE = "userdict.txt"
SYNONYMS_FILE = "synonyms.txt"
_USERDICT_HELP = "# 用户词典：每行一个词，可选词频与词性，如：成果包 10 n\n"
_SYNONYMS_HELP = "# 同义词：每行一组，逗号分隔，第一个为标准词，如：客户,顾客,客人\n"


def _normalize_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch)
    return folded.lower() if len(folded) == 1 else ch.lower()


def normalize_for_index(text: str) -> str:
    """NFKC, lower case and simplified script, one output character per input character."""
    folded = "".join(_normalize_char(ch) for ch in text)
    simplified = _T2S.convert(folded)
    if len(simplified) != len(folded):
        simplified = "".join(
            _T2S.convert(ch) if len(_T2S.convert(ch)) == 1 else ch for ch in folded
        )
    return simplified


def char_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of each CJK run (they rescue segmentation mismatches)."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


@lru_cache(maxsize=1)
def _base_tokenizer() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _fresh_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer with its own copy of the main dictionary (loaded once per process),
    so that user words added to one pipeline never leak into another."""
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    return tokenizer


class TextPipeline:
    """Tokeniser for index and query, with the data dir's user dictionary and synonyms.

    The jieba dictionary is loaded on first use, so commands that never tokenise stay fast."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._user_words: list[tuple[str, int | None]] = []
        self._canonical: dict[str, str] = {}
        self._variants: dict[str, set[str]] = {}
        self._jieba: jieba.Tokenizer | None = None
        self.config_hash = ""
        if data_dir is not None:
            self.load_resources(data_dir)

    def load_resources(self, data_dir: Path) -> None:
        """(Re)load the user dictionary and synonyms from the data dir, creating empty files."""
        data_dir.mkdir(parents=True, exist_ok=True)
        userdict = data_dir / USERDICT_FILE
        synonyms = data_dir / SYNONYMS_FILE
        if not userdict.exists():
            userdict.write_text(_USERDICT_HELP, encoding="utf-8")
        if not synonyms.exists():
            synonyms.write_text(_SYNONYMS_HELP, encoding="utf-8")
        self._user_words = []
        self._load_userdict(userdict.read_text(encoding="utf-8"))
        self._load_synonyms(synonyms.read_text(encoding="utf-8"))
        self._jieba = None
        digest = hashlib.sha1(userdict.read_bytes() + b"\0" + synonyms.read_bytes())
        self.config_hash = digest.hexdigest()[:12]

    def _load_userdict(self, content: str) -> None:
        for line in content.splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            self._user_words.append((normalize_for_index(parts[0]), freq))

    def _load_synonyms(self, content: str) -> None:
        self._canonical.clear()
        self._variants.clear()
        for line in content.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            group = [normalize_for_index(w.strip()) for w in re.split(r"[,，]", line) if w.strip()]
            for word in group:
                self._user_words.append((word, None))
                self._canonical[word] = group[0]
                self._variants.setdefault(group[0], set()).update(group)

    @property
    def _tokenizer(self) -> jieba.Tokenizer:
        if self._jieba is None:
            tokenizer = _fresh_tokenizer()
            for word, freq in self._user_words:
                tokenizer.add_word(word, freq)
            self._jieba = tokenizer
        return self._jieba

    def words(self, normalized: str) -> list[str]:
        """jieba search-mode words of normalised text, stopwords and punctuation removed."""
        out = []
        for word in self._tokenizer.cut_for_search(normalized):
            word = word.strip()
            if word and word not in STOPWORDS and _WORDLIKE.search(word):
                out.append(self._canonical.get(word, word))
        return out

    def index_tokens(self, text: str) -> list[str]:
        """Tokens stored for a passage: words plus CJK character bigrams."""
        normalized = normalize_for_index(text)
        grams = [g for g in char_bigrams(normalized) if g not in STOPWORDS]
        return self.words(normalized) + grams

    def query_tokens(self, query: str) -> list[str]:
        """Tokens of a query, deduplicated in order of first appearance."""
        return list(dict.fromkeys(self.index_tokens(query)))

    def highlight_terms(self, query: str) -> list[str]:
        """Normalised words to mark in snippets: query words and their synonyms, longest first."""
        terms: set[str] = set()
        for word in self.words(normalize_for_index(query)):
            if len(word) == 1 and _CJK.match(word):
                continue
            terms.update(self._variants.get(word, {word}))
        return sorted(terms, key=len, reverse=True)
