"""The telegram drop directory's classification guard (DESIGN §4), apart from its reader.

Before anything else, a cover sheet's bytes are checked: a declared 密级, a ``★`` term, a
configured marker or a 密级 term (绝密/机密/秘密) anywhere in it, in any field, withholds the
telegram. What a withheld telegram may still say on the bus is decided here too: metadata only
(the rule, the sheet's digest, the number when in the standard form; never the issuing unit,
title or any other free text: issue 18), as a quarantine record and a critical alert to the duty
officer. Pure functions, security-critical: kept in one short module so that they are reviewed
as one (tests/unit/test_telegram_guard.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from connectors.runtime.source import Connector
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.quarantine import ItemQuarantined

__all__ = ["hidden_name", "quarantine_events", "withheld_by", "withheld_metadata"]

_DECLARED = ("绝密", "机密", "秘密")
_STAR = re.compile(r"(绝密|机密|秘密)?\s*★")
_NOT_CLASSIFIED = ("", "无", "非密", "none")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_INVISIBLE = re.compile(
    "[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]"
)
_NUMBER = re.compile(r"[\u4e00-\u9fff×]{1,10}〔(19|20)\d\d〕\d{1,6}号")
"""A telegram number in the standard form (GB/T 9704-2012 7.2.4: the issuing organ's
abbreviation, the year in 〔〕, the serial, 号): the only text of a withheld sheet that goes on."""


def withheld_by(sheet: bytes, markers: tuple[str, ...]) -> str | None:
    """The guard: the rule that withholds this cover sheet, or ``None`` when it may pass.

    Every field is checked, known or not, because the whole sheet is: its raw text, the same
    with ``\\uXXXX`` escapes decoded (so ``\\u673a\\u5bc6`` hides no 机密, even in a sheet
    that is not JSON) and its decoded JSON, each also with spaces and invisible characters
    removed (``机 密``). The 密级 terms (绝密, 机密, 秘密) and ``★`` withhold wherever they
    appear, whatever the configured markers say. A sheet that is not UTF-8 (GB18030, UTF-16)
    cannot be checked at all, so it is withheld too (``not-utf8``).
    """
    try:
        text = sheet.decode("utf-8")
    except UnicodeDecodeError:
        return "not-utf8"
    fields = _loaded(text)
    declared = ""
    if isinstance(fields, dict):
        declared = str(fields.get("classification") or fields.get("密级") or "")
    if declared.strip().lower() not in _NOT_CLASSIFIED or any(d in declared for d in _DECLARED):
        return "declared-classification"
    texts = _views(text, fields)
    if any(_STAR.search(t) for t in texts):
        return "star-term"
    if any(m and m in t for m in map(_plain, markers) for t in texts):
        return "marker"
    if any(d in t for d in _DECLARED for t in texts):
        return "classification-term"
    return None


def _views(text: str, fields: Any) -> tuple[str, ...]:
    """What the guard searches: the raw text, with escapes decoded, the decoded JSON, and each
    of them :func:`_plain`."""
    unescaped = _ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    views = (text, unescaped, json.dumps(fields, ensure_ascii=False))
    return views + tuple(_plain(v) for v in views)


def _plain(text: str) -> str:
    """``text`` in NFKC with whitespace and invisible format characters removed: what a reader
    sees, so that ``机 密``, ``机\u200b密`` or full-width letters hide no marker."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def _loaded(text: str) -> Any:
    """The sheet's JSON; ``None`` when it is not JSON, or nested deeper than Python reads."""
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return None


def hidden_name(name: str) -> str:
    """How logs and dead letters name a withheld file: never by its name."""
    return "withheld#" + hashlib.sha256(name.encode()).hexdigest()[:12]


def withheld_metadata(sheet: bytes, markers: tuple[str, ...]) -> dict[str, str]:
    """What a withheld sheet may say on the bus: its digest, and its number only in the
    standard form with no marker in it; no free text (issuing unit, title, body…) at all."""
    digest = hashlib.sha256(sheet).hexdigest()
    try:
        fields = json.loads(sheet)
        number = str(fields.get("number") or fields.get("部门号") or "")
    except (ValueError, AttributeError, RecursionError):
        number = ""
    if not _NUMBER.fullmatch(number) or withheld_by(json.dumps(number).encode(), markers):
        number = f"sheet-{digest[:16]}"
    return {"item_id": number, "sheet_digest": f"sha256:{digest}"}


def quarantine_events(meta: dict[str, str], rule: str, *, by: Connector) -> list[Envelope]:
    """The quarantine record and the duty officer's alert, events of ``by``: metadata only
    (DESIGN §4)."""
    item, digest = meta["item_id"], meta["sheet_digest"]
    held = ItemQuarantined(item_id=item, kind="telegram", rule=rule, sheet_digest=digest)
    alert = AlertRaised(
        alert_id=f"quarantine/telegram/{item}",
        kind="quarantine",
        severity=Severity.critical,
        about=item,
        reason=rule,
        message=f"明传电报 {item} 被拦截（{rule}），其内容未进入总线；封面文件在 rejected/"
        f"（{digest}），请按涉密渠道处理",
    )
    at = datetime.fromisoformat(meta["read_at"])
    return [
        by.envelope(event, position=position, subject=subject, time=at)
        # the id names the withheld file, not only its number: a second sheet under one number
        # (another rule, another file) is a second event, the same file read again is not
        for event, position, subject in (
            (held, f"quarantine/{item}/{digest}", item),
            (alert, f"quarantine-alert/{item}/{digest}", alert.alert_id),
        )
    ]
