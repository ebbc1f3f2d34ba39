"""A labelled corpus of public messages for the department suggestions (bench/suggest.py).

    python -m bench.suggest_corpus [--count 3000] [--seed 20250601] [--out corpus.jsonl]
                                   [--board-xlsx board.xlsx]

How a message is composed (phrases: bench/suggest_phrases.py):

1. **Its department and issue.** A department by its share of a county's messages (住建局 and
   城管局 most, 医保局 and 自然资源局 least; 14 departments), then one of its issues; or, for
   15% of messages, an issue several departments handle (工地噪音, 河道垃圾, 乱停车 …), labelled
   with one of them by how often each takes it. Those are ambiguous on purpose, as in reality.
2. **Its channel and its shape.** Web board (45%): a title and a letter; WeChat (20%): short
   and spoken; hotline (35%): the operator's 诉求内容, ``来电人反映：… 诉求：…``. A letter may
   open with a greeting and who writes (``我是龙泉镇李家村的村民``), then the issue with its
   place (township, village, street, estate, building number), how long it has lasted, an aside
   (``物业和社区互相推``) and a closing plea; WeChat messages are often the issue alone.
3. **Several issues** in 15% of messages: a second issue of another department, after
   (``另外，…``) or before the main one; the label is the department that took the main one.
4. **A department named** in 8%: the writer says whom they asked (``找了住建局说不归他们管``) —
   the right department, or in a third of cases a wrong one.
5. **Noise**, in the writer's (or caller's) own words, not the operator's frame: 25% use dialect
   and colloquial words (俺们, 啥, 咋, 莫得, 娃); 30% carry homophone typos of the 拼音 input
   method (以经, 拉圾, 底保, 报消, 燥音); numbers vary (楼号, 门牌).

Seeded: the same ``--seed`` and ``--count`` always give the same corpus. ``--board-xlsx`` also
writes it as the board's export (留言编号, 留言时间, 标题, 留言内容, 办理单位 …), which
``midfield suggest train --from`` reads.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.suggest_phrases import (
    ASIDES,
    CLOSERS,
    DEPARTMENTS,
    DIALECT,
    ISSUES,
    OPENERS,
    SHARED,
    SLOTS,
    TYPOS,
    WHEN,
)

__all__ = ["BOARD_HEADER", "compose", "corpus", "write_board_xlsx"]

SHARES = {"shared": 0.15, "multi": 0.15, "named": 0.08, "dialect": 0.25, "typos": 0.30}
CHANNELS = (("board", 0.45), ("wechat", 0.20), ("hotline", 0.35))
BOARD_HEADER = ["留言编号", "留言时间", "留言类别", "标题", "留言内容", "联系电话", "办理单位",
                "回复内容", "回复时间"]  # fmt: skip
_CHOICE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def fill(pattern: str, rng: random.Random) -> str:
    """``pattern`` with each ``[a|b]`` and ``{slot}`` chosen."""
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), pattern)
    return _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), text)


def _pick_issue(rng: random.Random) -> tuple[str, tuple[str, str], list[str]]:
    """(department, (topic, pattern), noise tags)."""
    if rng.random() < SHARES["shared"]:
        issue, shares = rng.choice(SHARED)
        department = rng.choices(list(shares), weights=list(shares.values()))[0]
        return department, issue, ["ambiguous"]
    codes = list(DEPARTMENTS)
    department = rng.choices(codes, weights=[DEPARTMENTS[c][1] for c in codes])[0]
    return department, rng.choice(ISSUES[department]), []


def _noisy(text: str, rng: random.Random, tags: list[str]) -> str:
    """``text`` with dialect words and typos when drawn (tagged only when something changed)."""
    if rng.random() < SHARES["dialect"]:
        said = text
        for word, forms in DIALECT.items():
            if word in text and rng.random() < 0.7:
                text = text.replace(word, rng.choice(forms))
        text = text.replace("我", "俺", 1) if rng.random() < 0.5 else text
        tags += ["dialect"] if text != said else []
    if rng.random() < SHARES["typos"]:
        typed = text
        for word, typo in TYPOS.items():
            if word in text and rng.random() < 0.6:
                text = text.replace(word, typo)
        tags += ["typos"] if text != typed else []
    return text


def _body(department: str, issue: str, rng: random.Random, tags: list[str]) -> str:
    """The issue, with a second one and a named department when drawn."""
    if rng.random() < SHARES["multi"]:
        tags.append("several-issues")
        other = rng.choice([d for d in ISSUES if d != department])
        second = fill(rng.choice(ISSUES[other])[1], rng)
        if rng.random() < 0.7:
            issue = f"{issue}。另外，{second}"
        else:
            issue = f"{second}，这是小事。主要是{issue}"
    if rng.random() < SHARES["named"]:
        tags.append("department-named")
        named = department if rng.random() < 2 / 3 else rng.choice(list(DEPARTMENTS))
        name = DEPARTMENTS[named][0].removeprefix("县")
        issue += rng.choice([f"，找了{name}说不归他们管", f"，{name}也不管", f"，希望{name}处理"])
    return issue


def compose(number: int, rng: random.Random) -> dict[str, Any]:
    """One labelled message: id, channel, title, text, department (code and name), noise tags."""
    department, (topic, pattern), tags = _pick_issue(rng)
    issue = _body(department, fill(pattern, rng), rng, tags)
    channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    when, aside, closer = rng.choice(WHEN), rng.choice(ASIDES), fill(rng.choice(CLOSERS), rng)
    if channel == "hotline":
        issue = _noisy(issue, rng, tags)  # the caller's words; the operator's frame is clean
        text = f"来电人反映：{issue}{'，' + when if when else ''}。来电人诉求：" + (
            rng.choice(["请相关部门尽快处理。", "希望尽快解决。", "要求给予答复。"])
        )
        title = ""
    elif channel == "wechat":
        text = _noisy(issue + rng.choice(["", "？", "！！", "，有人管吗", "。谢谢"]), rng, tags)
        title = ""
    else:
        opener = fill(rng.choice(OPENERS), rng)
        middle = f"，{when}" if when else ""
        extra = f"，{aside}" if rng.random() < 0.4 else ""
        text = _noisy(f"{opener}{issue}{middle}{extra}。{closer}", rng, tags)
        title = rng.choice([topic, f"关于{topic}的问题", f"反映{topic}", f"{topic}问题咨询",
                            "求助", "投诉"])  # fmt: skip
    return {
        "id": f"S{number:05d}",
        "channel": channel,
        "title": title,
        "text": text,
        "department": department,
        "department_name": DEPARTMENTS[department][0],
        "noise": tags,
    }


def corpus(count: int = 3000, seed: int = 20250601) -> list[dict[str, Any]]:
    """``count`` labelled messages, the same for the same seed."""
    rng = random.Random(seed)
    return [compose(n, rng) for n in range(1, count + 1)]


def write_board_xlsx(messages: list[dict[str, Any]], path: Path) -> Path:
    """The messages as the board's XLSX export, 办理单位 by department name."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(BOARD_HEADER)
    start = datetime(2025, 1, 2, 8, 30)
    for n, m in enumerate(messages):
        at = (start + timedelta(minutes=97 * n)).strftime("%Y-%m-%d %H:%M:%S")
        sheet.append([m["id"], at, "投诉", m["title"], m["text"], "", m["department_name"], "", ""])
    book.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--out", type=Path, help="write the messages as JSON lines here")
    parser.add_argument("--board-xlsx", type=Path, help="write them as a board export here")
    args = parser.parse_args()
    messages = corpus(args.count, args.seed)
    if args.out:
        args.out.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages),
                            encoding="utf-8")  # fmt: skip
    if args.board_xlsx:
        write_board_xlsx(messages, args.board_xlsx)
    if not (args.out or args.board_xlsx):
        for m in messages[:20]:
            print(m["department"], m["noise"], m["title"], m["text"], sep=" | ")


if __name__ == "__main__":
    main()
