"""Hostile inputs at every intake, as one table (DESIGN §10). Each row names the intake, the
hostile input and what must come of it: an HTTP intake answers a 4xx with a JSON reason (and
keeps a dead letter where input arrived), a file intake dead-letters, withholds or refuses it.
Every row also checks that the intake still takes a good input afterwards and that nothing
changed in the tmp tree outside the connector's own directories.

The HTTP intakes (wechat, board, hotline, duty, tasks) are real ``midfield connect`` processes
on 127.0.0.1 with ``--max-body-bytes 65536``, started once for the module, with a real worker
behind them for the dashboard; the file intakes (telegram, fax-log, fax-mail, the board's CSV,
the hotline's and the task list's XLSX) are one ``--once`` run per row in a tmp tree of their
own: ``in/`` (their input), ``state/``, ``documents/`` and ``outside/``, which must not change.
A body's ``UNIQ`` becomes a number of its own at each run. How the dashboard renders hostile
text in a real browser is tests/e2e/test_dashboard.py's; here it reaches the worker's JSON
verbatim and the page itself carries no data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from connectors.sources.wechat_protocol import signature
from schemas.catalog import DEADLETTER, concrete
from schemas.deadletter import DeadLetter
from tests.harness import (
    Broker,
    WorkerProcess,
    departments_file,
    http_get_bytes,
    midfield_env,
    read_topic,
    run_cli,
    serving_all,
    wait_for,
)
from tests.intakes import (
    BOARD_SECRET,
    HOTLINE_SECRET,
    WECHAT_TOKEN,
    intake_env,
    wechat_secure,
)
from tests.integration.test_hotline import _export as hotline_export
from tests.integration.test_tasks_api import DEADLINE
from tests.integration.test_telegram_drop import SHEET, _drop
from tests.integration.test_wechat import _xml
from tests.mail_samples import deliver, good_mail, make_maildir
from tests.samples import BOARD_EXPORT_HEADER, fax_line
from tests.unit.test_task_sheet import DEPARTMENTS_FILE, SCHOOLS, write_sheet
from tests.webhooks import signed, whsec

LIMIT = 64 * 1024
MESSAGES, WORKORDERS = "office.intake.message.v1", "office.hotline.workorder.v1"
QUARANTINE = "office.quarantine.v1"
KEYS = {"good": "office-key", "lead": "key-lead", "other": "key-other", "nobody": "key-of-nobody"}


# -- hostile and good bodies ---------------------------------------------------------------------
def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep(name: str) -> tuple[bytes, ...]:
    """A body nested 20 000 deep, then ``name`` nested 940 to 999 deep: around Python's
    recursion limit (1000), where a body still parses but printing its value may not."""
    return (
        _nested(20_000),
        *(b'{"%s": %s}' % (name.encode(), _nested(d)) for d in range(940, 1000)),
    )


BIG = b"x" * (LIMIT + 1024)
NOT_UTF8 = b'{"content": "\xc3\x28\xff UNIQ"}'
GB18030 = _json({"content": "请问今年学区怎么划分？UNIQ"}).decode().encode("gb18030")
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>'
    b"<MsgType>text</MsgType><Content>&e;</Content><MsgId>1UNIQ</MsgId></xml>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10) for n in range(1, 10))
    + b"]><xml><MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2UNIQ</MsgId></xml>"
)
BAD_JSON = "bad-json"  # the dead letter of a body that is not a JSON object
HOSTILE_TEXT = "<script>alert('UNIQ')</script><img src=x onerror=alert(1)>'; DROP TABLE log; --"

WX = _xml("246UNIQ")
BOARD_MSG = _json({"id": "MUNIQ", "category": "咨询", "title": "学区", "content": "请问学区？",
                   "received_at": "2025-06-01T09:00:00"})  # fmt: skip
STEP = _json({"order_number": "WUNIQ", "step": "accepted", "category": "help",
              "time": "2025-06-01T09:00:00"})  # fmt: skip
CALL = _json({"kind": "call", "content": "东街水管爆裂UNIQ", "recorder": "李华"})
TASK = _json({"task_id": "DC-UNIQ", "title": "城区学校扩容", "deadline": DEADLINE,
              "lead_department": "lead"})  # fmt: skip
PROGRESS, ASSIGN = "/tasks/DC-UNIQ/progress", "/tasks/DC-UNIQ/assign"
REPORT = b'{"percent": 90, "text": "x"}'
SIGN, COMPLETION = "/tasks/DC-UNIQ/sign", "/tasks/DC-UNIQ/completion"
DONE = _json({"text": "已完工"})
FORMULA_TITLE = '=HYPERLINK("http://evil.example/UNIQ","详情")'
FORMULA_TASK = _json({"task_id": "DC-UNIQ", "title": FORMULA_TITLE, "deadline": DEADLINE,
                      "lead_department": "lead"})  # fmt: skip
FORMULA_REPORT_TEXT = "@SUM(1+1)*cmd|' /C calc'!A0 UNIQ"
FORMULA_REPORT = _json({"percent": 50, "text": FORMULA_REPORT_TEXT})
TELEGRAM_SECRET = "SECRET-T18-7f3c"
"""In every free-text field of a classified telegram's sheet; found nowhere afterwards."""
HOSTILE_CALL = _json({"kind": "call", "content": HOSTILE_TEXT, "recorder": "李华"})
WX_OTHER = _xml("247UNIQ")
STEP_UNTIMED = _json({"order_number": "WTUNIQ", "step": "signed", "unit": "lead"})
PHONE, ID_NUMBER, NAME = "13912345678", "11010119900307123X", "王小明"
PRIVATE_MSG = _json({"id": "PUNIQ", "category": "投诉", "content": "夜间施工", "contact": PHONE,
                     "department": "不存在的局"})  # fmt: skip
