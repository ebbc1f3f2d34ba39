"""The soak's inputs: faxes in a HylaFAX log, T.37 mails in a Maildir, telegrams in a drop
directory and message-board posts over signed HTTP — good ones, bad ones (each carrying a unique
``BAD-…`` marker that its dead letter must keep) and classified telegrams (whose secret must
appear nowhere) — and the feeders that deliver them while the chaos driver kills processes.

Every input is known in advance, so the soak can check input set == output set: each good input
in the books exactly once, each bad one on the dead-letter topic, each classified telegram in
quarantine.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from midfield.demo.fax_samples import fax_mail
from tests.harness import http_post
from tests.mail_samples import WHEN, deliver, good_mail, make_maildir
from tests.samples import TELEGRAM_SHEET as SHEET
from tests.samples import fax_line
from tests.webhooks import signed, whsec

__all__ = ["BOARD_SECRET", "SHARES", "Inputs", "feed"]

BOARD_SECRET = whsec("soak-board-secret")
SHARES = {"fax": 0.70, "board": 0.16, "telegram": 0.09, "mail": 0.05}
"""Share of all inputs per source (board: messages and their replies)."""
BAD = 0.02
CLASSIFIED = 0.01
TELEGRAM_TEXT_FIELDS = ("issuing_unit", "addressees", "approver", "machine_number", "title", "body")
"""The cover sheet's free-text fields besides its number (schemas/telegram_sheet.py)."""


@dataclass
class Inputs:
    """What the feeders deliver, and what must come out."""

    fax_lines: list[str] = field(default_factory=list)
    mails: list[tuple[str, bytes]] = field(default_factory=list)
    telegrams: list[tuple[str, bytes]] = field(default_factory=list)
    board: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """(path, body) in order: a reply follows its message."""
    good: dict[str, set[str]] = field(default_factory=dict)
    """Book -> the entity ids good inputs must make, each exactly once."""
    replies: set[str] = field(default_factory=set)
    bad: dict[str, set[str]] = field(default_factory=dict)
    """Source -> the markers its dead letters must carry."""
    classified: set[str] = field(default_factory=set)
    secret: str = ""

    @property
    def total(self) -> int:
        return len(self.fax_lines) + len(self.mails) + len(self.telegrams) + len(self.board)

    @classmethod
    def make(cls, total: int, rng: random.Random, token: str) -> Inputs:
        made = cls(secret=f"SOAK-SECRET-{token}")
        counts = {source: round(total * share) for source, share in SHARES.items()}
        made._faxes(counts["fax"], rng)
        made._mails(counts["mail"], rng)
        made._telegrams(counts["telegram"], rng, token)
        made._board(counts["board"], rng, token)
        return made

    def _good(self, book: str, key: str) -> None:
        self.good.setdefault(book, set()).add(key)

    def _bad(self, source: str, marker: str) -> None:
        self.bad.setdefault(source, set()).add(marker)

    def _faxes(self, n: int, rng: random.Random) -> None:
        for i in range(n):
            if rng.random() < BAD:
                self.fax_lines.append(f"03/14/25 09:41\tRECV\tBAD-F{i}\n")
                self._bad("fax-log", f"BAD-F{i}")
            else:
                commid = f"7{i:08d}"
                self.fax_lines.append(fax_line(int(commid)))
                self._good("duty_log", commid)

    def _mails(self, n: int, rng: random.Random) -> None:
        for i in range(n):
            if rng.random() < BAD * 2:
                raw = fax_mail(
                    station="+86 551 9", when=WHEN, tiffs=[], message_id=f"BAD-M{i}@gw.test"
                )
                self._bad("fax-mail", f"BAD-M{i}")
            else:
                raw = good_mail(i)
                self._good("duty_log", f"fax-{i}@gw.test")
            self.mails.append((f"{i:08d}.soak", raw))

    def _telegrams(self, n: int, rng: random.Random, token: str) -> None:
        for i in range(n):
            roll = rng.random()
            number = f"×政办明电〔2025〕{token}-{i}号"
            if roll < CLASSIFIED:
                sheet = self._classified(i)
            elif roll < CLASSIFIED + BAD:
                sheet = SHEET | {"number": f"BAD-T{i}", "grade": "很急"}
                self._bad("telegram", f"BAD-T{i}")
            else:
                sheet = SHEET | {"number": number}
                self._good("duty_log", number)
            raw = json.dumps(sheet, ensure_ascii=False).encode()
            if roll < CLASSIFIED:  # its quarantine id: the sheet's digest (docs/telegram.md)
                self.classified.add("sheet-" + hashlib.sha256(raw).hexdigest()[:16])
            self.telegrams.append((f"t{i:07d}", raw))

    def _classified(self, i: int) -> dict[str, object]:
        """A classified sheet with the secret in every free-text field (issue 18), in turn
        declared 机密, marked only by 绝密 in its issuing unit, and starred in a sheet that is
        also invalid (a grade no telegram has): each must be withheld, none dead-lettered.
        Its number holds the secret too, so its quarantine id is the sheet's digest."""
        secret = f"{self.secret}-{i}"
        texts = {field: f"{secret} {field}" for field in TELEGRAM_TEXT_FIELDS}
        sheet = SHEET | texts | {"number": secret, "addressees": [texts["addressees"]],
                                 "machine_number": secret[-32:]}  # fmt: skip
        variant = i % 3
        if variant == 0:
            return sheet | {"classification": "机密"}
        if variant == 1:
            return sheet | {"issuing_unit": f"县公安局 绝密：12月8日凌晨收网行动 {secret}"}
        return sheet | {"title": f"{secret}（秘密★6个月）", "grade": "很急"}

    def _board(self, n: int, rng: random.Random, token: str) -> None:
        while len(self.board) < n:
            i = len(self.board)
            message = {
                "id": f"S{token}-{i}",
                "category": "咨询",
                "title": "学区划分",
                "content": "请问学区？",
                "contact": "13800138000",
                "department": "edu",
                "received_at": "2025-06-01T09:00:00",
            }
            if rng.random() < BAD:
                self.board.append(("/board/messages", message | {"category": f"BAD-B{i}"}))
                self._bad("board", f"BAD-B{i}")
                continue
            self.board.append(("/board/messages", message))
            self._good("messages", f"board-{message['id']}")  # the board's message ids
            if rng.random() < 0.25:
                reply = {
                    "message_id": message["id"],
                    "reply": "已公布",
                    "replied_at": "2025-06-03T10:00:00",
                }
                self.board.append(("/board/replies", reply))
                self.replies.add(f"board-{message['id']}")


