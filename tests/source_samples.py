"""Samples of every registered source, for the contract suite (tests/unit/test_source_contract.py).

A source that reads files or folders gives :class:`FileSample` s: the raw input (which the fuzzer
breaks) and how to place it under a temporary folder, answering the options of ``midfield
connect <name>`` that read it. An HTTP intake gives :class:`HttpSample` s: a request and how its
sender signs it. A source registered without samples here fails the suite: add its samples when
adding it (connectors/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from pydantic import SecretStr

from connectors.sources.board import BoardSettings
from connectors.sources.task_sheet_layout import ALIASES
from connectors.sources.wechat import WechatSettings
from connectors.sources.wechat_protocol import signature
from midfield.settings import ConnectorSettings, DepartmentSettings, HotlineSettings, Settings
from tests.harness import departments_file
from tests.mail_samples import good_mail, make_maildir
from tests.samples import TELEGRAM_SHEET, fax_line
from tests.webhooks import signed

__all__ = ["SAMPLES", "FileSample", "HttpSample", "contract_settings"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OFFICE_KEY = "office-key"
BOARD_SECRET = "whsec_" + base64.b64encode(b"contract-board-secret").decode()
HOTLINE_SECRET = "whsec_" + base64.b64encode(b"contract-hotline-secret").decode()
WECHAT_TOKEN = "contract-wechat-token"


@dataclass(frozen=True)
class FileSample:
    """One input of a source that reads files or folders."""

    raw: bytes
    place: Callable[[Path, bytes], dict[str, Any]]
    """Writes ``raw`` under the folder where the source reads it; answers the source's options."""


@dataclass(frozen=True)
class HttpSample:
    """One request to an HTTP intake, signed as its real sender signs it."""

    path: str
    body: bytes
    sign: Callable[[str, bytes], tuple[str, dict[str, str]]]
    """(path with any query, headers) for a body: an API key, a signature."""