PRIVATE_BROKEN = b'{"id": "PUNIQ", "contact": "%s", "content": "' % PHONE.encode()
PRIVATE_CALL = _json({"kind": "visit", "person": NAME, "phone": PHONE, "id_number": ID_NUMBER,
                      "content": "UNIQ 来访", "recorder": "李华",
                      "time": "not a time"})  # fmt: skip
PRIVATE_STEP = _json({"order_number": "WPUNIQ", "step": "accepted", "category": "help",
                      "caller_phone": PHONE, "time": "yesterday"})  # fmt: skip
PRIVATE_KEY = "hostile-privacy-key"


# -- the rows ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """A request to an HTTP intake. ``auth``: ``good`` (signed; the office's key), ``bad`` (signed
    with something else), ``stale`` (WeChat: signed an hour ago), ``none``, or whose key."""

    intake: str
    path: str
    body: bytes | tuple[bytes, ...]
    auth: str = "good"
    key: str = ""
    """The ``Idempotency-Key`` (tasks; its ``UNIQ`` replaced too), none when empty."""

    @property
    def bodies(self) -> tuple[bytes, ...]:
        return self.body if isinstance(self.body, tuple) else (self.body,)


def wechat(body: bytes | tuple[bytes, ...], auth: str = "good") -> Send:
    return Send("wechat", "/wechat", body, auth)


def board(body: bytes | tuple[bytes, ...], auth: str = "good") -> Send:
    return Send("board", "/board/messages", body, auth)


def hotline(body: bytes | tuple[bytes, ...], auth: str = "good") -> Send:
    return Send("hotline", "/hotline/steps", body, auth)


def duty(body: bytes | tuple[bytes, ...], auth: str = "good") -> Send:
    return Send("duty", "/duty/entries", body, auth)


def tasks(path: str, body: bytes | tuple[bytes, ...], auth: str = "good", key: str = "") -> Send:
    return Send("tasks", path, body, auth, key)


GOOD = {"wechat": wechat(WX), "board": board(BOARD_MSG), "hotline": hotline(STEP),
        "duty": duty(CALL), "tasks": tasks("/tasks", TASK)}  # fmt: skip
"""The follow-up of every row: the intake still takes a good request."""
WORKING = (tasks("/tasks", TASK), tasks(ASSIGN, b"{}"), tasks(SIGN, b"{}", "lead"))
"""Task DC-UNIQ created, assigned to ``lead`` and signed for: ready for reports."""


@dataclass(frozen=True)
class Refused:
    """Every body answered ``status`` with JSON ``{"error": reason}``; kept as a dead letter with
    ``dlq.reason`` ``letter`` (``None``: nothing kept). ``given`` is sent first and accepted."""

    intake: str
    hostile: str
    send: Send
    status: int
    reason: str
    letter: str | None = None
    given: tuple[Send, ...] = ()


@dataclass(frozen=True)
class Redacted:
    """Refused ``status`` with JSON ``{"error": reason}`` and kept as one dead letter in which
    none of ``private`` (a citizen's phone or ID number, a name) appears in clear (issue 18)."""

    intake: str
    hostile: str
    send: Send
    status: int
    reason: str
    private: tuple[str, ...]


@dataclass(frozen=True)
class Once:
    """Sent twice, accepted twice, one event: one ``ce_id`` for ``key`` on ``topic``."""

    intake: str
    hostile: str
    send: Send
    topic: str
    key: bytes


@dataclass(frozen=True)
class Shown:
    """Accepted; the worker's ``/dashboard.json`` has the text verbatim, ``GET /`` never."""

    intake: str
    hostile: str
    send: Send
    text: str


@dataclass(frozen=True)
class Unread:
    """A read of the worker's books (issue 18, finding 1): answered ``status`` and nothing of
    the entity the row's ``given`` requests made. ``key``: whose key, or ``None``."""

    intake: str
    hostile: str
    path: str
    key: str | None
    status: int
    given: tuple[Send, ...] = ()


@dataclass(frozen=True)
class Flooded:
    """``send`` refused ``times`` times (issue 18, finding 5): one grouped security alert about
    ``actor``, never one per request."""

    intake: str
    hostile: str
    send: Send
    actor: str
    times: int = 30
    given: tuple[Send, ...] = ()


@dataclass(frozen=True)
class Sheeted:
    """Accepted (``given`` first); in the worker's ``/ledger.xlsx`` the task's ``column`` holds
    ``text`` as a string cell behind a ``'``, and no cell is a formula (OWASP CSV injection)."""

    intake: str
    hostile: str
    send: Send
    column: str
    text: str
    given: tuple[Send, ...] = ()


@dataclass(frozen=True)
class Ran:
    """What a ``--once`` run makes of its input: ``events`` (quarantine records and alerts
    count), dead letters and withheld telegrams by reason, or ``error``: exit 1 with that reason.
    ``emptied``: every entry of the drop directory moved to done/ or rejected/. ``unseen``:
    text found afterwards on no topic, in no output and in no file outside ``rejected/``."""

    events: int = 0
    letters: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    emptied: bool = False
    unseen: str = ""


Plant = Callable[[Path, Path], list[str]]
"""Puts the input into ``in/`` (and what it points at into ``outside/``); answers the connect
arguments."""


@dataclass(frozen=True)
class Dropped:
    """A file intake's ``--once`` run over planted input."""

    intake: str
    hostile: str
    plant: Plant
    ran: Ran


# -- what the file rows plant --------------------------------------------------------------------
def _telegram(inside: Path) -> list[str]:
    """The drop directory's arguments, with one good telegram next to the hostile input."""
    _drop(inside, "good", SHEET | {"number": "GOOD-1"})
    return ["telegram", "--dir", str(inside)]


def odd_names(inside: Path, outside: Path) -> list[str]:
    for name in ("..%2F..%2Foutside%2Fcanary.txt.json", "..\\..\\outside\\x.json", "a\nb.json"):
        (inside / name).write_bytes(_json(SHEET | {"number": "ODD-1"}))
    (inside / "dir.json").mkdir()
    os.mkfifo(inside / "fifo.json")
    return _telegram(inside)


def names_taken(inside: Path, outside: Path) -> list[str]:
    """A directory named like a sheet, dropped again: rejected/ holds the first one."""
    for where in (inside / "rejected" / "again.json", inside / "again.json"):
        where.mkdir(parents=True)
        (where / "inside.txt").write_text("x")
    return _telegram(inside)


def symlinks_out(inside: Path, outside: Path) -> list[str]:
    (outside / "sheet.json").write_bytes(_json(SHEET | {"number": "OUTSIDE-1"}))
    (outside / "doc.pdf").write_bytes(b"%PDF-1.4 outside")
    (inside / "linked.json").symlink_to(outside / "sheet.json")
    _drop(inside, "pdf-linked", SHEET | {"number": "LINKED-1"}, pdf=None)
    (inside / "pdf-linked.pdf").symlink_to(outside / "doc.pdf")
    return _telegram(inside)


def linked_subdirs(inside: Path, outside: Path) -> list[str]:
    (outside / "trap").mkdir()
    (inside / "done").symlink_to(outside / "trap")
    (inside / "rejected").symlink_to(outside / "trap")
    _drop(inside, "secret", SHEET | {"number": "SECRET-1", "classification": "机密"})
    return _telegram(inside)


def not_utf8_sheets(inside: Path, outside: Path) -> list[str]:
    _drop(inside, "gb", _json(SHEET | {"number": "GB-1"}).decode().encode("gb18030"))
    _drop(inside, "broken", _json(SHEET | {"number": "BROKEN-1"}).replace(b"pages", b"pa\xffges"))
    return _telegram(inside)


def deep_sheet(inside: Path, outside: Path) -> list[str]:
    _drop(inside, "deep", _nested(20_000))
    return _telegram(inside)


def classified_everywhere(inside: Path, outside: Path) -> list[str]:
    """Two classified sheets with :data:`TELEGRAM_SECRET` in every free-text field (issue 18):
    one declared 机密; one marked only by 绝密 in its issuing unit, and invalid besides (it is
    withheld all the same, not dead-lettered in clear)."""
    texts = ("number", "issuing_unit", "approver", "machine_number", "title", "body")
    sheet = SHEET | {f: f"{TELEGRAM_SECRET} {f}" for f in texts} | {
        "addressees": [f"{TELEGRAM_SECRET} 各乡镇"]}  # fmt: skip
    _drop(inside, "declared", sheet | {"classification": "机密"})
    _drop(inside, "marked", sheet | {"issuing_unit": f"县公安局 绝密：收网行动 {TELEGRAM_SECRET}",
                                     "grade": "很急"})  # fmt: skip
    return _telegram(inside)


def fax_log_lines(inside: Path, outside: Path) -> list[str]:
    fields = fax_line(3).split("\t")
    fields[14] = '"张三"'  # CIDName, as a modem on a Chinese system may give it
    broken = fax_line(2).encode().replace(b"ttyS0", b"tty\xc3\x28\xff")
    log = inside / "xferfaxlog"
    log.write_bytes(fax_line(1).encode() + broken + "\t".join(fields).encode("gb18030"))
    return ["fax-log", "--path", str(log)]


def maildir_links(inside: Path, outside: Path) -> list[str]:
    make_maildir(inside)
    deliver(inside, "gw\\..\\..\\outside\\canary.txt", good_mail(1))  # a name is only a key
    (outside / "mail.eml").write_bytes(good_mail(2, pages=2))
    (inside / "new" / "1741916461.2.gw").symlink_to(outside / "mail.eml")
    return ["fax-mail", "--maildir", str(inside)]


def _board_csv(inside: Path, encode: Callable[[str], bytes]) -> list[str]:
    row = ["X1", "2025-06-01 09:00:00", "投诉", "噪音", "夜间施工", "", "", "", ""]
    path = inside / "board.csv"
    path.write_bytes(encode("\n".join(",".join(r) for r in (BOARD_EXPORT_HEADER, row)) + "\n"))
    return ["board", "--csv", str(path)]


def csv_not_utf8(inside: Path, outside: Path) -> list[str]:
    return _board_csv(inside, lambda text: text.encode().replace("施工".encode(), b"\xc3\x28\xff"))


def csv_gb18030(inside: Path, outside: Path) -> list[str]:
    return _board_csv(inside, lambda text: text.encode("gb18030"))


def _with_xxe(xlsx: Path, text: str, outside: Path) -> Path:
    """``text`` in the workbook's first sheet becomes an external entity reading a file in
    ``outside/`` (XXE in an XLSX, whose parts are XML)."""
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(xlsx) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    doctype = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{outside}/canary.txt">]>'
    parts[part] = doctype.encode() + parts[part].replace(text.encode(), b"&xxe;")
    with zipfile.ZipFile(xlsx, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return xlsx


def hotline_xxe(inside: Path, outside: Path) -> list[str]:
    xlsx = _with_xxe(hotline_export(inside / "12345.xlsx", "x"), "路灯不亮", outside)
    return ["hotline", "--xlsx", str(xlsx)]


def task_sheet_xxe(inside: Path, outside: Path) -> list[str]:
    xlsx = _with_xxe(write_sheet(inside / "台账.xlsx", [SCHOOLS]), "城区学校扩容工程", outside)
    return ["task-sheet", "--xlsx", str(xlsx)]


# -- the table -----------------------------------------------------------------------------------
def bodies_refused(send: Callable[[bytes | tuple[bytes, ...]], Send], field: str) -> list[Refused]:
    """What every JSON intake refuses: a body over the limit, JSON nested deep (``field`` the
    deepest), invalid UTF-8 and GB18030 text."""
    intake = send(BIG).intake
    return [
        Refused(intake, "a body over the limit", send(BIG), 413, "body-too-large"),
        Refused(intake, "deeply nested JSON", send(deep(field)), 400, "bad-json", BAD_JSON),
        Refused(intake, "invalid UTF-8", send(NOT_UTF8), 400, "bad-json", BAD_JSON),
        Refused(intake, "GB18030 text", send(GB18030), 400, "bad-json", BAD_JSON),
    ]


# One row: the intake, the hostile input, how it is sent or planted, and what must come of it.
# fmt: off
TABLE: list[Refused | Redacted | Once | Shown | Sheeted | Dropped] = [
    Refused("wechat", "XXE: an entity reading /etc/passwd", wechat(XXE), 400, "hostile-xml"),
    Refused("wechat", "billion laughs", wechat(LAUGHS), 400, "hostile-xml"),
    Refused("wechat", "a body over the limit", wechat(BIG), 413, "body-too-large"),
    Refused("wechat", "a wrong signature", wechat(WX, "bad"), 403, "bad-signature"),
    Refused("wechat", "signed an hour ago", wechat(WX, "stale"), 403, "stale-timestamp"),
    Once("wechat", "the same MsgId pushed twice", wechat(WX), MESSAGES, b"wx-246UNIQ"),
    Refused("wechat", "a signature that is not ASCII", wechat(WX, "non-ascii"), 403,
            "bad-signature"),
    Refused("wechat", "plain mode while an EncodingAESKey is set", wechat(WX, "plain"), 403,
            "plain-mode-refused"),
    Refused("wechat", "a nonce used again for another body", wechat(WX_OTHER, "same-nonce"), 403,
            "replayed-nonce", given=(wechat(WX, "same-nonce"),)),

    *bodies_refused(board, "category"),
    Refused("board", "signed with another secret", board(BOARD_MSG, "bad"), 401,
            "bad-signature"),
    Refused("board", "signed an hour ago", board(BOARD_MSG, "stale"), 401, "stale-timestamp"),
    Refused("board", "the old X-Board-Signature", board(BOARD_MSG, "legacy"), 401,
            "old-signature-scheme"),
    Once("board", "a signed request replayed", board(BOARD_MSG), MESSAGES, b"board-MUNIQ"),
    Refused("board", "a signature header that is not ASCII", board(BOARD_MSG, "non-ascii"), 401,
            "bad-signature"),
    Redacted("board", "a phone number in a message for an unknown department", board(PRIVATE_MSG),
             422, "unknown-department", (PHONE,)),
    Redacted("board", "a phone number in a body that is not JSON", board(PRIVATE_BROKEN), 400,
             "bad-json", (PHONE,)),
    Dropped("board", "CSV with invalid UTF-8", csv_not_utf8, Ran(error="not-utf8")),
    Dropped("board", "CSV saved in GB18030", csv_gb18030, Ran(error="not-utf8")),

    *bodies_refused(hotline, "step"),
    Refused("hotline", "no signature", hotline(STEP, "none"), 401, "bad-signature"),
    Refused("hotline", "a webhook-id used again for another body", hotline(STEP_UNTIMED, "reused"),
            409, "webhook-id-reused", given=(hotline(STEP, "reused"),)),
    Once("hotline", "a signed request replayed", hotline(STEP), WORKORDERS, b"WUNIQ"),
    Once("hotline", "a step without a time replayed", hotline(STEP_UNTIMED), WORKORDERS,
         b"WTUNIQ"),
    Refused("hotline", "a signature header that is not ASCII", hotline(STEP, "non-ascii"), 401,
            "bad-signature"),
    Redacted("hotline", "a caller's phone in a step that does not validate",
             hotline(PRIVATE_STEP), 422, "invalid-step", (PHONE,)),
    Dropped("hotline", "XXE in the XLSX export", hotline_xxe, Ran(error="not-an-xlsx")),

    *bodies_refused(duty, "kind"),
    Refused("duty", "a department's key", duty(CALL, "lead"), 403, "office-only"),
    Shown("duty", "HTML and SQL in the content", duty(HOSTILE_CALL), HOSTILE_TEXT),
    Redacted("duty", "a visitor's name, phone and ID number with a bad time",
             duty(PRIVATE_CALL), 422, "invalid-request", (PHONE, ID_NUMBER, NAME)),

    *bodies_refused(lambda body: tasks("/tasks", body), "title"),
    Refused("tasks", "an unknown key", tasks("/tasks", TASK, "nobody"), 401, "unauthenticated"),
    Refused("tasks", "another department's task", tasks(PROGRESS, REPORT, "other"),
            403, "not-a-task-department", given=(tasks("/tasks", TASK), tasks(ASSIGN, b"{}"))),
    Refused("tasks", "an Idempotency-Key reused for another step",
            tasks(COMPLETION, DONE, "lead", key="k-UNIQ"), 422, "idempotency-key-reused",
            given=(*WORKING, tasks(PROGRESS, REPORT, "lead", key="k-UNIQ"))),
    Flooded("tasks", "30 calls on another department's task", tasks(PROGRESS, REPORT, "other"),
            "department:other", given=(tasks("/tasks", TASK), tasks(ASSIGN, b"{}"))),
    Unread("worker", "the ledger without a credential", "/ledger", None, 401,
           given=(tasks("/tasks", TASK),)),
    Unread("worker", "every book at once without a credential", "/replay/books", None, 401,
           given=(tasks("/tasks", TASK),)),
    Unread("worker", "faust's raw table page", "/table/ledger/", None, 404,
           given=(tasks("/tasks", TASK),)),
    Unread("worker", "another department's share with a department's key",
           "/ledger?department=lead", KEYS["other"], 403, given=(tasks("/tasks", TASK),)),
    Unread("worker", "the dashboard's data without a credential", "/dashboard.json", None, 401,
           given=(tasks("/tasks", TASK),)),
    Unread("worker", "the audit trail with a department's key", "/audit", KEYS["lead"], 403),
    Sheeted("tasks", "a title that is a spreadsheet formula", tasks("/tasks", FORMULA_TASK),
            "督办事项", FORMULA_TITLE),
    Sheeted("tasks", "a progress report that is a spreadsheet formula",
            tasks(PROGRESS, FORMULA_REPORT, "lead"), "进展情况", FORMULA_REPORT_TEXT,
            given=WORKING),
    Dropped("task-sheet", "XXE in the XLSX", task_sheet_xxe, Ran(error="not-an-xlsx")),

    Dropped("telegram", "names like paths, a directory and a FIFO named *.json", odd_names,
            Ran(events=1, letters={"unsafe-name": 5}, emptied=True)),
    Dropped("telegram", "a directory named *.json that rejected/ already holds", names_taken,
            Ran(events=1, letters={"unsafe-name": 1}, emptied=True)),
    Dropped("telegram", "a sheet and a PDF symlinked to files outside", symlinks_out,
            Ran(events=1, letters={"unsafe-name": 1, "missing-pdf": 1}, emptied=True)),
    Dropped("telegram", "done/ and rejected/ symlinked outside", linked_subdirs,
            Ran(error="unsafe-drop-directory")),
    Dropped("telegram", "sheets in GB18030 and invalid UTF-8", not_utf8_sheets,
            Ran(events=1 + 2 * 2, withheld={"not-utf8": 2}, emptied=True)),
    Dropped("telegram", "a sheet nested 20 000 deep", deep_sheet,
            Ran(events=1, letters={"invalid-sheet": 1}, emptied=True)),
    Dropped("telegram", "classified text in every field of the sheet", classified_everywhere,
            Ran(events=1 + 2 * 2, withheld={"declared-classification": 1, "marker": 1},
                emptied=True, unseen=TELEGRAM_SECRET)),

    Dropped("fax-log", "lines in invalid UTF-8 and GB18030", fax_log_lines,
            Ran(events=1, letters={"not-utf8": 2})),
    Dropped("fax-mail", "a mail symlinked outside, a name like a path", maildir_links,
            Ran(events=1)),
]
# fmt: on


def _rows(kind: type) -> Any:
    rows = [row for row in TABLE if isinstance(row, kind)]
    ids = [f"{row.intake}-{re.sub(r'[^a-z0-9]+', '-', row.hostile.lower()).strip('-')}"
           for row in rows]  # fmt: skip
    return pytest.mark.parametrize("row", rows, ids=ids)


# -- shared machinery ------------------------------------------------------------------------------
def _uniq() -> str:
    return str(uuid.uuid4().int % 10**12)


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` (links not followed) -> a file's digest, a link's target, or
    its kind (``d``, ``p`` …)."""
    found = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                what = "-> " + os.readlink(path)
            elif stat.S_ISREG(mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = stat.filemode(mode)[0]
            found[path.relative_to(root).as_posix()] = what
    return found


def assert_nothing_written_outside(
    before: dict[str, str], after: dict[str, str], allowed: tuple[str, ...]
) -> None:
    """Changes only in the ``allowed`` top-level entries, none a copy of a file from outside/."""
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert sorted(p for p in changed if p.split("/")[0] not in allowed) == []
    outside = {what for p, what in before.items() if p.startswith("outside/")}
    assert sorted(p for p in changed if after.get(p) in outside) == []


def _letters(broker: Broker, source: str) -> list[tuple[str, Any]]:
    """``(dlq.reason header, record)`` of every dead letter of ``source``."""
    return [
        (r.headers["dlq.reason"].decode(), r)
        for r in read_topic(broker, DEADLETTER)
        if r.key == source.encode()
    ]


def _digests(bodies: set[bytes]) -> set[str]:
    """What a dead letter of one of ``bodies`` keeps as ``raw_sha256``: the plain digest, or
    (letters of the HTTP intakes) the keyed one."""
    return {hashlib.sha256(b).hexdigest() for b in bodies} | {
        hmac.new(PRIVATE_KEY.encode(), b, hashlib.sha256).hexdigest() for b in bodies
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """``(status, answer)``: the JSON when the answer is JSON, else its text."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            status, ctype, raw = resp.status, resp.headers.get_content_type(), resp.read()
    except urllib.error.HTTPError as exc:
        status, ctype, raw = exc.code, exc.headers.get_content_type(), exc.read()
    return status, json.loads(raw) if ctype == "application/json" else raw.decode()


def _webhook_headers(intake: str, auth: str, body: bytes, uniq: str) -> dict[str, Any]:
    """The board's or the hotline's Standard Webhooks headers for ``auth``: ``good``, ``bad``
    (another secret), ``none``, ``stale`` (an hour ago), ``reused`` (one webhook-id per
    ``uniq``), ``legacy`` (only the old ``X-…-Signature``), ``non-ascii`` (both schemes)."""
    secret = {"board": BOARD_SECRET, "hotline": HOTLINE_SECRET}[intake]
    legacy = f"X-{intake.title()}-Signature"
    if auth == "none":
        return {}
    if auth == "legacy":
        old_key = base64.b64decode(secret.removeprefix("whsec_"))
        return {legacy: "sha256=" + hmac.new(old_key, body, hashlib.sha256).hexdigest()}
    at = time.time() - 3600 if auth == "stale" else None
    headers: dict[str, Any] = signed(
        secret if auth != "bad" else whsec("not-the-secret"),
        body,
        msg_id=f"msg_reused_{uniq}" if auth == "reused" else None,
        at=at,
    )
    if auth == "non-ascii":
        headers |= {"webhook-signature": "v1,中".encode(), legacy: "sha256=中".encode()}
    return headers


@dataclass
class Hub:
    """The HTTP intakes as real processes, and a worker reading what they produce."""

    broker: Broker
    root: Path
    instance: str
    urls: dict[str, str]
    worker: WorkerProcess
    stamps: dict[str, int] = field(default_factory=dict)

    def post(self, send: Send, uniq: str) -> list[tuple[int, Any]]:
        """Each of ``send``'s bodies, its ``UNIQ`` (and its path's) replaced by ``uniq``."""
        url = self.urls[send.intake] + send.path.replace("UNIQ", uniq)
        return [
            self._one(send, url, body.replace(b"UNIQ", uniq.encode()), uniq) for body in send.bodies
        ]

    def post_given(
        self, sends: Iterable[Send], uniq: str, taken: tuple[int, ...] = (201, 202)
    ) -> None:
        """Post each of ``sends`` (what a row needs to exist first) as :meth:`post` does; each
        one body, answered with one of the ``taken`` statuses."""
        for send in sends:
            assert [status for status, _ in self.post(send, uniq)] in [[t] for t in taken], send

    def _wechat(self, body: bytes, auth: str, uniq: str) -> tuple[dict[str, str], bytes]:
        """The query and body WeChat sends: secure mode unless ``auth`` is ``plain``; sent again,
        byte for byte the same request (as WeChat's retry is)."""
        stamp = str(self.stamps.setdefault(uniq, int(time.time())) - 3600 * (auth == "stale"))
        nonce = uniq if auth == "same-nonce" else str(int(hashlib.sha256(body).hexdigest()[:8], 16))
        query = {
            "timestamp": stamp,
            "nonce": nonce,
            "signature": signature(WECHAT_TOKEN, stamp, nonce),
        }
        query |= {"bad": {"signature": "0" * 40}, "non-ascii": {"signature": "中"}}.get(auth, {})
        return (query, body) if auth == "plain" else wechat_secure(body, query)

    def _one(self, send: Send, url: str, body: bytes, uniq: str) -> tuple[int, Any]:
        if send.intake == "wechat":
            query, sent = self._wechat(body, send.auth, uniq)
            return _post(
                f"{url}?{urllib.parse.urlencode(query)}", sent, {"Content-Type": "text/xml"}
            )
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        if send.intake in ("board", "hotline"):
            headers |= _webhook_headers(send.intake, send.auth, body, uniq)
        else:
            headers["Authorization"] = f"Bearer {KEYS[send.auth]}"
        if send.key:
            headers["Idempotency-Key"] = send.key.replace("UNIQ", uniq)
        return _post(url, body, headers)

    def letters(self, intake: str) -> list[tuple[str, bytes]]:
        return _letters(self.broker, f"midfield://{intake}/{self.instance}")

    def check_after(self, intake: str, before: dict[str, str]) -> None:
        """A good request is still taken, and nothing was written."""
        [(status, answer)] = self.post(GOOD[intake], _uniq())
        assert status in (200, 201, 202), answer
        assert_nothing_written_outside(before, _tree(self.root), ("cli.stderr", "state"))


@pytest.fixture(scope="module")
def hub(catalog_topics: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root, instance = tmp_path_factory.mktemp("hostile"), uuid.uuid4().hex[:8]
    directory = departments_file(root / "departments.toml",
                                 {"lead": KEYS["lead"], "other": KEYS["other"]})  # fmt: skip
    env = intake_env(catalog_topics, root, directory, MIDFIELD_PRIVACY_KEY=PRIVATE_KEY)
    options = ["--instance", instance, "--max-body-bytes", str(LIMIT)]
    worker = WorkerProcess(
        catalog_topics,
        tmp_path_factory.mktemp("hostile-worker"),
        app_id=f"hostile-{instance}",
        env_extra={"MIDFIELD_DEPARTMENTS_FILE": str(directory)},
    )
    with serving_all(GOOD, env, cwd=root, args=options) as urls:
        worker.start()
        try:
            yield Hub(catalog_topics, root, instance, urls, worker)
        finally:
            worker.stop()


# -- the runners: one per kind of row -------------------------------------------------------------
@pytest.mark.xdist_group("hostile-http")
@_rows(Refused)
def test_http_intake_refuses_with_a_reason_and_keeps_serving(row: Refused, hub: Hub) -> None:
    uniq, before = _uniq(), _tree(hub.root)
    hub.post_given(row.given, uniq, taken=(200, 201, 202))
    answers = hub.post(row.send, uniq)
    reasons = [(s, a["error"] if isinstance(a, dict) else a) for s, a in answers]
    assert reasons == [(row.status, row.reason)] * len(answers)
    sent = _digests({body.replace(b"UNIQ", uniq.encode()) for body in row.send.bodies})
    letters = [(reason, DeadLetter.from_value(r.value)) for reason, r in hub.letters(row.intake)]
    kept = [reason for reason, letter in letters if letter.raw_sha256 in sent]
    assert kept == ([row.letter] * len(row.send.bodies) if row.letter else [])
    hub.check_after(row.intake, before)


@pytest.mark.xdist_group("hostile-http")
@_rows(Redacted)
def test_a_dead_letter_keeps_no_personal_data_in_clear(row: Redacted, hub: Hub) -> None:
    uniq, before = _uniq(), _tree(hub.root)
    [(status, answer)] = hub.post(row.send, uniq)
    assert (status, answer["error"]) == (row.status, row.reason), answer
    [body] = [body.replace(b"UNIQ", uniq.encode()) for body in row.send.bodies]
    mine = [r for _, r in hub.letters(row.intake)
            if DeadLetter.from_value(r.value).raw_sha256 in _digests({body})]  # fmt: skip
    assert len(mine) == 1
    kept = mine[0].value + b"".join(mine[0].headers.values())
    assert [private for private in row.private if private.encode() in kept] == []
    hub.check_after(row.intake, before)


@pytest.mark.xdist_group("hostile-http")
@_rows(Once)
def test_a_replayed_request_is_one_event(row: Once, hub: Hub) -> None:
    uniq, before = _uniq(), _tree(hub.root)
    answers = hub.post(row.send, uniq) + hub.post(row.send, uniq)
    assert [status for status, _ in answers] in ([200, 200], [202, 202]), answers
    key = row.key.replace(b"UNIQ", uniq.encode())
    ids = {r.headers["ce_id"] for r in read_topic(hub.broker, row.topic) if r.key == key}
    assert len(ids) == 1
    hub.check_after(row.intake, before)


@pytest.mark.xdist_group("hostile-http")
@_rows(Shown)
def test_text_the_dashboard_shows_stays_text(row: Shown, hub: Hub) -> None:
    uniq, before = _uniq(), _tree(hub.root)
    text = row.text.replace("UNIQ", uniq)
    assert [status for status, _ in hub.post(row.send, uniq)] == [201]
    hub.worker.wait_ready()

    def shown() -> list[str]:
        latest = hub.worker.get("/dashboard.json")[1]["duty_log"]["latest"]
        return [e["content"] for e in latest if uniq in e["content"]]

    assert wait_for(shown, timeout=30, what="the entry on the dashboard") == [text]
    status, page, headers = http_get_bytes(hub.worker.url + "/")
    assert status == 200 and headers.get_content_type() == "text/html"
    assert uniq not in page.decode()
    hub.check_after(row.intake, before)


@pytest.mark.xdist_group("hostile-http")
@_rows(Unread)
def test_the_worker_shows_its_books_to_no_one_unentitled(row: Unread, hub: Hub) -> None:
    uniq = _uniq()
    hub.post_given(row.given, uniq)
    hub.worker.wait_ready()
    if row.given:  # the entity is in the books before it is asked for
        wait_for(lambda: uniq in json.dumps(hub.worker.get("/ledger")[1]), timeout=30,
                 what="the task in the ledger")  # fmt: skip
    status, body, _ = http_get_bytes(hub.worker.url + row.path, key=row.key)
    assert status == row.status, body[:300]
    assert uniq.encode() not in body


@pytest.mark.xdist_group("hostile-http")
@_rows(Flooded)
def test_a_flood_of_refused_calls_is_one_grouped_alert(row: Flooded, hub: Hub) -> None:
    uniq = _uniq()
    hub.post_given(row.given, uniq)
    statuses = {status for _ in range(row.times) for status, _ in hub.post(row.send, uniq)}
    assert statuses == {403}
    hub.worker.wait_ready()

    def security_alerts() -> set[str]:
        records = [json.loads(r.value) for r in read_topic(hub.broker, "office.alerts.v1")]
        return {
            a["alert_id"]
            for a in records
            if a.get("kind") == "security" and row.actor.endswith(a.get("actor") or "?")
        }

    wait_for(security_alerts, timeout=30, what="the grouped alert")
    time.sleep(1)  # anything more the worker would still send
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert security_alerts() == {f"security/denied/{day}/{row.actor}"}


@pytest.mark.xdist_group("hostile-http")
@_rows(Sheeted)
def test_text_the_ledger_sheet_holds_never_runs_as_a_formula(row: Sheeted, hub: Hub) -> None:
    hub.worker.wait_ready()  # the module's worker starts with the hub: not yet serving if first
    uniq, before = _uniq(), _tree(hub.root)
    hub.post_given((*row.given, row.send), uniq)
    text = row.text.replace("UNIQ", uniq)

    def written() -> tuple[Any, dict[str, Any]] | None:
        found = _ledger_row(hub, f"DC-{uniq}")
        return found if found and uniq in str(found[1][row.column].value) else None

    sheet, cells = wait_for(written, timeout=30, what="the text in /ledger.xlsx")
    assert (cells[row.column].data_type, cells[row.column].value) == ("s", "'" + text)
    assert [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"] == []
    hub.check_after(row.intake, before)


def _ledger_row(hub: Hub, task_id: str) -> tuple[Any, dict[str, Any]] | None:
    """The worker's ``/ledger.xlsx`` and ``task_id``'s row in it (header -> cell), if there."""
    status, body, _ = http_get_bytes(hub.worker.url + "/ledger.xlsx")
    if status != 200:
        return None
    sheet = load_workbook(BytesIO(body)).active
    header = [c.value for c in sheet[2]]
    for cells in sheet.iter_rows(min_row=3):
        if cells[1].value == task_id:
            return sheet, dict(zip(header, cells, strict=True))
    return None


def _assert_unseen(broker: Broker, text: str, run: Any, workdir: Path) -> None:
    """``text`` on no topic (keys, values, headers), in no output, in no file outside
    ``rejected/``."""
    needle = text.encode()
    for spec in concrete():
        for r in read_topic(broker, spec.name):
            assert needle not in b"".join([r.key or b"", r.value or b"", *r.headers.values()]), (
                spec.name
            )
    assert text not in run.stdout + run.stderr
    for path in workdir.rglob("*"):
        if path.is_file() and not path.is_symlink() and "rejected" not in path.parts:
            assert needle not in path.read_bytes(), path


@_rows(Dropped)
def test_file_intake_refuses_and_writes_nothing_outside(
    row: Dropped, catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    inside, outside = workdir / "in", workdir / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "canary.txt").write_text(f"OUTSIDE {unique}")
    args = row.plant(inside, outside)
    before = _tree(workdir)
    env = midfield_env(catalog_topics, workdir, MIDFIELD_DEPARTMENTS_FILE=str(DEPARTMENTS_FILE),
                       MIDFIELD_CONNECT_DOCUMENTS_DIR=str(workdir / "documents"))  # fmt: skip
    run = run_cli(["connect", *args, "--instance", unique, "--once"], env, cwd=workdir,
                  check=False)  # fmt: skip
    if row.ran.error:
        assert (run.returncode, f"error [{row.ran.error}]" in run.stderr) == (1, True), run.stderr
    else:
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout)["events"] == row.ran.events
    source = f"midfield://{args[0]}/{unique}"
    assert Counter(reason for reason, _ in _letters(catalog_topics, source)) == row.ran.letters
    if args[0] == "telegram":
        held = [json.loads(r.value)["rule"] for r in read_topic(catalog_topics, QUARANTINE)
                if r.headers.get("ce_source") == source.encode()]  # fmt: skip
        assert Counter(held) == row.ran.withheld
    if row.ran.emptied:
        assert sorted(os.listdir(inside)) == ["done", "rejected"]
    if row.ran.unseen:
        _assert_unseen(catalog_topics, row.ran.unseen, run, workdir)
    assert_nothing_written_outside(before, _tree(workdir), ("in", "state", "documents"))
