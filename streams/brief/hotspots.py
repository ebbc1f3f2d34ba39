"""热点: the topics and places that burst this week, against the weeks before.

Each message and work order of the week and of the ``history_weeks`` before it is read once
(streams/brief/terms.py). For every topic and place, ``count`` is this week's number of
documents naming it, ``usual`` and ``spread`` the mean and standard deviation of its weekly
counts before, and its burst score is ``(count − usual) ÷ max(spread, √usual, 1)``: how many
deviations above the usual it is, where a count never seen to vary still varies at least as a
Poisson count does (√usual) and by one. A steady large topic scores near 0 however big; a topic
from nowhere scores its count. A hotspot has ``count ≥ min_count`` and ``score ≥ min_score``;
they are ranked by score, and one whose documents are mostly those of a hotspot above it (学区
after 学区划分, the township of a topic's burst) is the same news and is left out.

The weeks before are only those the books reach: before the week of the oldest document there
is nothing to compare with, not a week of silence.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from streams.books import office_time
from streams.brief.model import Count, Example, Hotspot
from streams.brief.settings import BriefSettings
from streams.brief.terms import Reader, Terms
from streams.brief.week import Week
from streams.views import masking

__all__ = ["Doc", "docs_of", "hotspots"]

_SAME_NEWS = 0.5
"""A candidate whose week's documents are this share or more of hotspots above it is left out."""
_WHOLE = 0.8
"""A phrase names a word's hotspot when it is in this share of the word's documents or more."""
_EXCERPT = 60
_DIGITS = re.compile(r"[\d*]+")


@dataclass(frozen=True)
class Doc:
    """A message or a work order as the hotspots read it."""

    id: str
    kind: Literal["message", "work_order"]
    at: datetime
    department: str
    text: str
    terms: Terms = field(compare=False)


def docs_of(
    messages: Iterable[dict[str, Any]],
    orders: Iterable[dict[str, Any]],
    since: datetime,
    until: datetime,
    reader: Reader,
) -> list[Doc]:
    """The messages received and work orders accepted in [since, until), read."""
    found: list[Doc] = []
    for m in messages:
        at = _at(m.get("received_at"))
        if at is not None and since <= at < until:
            text = "。".join(t for t in (m.get("title", ""), m.get("text", "")) if t)
            department = m.get("department", "")
            found.append(_doc(m["message_id"], "message", at, department, text, reader))
    for o in orders:
        at = _at(o.get("accepted_at"))
        if at is not None and since <= at < until:
            notes = [h["note"] for h in o.get("history", []) if h.get("note")]
            units = o.get("units") or [""]
            found.append(_doc(o["order_number"], "work_order", at, units[0], "。".join(notes),
                              reader))  # fmt: skip
    return found


def _at(text: Any) -> datetime | None:
    return office_time.parse(text) if isinstance(text, str) and text else None


def _doc(id_: str, kind: Literal["message", "work_order"], at: datetime, department: str,
         text: str, reader: Reader) -> Doc:  # fmt: skip
    return Doc(id_, kind, at, department, text, reader.read(text))


@dataclass
class _Tally:
    weekly: list[int]
    docs: list[Doc]


_Scored = tuple[tuple[str, str], _Tally, float, float, float]
"""((kind, label), its tally, usual, spread, score)."""


def hotspots(docs: list[Doc], week: Week, rules: BriefSettings) -> list[Hotspot]:
    """The week's hotspots, most bursting first (at most ``rules.hotspots``)."""
    oldest = min((d.at for d in docs), default=week.start)
    history = max(0, min(rules.history_weeks, week.index_of(oldest)))
    tallies: dict[tuple[str, str], _Tally] = {}
    for doc in docs:
        i = week.index_of(doc.at)
        if not 0 <= i <= history:
            continue
        keys = [("topic", t) for t in doc.terms.topics] + [("place", p) for p in doc.terms.places]
        for key in keys:
            tally = tallies.setdefault(key, _Tally([0] * (history + 1), []))
            tally.weekly[i] += 1
            if i == 0:
                tally.docs.append(doc)
    scored: list[_Scored] = [(key, t, *_burst(t.weekly)) for key, t in tallies.items()
              if t.weekly[0] >= rules.min_count]  # fmt: skip
    scored = [s for s in scored if s[4] >= rules.min_score]
    scored.sort(key=lambda s: (-s[4], -s[1].weekly[0], -len(s[0][1]), s[0][1]))
    picked: list[Hotspot] = []
    covered: set[str] = set()
    for candidate in scored:
        (kind, label), tally, usual, spread, score = _whole(candidate, scored)
        ids = {d.id for d in tally.docs}
        if len(ids & covered) >= _SAME_NEWS * len(ids):
            continue
        covered |= ids
        picked.append(_hotspot(kind, label, tally, usual, spread, score, history, rules))
        if len(picked) == rules.hotspots:
            break
    return picked