def _paced(items: list, window_s: float, deliver_one: Callable, stop: threading.Event) -> None:
    """Deliver ``items`` evenly over ``window_s`` seconds, in small chunks."""
    chunks = max(1, int(window_s / 0.1))
    size = max(1, -(-len(items) // chunks))
    began = time.monotonic()
    for k in range(0, len(items), size):
        if stop.is_set():
            return
        for item in items[k : k + size]:
            deliver_one(item)
        ahead = began + window_s * (k + size) / len(items) - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def _post_until_answered(url: str, body: dict[str, str], stop: threading.Event) -> int:
    """POST as a sender does: again on no answer or 5xx (the connector was killed, the broker is
    slow), until a 2xx or a 4xx."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    while not stop.is_set():  # each attempt signed anew, one webhook-id (Standard Webhooks)
        try:
            status, _ = http_post(url, raw, headers=signed(BOARD_SECRET, raw), timeout=10)
        except (urllib.error.URLError, OSError, ValueError):
            status = 0
        if 200 <= status < 500 and status not in (408, 429):
            return status
        time.sleep(0.2)
    return 0


@dataclass
class Paths:
    fax_log: Path
    maildir: Path
    drop: Path
    board_url: str


def feed(
    inputs: Inputs, paths: Paths, window_s: float, stop: threading.Event, senders: int = 4
) -> list[threading.Thread]:
    """Start one feeder thread per source (``senders`` for the board); join them to wait."""
    make_maildir(paths.maildir)
    paths.drop.mkdir(parents=True, exist_ok=True)
    log = paths.fax_log.open("a", encoding="utf-8")

    def fax(line: str) -> None:
        log.write(line)
        log.flush()

    def mail(item: tuple[str, bytes]) -> None:
        deliver(paths.maildir, *item)

    staging = paths.drop.parent / "drop-staging"
    staging.mkdir(exist_ok=True)

    def telegram(item: tuple[str, bytes]) -> None:
        """As docs/telegram.md asks: the PDF, then the sheet, each written elsewhere and renamed
        in (a sheet read half-written is an invalid sheet)."""
        name, sheet = item
        for file, content in ((f"{name}.pdf", b"%PDF-1.4 soak"), (f"{name}.json", sheet)):
            (staging / file).write_bytes(content)
            (staging / file).rename(paths.drop / file)

    def faxes() -> None:
        try:
            _paced(inputs.fax_lines, window_s, fax, stop)
        finally:
            log.close()

    threads = [
        threading.Thread(target=faxes),
        threading.Thread(target=_paced, args=(inputs.mails, window_s, mail, stop)),
        threading.Thread(target=_paced, args=(inputs.telegrams, window_s, telegram, stop)),
    ]
    # a message and its reply go to the same sender, in order
    lanes: list[list[tuple[str, dict[str, str]]]] = [[] for _ in range(senders)]
    for path, body in inputs.board:
        key = body.get("message_id") or body["id"]
        lanes[int(hashlib.sha256(key.encode()).hexdigest(), 16) % senders].append((path, body))
    for lane in lanes:

        def post(item: tuple[str, dict[str, str]]) -> None:
            _post_until_answered(paths.board_url + item[0], item[1], stop)

        threads.append(threading.Thread(target=_paced, args=(lane, window_s, post, stop)))
    for thread in threads:
        thread.daemon = True
        thread.start()
    return threads
