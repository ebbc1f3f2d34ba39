"""A message's text as the features the suggestion model counts: words and character bigrams.

Words come from jieba's dictionary (with :data:`DOMAIN_WORDS` added) after the text is
normalised: full-width forms folded (NFKC), Latin letters in lower case, mobile numbers dropped
(they say who wrote, not what about) and every run of digits written ``0`` (``东风路12号`` and
``东风路8号`` are one address shape, ``3栋2单元`` and ``5栋1单元`` too). Stop words,
punctuation and bare digits are left out. jieba's HMM for words its dictionary lacks is off: it
found no better department on the bench corpus, and is slower. Character bigrams (``~路灯``,
``~灯坏``) are taken over each run of Chinese characters, so a typo (``拉圾`` for ``垃圾``), a
village name the dictionary lacks or a word jieba cuts oddly (``路 / 灯不亮``) still shares
evidence with other messages.

A text is cut once (:func:`tokens`: the normalised text as jieba cuts it, nothing left out, so
the pieces joined are the text) and its features are taken from the pieces
(:func:`features_of`), which needs no jieba: the dispatch examples keep the pieces, so a worker
that counts them again after a restart does not cut every text again.

Deterministic: the same text always gives the same features, in the same order. jieba is
imported and its dictionary loaded once per process, on first use (:func:`ready`): about 1–2 s
and 50 MB (bench/results/suggest.json measures both; the import alone ~20 MB, which a worker
that never cuts a text does not pay); jieba keeps a cache of it in the temporary directory
(``jieba.cache``, 9 MB) and builds it again when that cannot be read. The worker loads it in a
thread before it applies its first batch of a topic with texts (streams/worker/agents.py): loaded
at the first message, on the event loop, it held every view and every other event for that
second.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

__all__ = [
    "DOMAIN_WORDS",
    "STOP_WORDS",
    "bigrams",
    "features",
    "features_of",
    "imported",
    "is_bigram",
    "loaded",
    "ready",
    "shown",
    "tokens",
    "words",
]

BIGRAM = "~"
"""Marks a character bigram, so that it never collides with a word of the same two characters."""

_STOP = (
    "的 地 得 了 着 过 是 在 有 和 与 及 或 也 都 就 还 又 再 很 太 更 最 吧 吗 呢 啊 呀 嘛 哦 哈 "
    "啦 么 呗 哇 嗯 我 你 您 他 她 它 我们 你们 他们 咱 咱们 俺 俺们 大家 自己 这 那 这个 那个 "
    "这些 那些 这里 那里 这边 那边 这样 那样 什么 啥 怎么 咋 怎样 如何 为什么 为啥 一下 一个 "
    "一些 个 把 被 给 让 对 从 到 向 往 于 以 为 因为 所以 但是 但 而且 如果 就是 还是 可以 能 "
    "能否 能不能 会 要 想 请 请问 麻烦 您好 你好 谢谢 感谢 领导 同志 问 说 一直 现在 已经 "
    "目前 今天 昨天 上 下 里 中 后 前 时 时候 等 等等 呵呵 嗨 好几 几天 个月 没人"
)
STOP_WORDS = frozenset(_STOP.split())
"""Words that say nothing about which department a message is for."""

DOMAIN_WORDS = (
    "住建局", "教育局", "交通局", "交通运输局", "自然资源局", "生态环境局", "环保局",
    "市场监管局", "人社局", "卫健委", "卫健局", "公安局", "派出所", "农业农村局", "农业局",
    "水利局", "城管局", "城管", "民政局", "医保局", "12345", "低保", "医保", "社保",
    "公租房", "廉租房", "网签", "物业费", "学区房", "校车", "占道经营", "渣土车", "农村公路",
    "养老金", "高龄补贴", "异地就医", "宅基地", "不动产证", "黑臭水体",
)  # fmt: skip
"""Words of the office's work that jieba's dictionary cuts apart (``住建局`` -> 住 / 建局)."""

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_DIGITS = re.compile(r"\d+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def imported() -> ModuleType:
    """jieba, imported on first use (not with this module: ~20 MB a worker that never cuts a
    text does not pay), quiet: no deprecation warning, no log of its loading on stderr."""
    with warnings.catch_warnings():  # jieba 0.42 reads its files through pkg_resources
        warnings.filterwarnings("ignore", message=".*pkg_resources", category=Warning)
        import jieba
    jieba.setLogLevel(logging.WARNING)  # else it prints "Building prefix dict…" to stderr
    module: ModuleType = jieba
    return module


def loaded() -> bool:
    """Whether :func:`ready` has loaded the tokenizer in this process."""
    return _tokenizer is not None


def ready() -> jieba.Tokenizer:
    """jieba's tokenizer with its dictionary loaded and :data:`DOMAIN_WORDS` added (once)."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            tokenizer = imported().Tokenizer()
            tokenizer.initialize()
            for word in DOMAIN_WORDS:
                tokenizer.add_word(word, freq=20_000)
            _tokenizer = tokenizer
        return _tokenizer


def normalised(text: str) -> str:
    """Full-width folded, Latin in lower case, mobile numbers out, digit runs as ``0``."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _DIGITS.sub("0", _PHONE.sub(" ", text))


def tokens(text: str) -> list[str]:
    """``text`` normalised and cut by jieba, every piece kept (spaces and punctuation too): the
    pieces joined are the normalised text."""
    return ready().lcut(normalised(text), HMM=False)  # type: ignore[no-any-return]


def words(text: str) -> list[str]:
    """The words of ``text`` that may tell its department, in order (repeats kept)."""
    return _words(tokens(text))


def _words(pieces: Iterable[str]) -> list[str]:
    out = []
    for word in pieces:
        word = word.strip()
        if word and word not in STOP_WORDS and _WORDLIKE.search(word) and word != "0":
            out.append(word)
    return out


def bigrams(text: str) -> list[str]:
    """The character bigrams of each run of Chinese characters, marked :data:`BIGRAM`."""
    out = []
    for run in _CJK_RUN.findall(normalised(text)):
        out += [BIGRAM + run[i : i + 2] for i in range(len(run) - 1)]
    return out


def features(text: str) -> list[str]:
    """What the model counts for ``text``: its words, then its bigrams, each once, in order of
    first appearance (a message that repeats a word is not more about it)."""
    return features_of(tokens(text))


def features_of(pieces: list[str]) -> list[str]:
    """:func:`features` of a text already cut (:func:`tokens`), without jieba."""
    return list(dict.fromkeys(_words(pieces) + bigrams("".join(pieces))))


def is_bigram(feature: str) -> bool:
    return feature.startswith(BIGRAM)


def readable(feature: str) -> bool:
    """Whether a feature means something to a person shown it alone: a word of two characters
    or more (not ``御`` of ``御景湾``), or a bigram that is a word of jieba's dictionary
    (``~路灯``, not ``~梯坏`` of ``电梯坏了`` nor ``~业不`` of ``物业不管``)."""
    if is_bigram(feature):
        return feature[1:] not in STOP_WORDS and bool(ready().FREQ.get(feature[1:]))
    return len(feature) >= 2


def shown(feature: str) -> str:
    """A feature as a person reads it (a bigram without its mark)."""
    return feature.removeprefix(BIGRAM)