def _whole(candidate: _Scored, scored: list[_Scored]) -> _Scored:
    """The longest bursting phrase that holds ``candidate``'s word and most of its documents
    (学区划分 for 学区), so a hotspot is named as its messages say it; else the candidate."""
    (kind, label), tally, *_ = candidate
    if kind != "topic":
        return candidate
    ids = {d.id for d in tally.docs}
    longer = [s for s in scored if s[0][0] == "topic" and label in s[0][1] and s[0][1] != label
              and len({d.id for d in s[1].docs} & ids) >= _WHOLE * len(ids)]  # fmt: skip
    return max(longer, key=lambda s: (len(s[0][1]), s[1].weekly[0]), default=candidate)


def _burst(weekly: list[int]) -> tuple[float, float, float]:
    """(usual, spread, score) of this week's count ``weekly[0]`` against the weeks before."""
    before = weekly[1:]
    usual = statistics.fmean(before) if before else 0.0
    spread = statistics.pstdev(before) if len(before) > 1 else 0.0
    score = (weekly[0] - usual) / max(spread, math.sqrt(usual), 1.0)
    return usual, spread, score


def _hotspot(kind: str, label: str, tally: _Tally, usual: float, spread: float, score: float,
             history: int, rules: BriefSettings) -> Hotspot:  # fmt: skip
    places = Counter(p for d in tally.docs for p in d.terms.places if p != label)
    words = Counter(w for d in tally.docs for w in set(d.terms.words)
                    if w not in label and label not in w)  # fmt: skip
    count = tally.weekly[0]
    top_places = [Count(name=n, count=c) for n, c in places.most_common(3)]
    return Hotspot(
        kind="topic" if kind == "topic" else "place",
        label=label,
        count=count,
        usual=round(usual, 2),
        spread=round(spread, 2),
        score=round(score, 2),
        history_weeks=history,
        places=top_places if kind == "topic" else [],
        words=[Count(name=n, count=c) for n, c in words.most_common(5)],
        examples=_examples(tally.docs, rules.examples),
        reason=_reason(kind, count, usual, spread, score, history, top_places),
    )


def _examples(docs: list[Doc], limit: int) -> list[Example]:
    """The latest documents with different texts, masked."""
    seen: set[str] = set()
    out: list[Example] = []
    for d in sorted(docs, key=lambda d: (d.at, d.id), reverse=True):
        same = _DIGITS.sub("", d.text)  # the same letter but for a phone number or a date
        if same in seen:
            continue
        seen.add(same)
        text = masking.text(d.text)
        short = text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
        out.append(Example(id=d.id, kind=d.kind, at=d.at, department=d.department, text=short))
        if len(out) == limit:
            break
    return out


def _reason(kind: str, count: int, usual: float, spread: float, score: float, history: int,
            places: list[Count]) -> str:  # fmt: skip
    what = "提及该地" if kind == "place" else "涉及该话题"
    if history == 0:
        text = f"本周{what}的留言和工单{count}件；此前没有可比的周，按件数排列"
    else:
        text = (f"本周{what}的留言和工单{count}件，前{history}周平均每周{usual:.1f}件"
                f"（标准差{spread:.1f}），高出{score:.1f}个标准差")  # fmt: skip
    if places:
        text += "；集中在" + "、".join(f"{p.name}（{p.count}件）" for p in places)
    return text
