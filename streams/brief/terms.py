"""Topic words and places in a message's text, by jieba's segmentation (pure Python).

A *topic word* is a segmented word of two or more Chinese characters that is neither a
stopword (请问, 咨询, 今年… and ``MIDFIELD_BRIEF_STOPWORDS``) nor a place; two topic words side
by side also make a topic (学区 + 划分 = 学区划分), so a burst of one phrase is found whole. A
*place* is a township or street: a name of ``MIDFIELD_BRIEF_PLACES`` (taught to the segmenter,
so it is always one word), or any word ending in 镇, 乡 or 街道 (桃源 + 镇 joined when the
segmenter split them), except the generic ones (乡镇, 城乡…).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from streams.books.suggest.segment import imported

__all__ = ["Terms", "reader"]


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _set(
    "请问 咨询 投诉 建议 求助 举报 反映 反应 关于 问题 情况 相关 有关 事情 事宜 "
    "今年 去年 明年 目前 现在 已经 一直 还是 没有 不能 不是 可以 能否 是否 如何 怎么 什么 为什么 "
    "希望 要求 请求 恳请 麻烦 谢谢 您好 你好 领导 政府 部门 有关部门 相关部门 群众 市民 居民 "
    "我们 你们 他们 本人 自己 这个 那个 一个 进行 处理 解决 尽快 及时 一下 多日 多次 "
    "留言 来电 市长 县长 热线 回复 答复 办理"
)
"""Words in nearly every message: they say nothing of its topic."""

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_SUFFIXES = ("街道", "镇", "乡")
_SUFFIX = re.compile("街道|镇|乡")
_NOT_PLACES = _set(
    "乡镇 城镇 村镇 城乡 家乡 老乡 下乡 回乡 返乡 故乡 街道 本镇 该镇 我镇 全镇 各镇 本乡 该乡 "
    "我乡 全乡 各乡 各街道 本街道"
)


@dataclass(frozen=True)
class Terms:
    """What one text is about: its topics (words and adjacent pairs) and its places."""

    topics: frozenset[str]
    words: tuple[str, ...]
    """The topic words alone, in text order (repeats kept)."""
    places: frozenset[str]


class Reader:
    """Segments texts with its own jieba tokenizer, taught the county's place names."""

    def __init__(self, places: tuple[str, ...], stopwords: tuple[str, ...]) -> None:
        self._tokenizer = imported().Tokenizer()  # jieba: imported on the first brief
        for place in places:
            self._tokenizer.add_word(place, freq=100_000, tag="ns")
        self._known = frozenset(places)
        self._stop = STOPWORDS | frozenset(stopwords)

    def read(self, text: str) -> Terms:
        tokens = self._tokenizer.lcut(text)
        bounds = list(itertools.accumulate((len(t) for t in tokens), initial=0))
        spans = self._places(text, tokens, bounds)
        words: list[str | None] = []  # None between words that are not side by side
        for token, a in zip(tokens, bounds, strict=False):
            b = a + len(token)
            inside = any(s < b and a < e for s, e, _ in spans)
            good = not inside and _HAN.fullmatch(token) and token not in self._stop
            words.append(token if good else None)
        pairs = {a + b for a, b in itertools.pairwise(words) if a and b}
        alone = tuple(w for w in words if w)
        return Terms(frozenset(alone) | pairs, alone, frozenset(n for *_, n in spans))

    def _places(self, text: str, tokens: list[str], bounds: list[int]) -> list[_Span]:
        """Where the places are: whole words first (城关镇, a configured name), then a name
        ending in a suffix whose stem is whole words (桃源 + 镇; 白云 + 乡路, split wrongly)."""
        found: list[_Span] = [
            (a, a + len(t), t)
            for t, a in zip(tokens, bounds, strict=False)
            if t in self._known
            or (t.endswith(_SUFFIXES) and 3 <= len(t) <= 5 and _HAN.fullmatch(t)
                and t not in _NOT_PLACES)
        ]  # fmt: skip
        starts = set(bounds)
        for suffix in _SUFFIX.finditer(text):
            i = suffix.start()
            if i not in starts or any(s <= i < e for s, e, _ in found):
                continue
            for a in (i - 2, i - 3):  # a stem of two characters, else three
                stem, name = text[max(a, 0) : i], text[max(a, 0) : suffix.end()]
                if a >= 0 and a in starts and _HAN.fullmatch(stem) and stem not in self._stop:
                    if name not in _NOT_PLACES:
                        found.append((a, suffix.end(), name))
                    break
        return found


_Span = tuple[int, int, str]
"""(start, end, name) of a place in a text."""


@functools.lru_cache(maxsize=4)
def reader(places: tuple[str, ...] = (), stopwords: tuple[str, ...] = ()) -> Reader:
    """One reader per configuration: jieba's dictionary loads once (~0.7 s) per process."""
    return Reader(places, stopwords)