def contract_settings(tmp: Path) -> Settings:
    """Settings every sample runs with: a departments file (keys of the office and of edu),
    each intake's secret, state and documents under ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    directory = departments_file(tmp / "departments.toml", {"edu": "edu-key"})
    return Settings(
        connect=ConnectorSettings(state_dir=tmp / "state", documents_dir=tmp / "documents"),
        departments=DepartmentSettings(file=directory, min_key_length=1),
        hotline=HotlineSettings(secret=SecretStr(HOTLINE_SECRET)),
        parts=(
            BoardSettings(secret=SecretStr(BOARD_SECRET)),
            WechatSettings(token=SecretStr(WECHAT_TOKEN)),
        ),
    )


# -- files and folders ------------------------------------------------------------------------
def _fax_log(tmp: Path, raw: bytes) -> dict[str, Any]:
    (tmp / "xferfaxlog").write_bytes(raw)
    return {"path": tmp / "xferfaxlog"}


def _maildir(tmp: Path, raw: bytes) -> dict[str, Any]:
    (make_maildir(tmp / "Maildir") / "new" / "1.contract").write_bytes(raw)
    return {"maildir": tmp / "Maildir"}


def _task_sheet(tmp: Path, raw: bytes) -> dict[str, Any]:
    (tmp / "台账.xlsx").write_bytes(raw)
    return {"xlsx": tmp / "台账.xlsx"}


def _telegram(tmp: Path, raw: bytes) -> dict[str, Any]:
    (tmp / "drop").mkdir(exist_ok=True)
    (tmp / "drop" / "t.pdf").write_bytes(b"%PDF-1.4\n% contract telegram\n")
    (tmp / "drop" / "t.json").write_bytes(raw)
    return {"dir": tmp / "drop"}


def _task_list() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    fields = ("task_id", "title", "lead_department", "deadline")
    sheet.append([ALIASES[field][0] for field in fields])
    sheet.append(["DC-2025-001", "城区学校扩容工程", "edu", "2025-08-31"])
    sheet.append(["DC-2025-002", "老旧小区改造", "部门edu", "2025/12/31"])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# -- HTTP intakes -----------------------------------------------------------------------------
def _keyed(path: str, body: bytes) -> tuple[str, dict[str, str]]:
    """The office's API key; the body's digest as the idempotency key, as a sender that
    retries sends it (a request sent again is the same event)."""
    retry = hashlib.sha256(body).hexdigest()
    return path, {"Authorization": f"Bearer {OFFICE_KEY}", "Content-Type": "application/json",
                  "Idempotency-Key": retry}  # fmt: skip


def _webhook(secret: str) -> Callable[[str, bytes], tuple[str, dict[str, str]]]:
    def sign(path: str, body: bytes) -> tuple[str, dict[str, str]]:
        return path, signed(secret, body) | {"Content-Type": "application/json"}

    return sign


def _wechat(path: str, body: bytes) -> tuple[str, dict[str, str]]:
    stamp, nonce = str(int(time.time())), "20250620"
    query = {"timestamp": stamp, "nonce": nonce, "signature": signature(WECHAT_TOKEN, stamp, nonce)}
    return f"{path}?{urllib.parse.urlencode(query)}", {"Content-Type": "text/xml"}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


_WECHAT_TEXT = (
    "<xml><ToUserName><![CDATA[gh_contract]]></ToUserName><FromUserName><![CDATA[oUser]]>"
    "</FromUserName><CreateTime>1750385700</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[小区门口垃圾堆放多日无人清运]]></Content>"
    "<MsgId>24601234567890123456</MsgId></xml>"
).encode()

SAMPLES: dict[str, list[FileSample] | list[HttpSample]] = {
    "fax-log": [
        FileSample((FIXTURES / "xferfaxlog" / "classic-hylafax.log").read_bytes(), _fax_log),
        FileSample(fax_line(119).encode() + b"\n", _fax_log),
    ],
    "fax-mail": [FileSample(good_mail(1, pages=2), _maildir)],
    "task-sheet": [FileSample(_task_list(), _task_sheet)],
    "telegram": [
        FileSample(_json(TELEGRAM_SHEET | {"number": "×政办明电〔2025〕12号"}), _telegram),
        FileSample(_json(TELEGRAM_SHEET | {"number": "S1", "classification": "机密"}), _telegram),
    ],
    "tasks": [
        HttpSample(
            "/tasks",
            _json(
                {
                    "task_id": "DC-1",
                    "title": "城区学校扩容",
                    "deadline": "2099-08-31",
                    "lead_department": "edu",
                }
            ),
            _keyed,
        ),
    ],
    "duty": [
        HttpSample(
            "/duty/entries",
            _json(
                {
                    "kind": "call",
                    "unit": "城关镇人民政府",
                    "content": "东街供水管道爆裂",
                    "recorder": "值班员李华",
                    "time": "2025-06-20T10:15:00",
                }
            ),
            _keyed,
        ),
        HttpSample(
            "/duty/emergencies",
            _json(
                {
                    "report_id": "EM-1",
                    "title": "城东片区内涝",
                    "content": "积水约 50 厘米",
                    "recorder": "李华",
                }
            ),
            _keyed,
        ),
    ],
    "info": [
        HttpSample(
            "/info/reports",
            _json(
                {
                    "report_id": "XX-2025-031",
                    "source": "duty_entry",
                    "reference": "D-20250314-0003",
                    "title": "城关镇快速处置供水管道爆裂",
                    "time": "2025-03-14T11:00:00",
                }
            ),
            _keyed,
        ),
    ],
    "wechat": [HttpSample("/wechat", _WECHAT_TEXT, _wechat)],
    "board": [
        HttpSample(
            "/board/messages",
            _json(
                {
                    "id": "C-42",
                    "category": "咨询",
                    "title": "学区划分",
                    "content": "请问今年城区小学学区如何划分？",
                    "department": "edu",
                    "received_at": "2025-06-20T10:15:00+08:00",
                }
            ),
            _webhook(BOARD_SECRET),
        ),
    ],
    "hotline": [
        HttpSample(
            "/hotline/steps",
            _json(
                {
                    "order_number": "12345-C-7",
                    "step": "accepted",
                    "category": "help",
                    "note": "城东路路灯不亮",
                    "time": "2025-06-20T10:15:00",
                }
            ),
            _webhook(HOTLINE_SECRET),
        ),
    ],
}
