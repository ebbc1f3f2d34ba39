"""Fuzzing every parser: whatever the input, it parses or raises the parser's documented error
(``ParseError``; ``StoreError`` for a reader's whole input; ``BadMessage`` for the WeChat
protocol; ``DecodeError`` for ``schemas``), never anything else.

Strategies start from real samples and break them (byte flips, cuts, splices, hostile text),
so the inputs reach deep into each parser. Inputs that once broke a parser are kept in
``tests/fixtures/fuzz/<parser>/`` and replayed on every run. ``MIDFIELD_FUZZ_EXAMPLES=5000``
runs every property with that many examples (docs/testing.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import SecretStr

from connectors.runtime.documents import DocumentStore
from connectors.runtime.http import make_app
from connectors.runtime.source import RawRecord, Skip, Source
from connectors.sources import SOURCES
from connectors.sources.board_export import BoardExport
from connectors.sources.board_message import BoardEvents
from connectors.sources.duty import DutyApi
from connectors.sources.fax_mail_format import mail_headers, read_fax_mail
from connectors.sources.hotline import HotlineExport, row_steps
from connectors.sources.task_sheet import TaskSheetSource
from connectors.sources.task_sheet_layout import ALIASES
from connectors.sources.telegram import TelegramSettings, TelegramSource, withheld_by
from connectors.sources.wechat_protocol import BadMessage, SecureMode, message
from midfield.broker import free_port
from midfield.departments import Department, Directory
from midfield.errors import ParseError, StoreError
from midfield.settings import AccessSettings
from schemas.deadletter import DeadLetter
from schemas.envelope import DecodeError, Envelope
from schemas.events.quarantine import ItemQuarantined
from tests.fuzzing import TEXT, fuzz, mutated, parsed_or_refused
from tests.mail_samples import good_mail
from tests.samples import BOARD_EXPORT_HEADER, HOTLINE_EXPORT_HEADER, fax_envelope, fax_line
from tests.source_runs import RecordingIntake, parse_raw, read_once

ZONE = ZoneInfo("Asia/Shanghai")
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "fuzz"
DIRECTORY = Directory(
    [Department(code="edu", name="县教育局"), Department(code="water", name="县水利局")],
    office_keys=(SecretStr("office-key"),),
)
MARKERS = TelegramSettings().markers
AES_KEY = base64.b64encode(b"midfield-test-aes-key-32-bytes!!").decode().rstrip("=")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=12,
)
DEEP = st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n) | st.integers(1, 5000).map(
    lambda n: b'{"a":' * n + b"1" + b"}" * n
)


def json_bytes(fields: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """JSON of ``fields``, in UTF-8, GB18030 or with every non-ASCII character escaped; or deep
    nesting; or any bytes."""
    encoded = st.tuples(fields, st.sampled_from(["utf-8", "gb18030", "ascii-escaped"])).map(
        lambda pair: _encode_json(*pair)
    )
    return st.one_of(encoded, DEEP, st.binary(max_size=300))


def _encode_json(value: Any, encoding: str) -> bytes:
    if encoding == "ascii-escaped":
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode(encoding, "surrogatepass")


def _source(cls: type[Source], **kw: Any) -> Any:
    return cls(instance="fuzz", zone=ZONE, **kw)


# -- the checks: one per parser, each also replays that parser's corpus -------------------------
def _parsed(out: object) -> None:
    if isinstance(out, Exception | Skip):
        return
    envelopes = out if isinstance(out, list) else [out]
    for envelope in envelopes:
        assert isinstance(envelope, Envelope)
        assert Envelope.from_record(envelope.headers(), envelope.value()) == envelope


def check_fax_log(raw: bytes) -> None:
    _parsed(parse_raw("fax-log", raw))


def check_fax_mail(raw: bytes) -> None:
    assert set(mail_headers(raw)) >= {"message_id"}
    parsed_or_refused(lambda: read_fax_mail(raw), ParseError)
    with TemporaryDirectory() as tmp:
        for out in read_once("fax-mail", raw, Path(tmp)):
            _parsed(out)


def _read_file(source: Source) -> list[RawRecord] | StoreError:
    """Everything ``source`` reads with ``--once``, or the ``StoreError`` that stopped it."""
    try:
        return [r for r in source.read(None, follow=False) if r is not None]
    except StoreError as exc:
        assert exc.reason
        return exc


def _read_and_parse(source: Source) -> None:
    records = _read_file(source)
    if isinstance(records, StoreError):
        return
    for record in records:
        _parsed(parsed_or_refused(lambda r=record: source.parse(r), ParseError))


def check_task_sheet(raw: bytes) -> None:
    with TemporaryDirectory() as tmp:
        for out in read_once("task-sheet", raw, Path(tmp)):
            _parsed(out)


def check_task_sheet_row(raw: bytes) -> None:
    source = _source(TaskSheetSource, path=Path("x.xlsx"), departments={"edu": "县教育局"})
    _parsed(
        parsed_or_refused(
            lambda: source.parse(RawRecord(raw, where="row 2", resume={})), ParseError
        )
    )


def _telegram(directory: Path) -> TelegramSource:
    return _source(
        TelegramSource,
        directory=directory,
        documents=DocumentStore(directory.parent / "documents"),
        rules=TelegramSettings(max_sheet_bytes=64 * 1024),
    )


def check_telegram_sheet(raw: bytes) -> None:
    """The guard answers for any bytes, and withholds every sheet whose decoded text carries a
    marker, whatever the encoding or JSON escapes; then the drop directory takes the sheet."""
    rule = withheld_by(raw, MARKERS)
    rules = ("declared-classification", "star-term", "marker", "classification-term", "not-utf8")
    assert rule is None or rule in rules
    if any(marker in _decoded(raw) for marker in MARKERS):
        assert rule is not None, "a marked sheet passed the guard"
    with TemporaryDirectory() as tmp:
        (Path(tmp) / "drop").mkdir()
        (Path(tmp) / "drop" / "t.pdf").write_bytes(b"%PDF-1.4 fuzz")
        (Path(tmp) / "drop" / "t.json").write_bytes(raw)
        _telegram_drop(Path(tmp) / "drop")


def _decoded(raw: bytes) -> str:
    """Every text a reader could find in ``raw``, and the strings of its JSON: a sheet that is
    UTF-8 is read as UTF-8 (read as GB18030, the UTF-8 of ``城关乡，`` shows a ``★``: a guard
    withholding that would withhold every such sheet); one that is not, as UTF-8, GB18030 or
    UTF-16 (the guard withholds it whole, ``not-utf8``)."""
    try:
        texts = [raw.decode("utf-8")]
    except UnicodeDecodeError:
        texts = [raw.decode(codec, "ignore") for codec in ("utf-8", "gb18030", "utf-16")]
    for text in list(texts):
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: the text is enough
            texts.append(json.dumps(json.loads(text), ensure_ascii=False))
    return "\n".join(texts)


def _telegram_drop(directory: Path) -> None:
    """Read a drop directory once; parse each record; commit; nothing lands outside it."""
    source = _telegram(directory)
    records = _read_file(source)
    assert not isinstance(records, StoreError), records
    for record in records:
        out = parsed_or_refused(lambda r=record: source.parse(r), ParseError)
        _parsed(out)
        if record.meta.get("withheld"):
            assert isinstance(out, list)
            assert isinstance(out[0].data, ItemQuarantined)
        source.committed(record.resume)
    left = [p.name for p in directory.iterdir() if p.is_file() and p.suffix == ".json"]
    assert not left, f"sheets left unhandled: {left}"
    outside = {p.name for p in directory.parent.iterdir()} - {"drop", "documents", "elsewhere"}
    assert not outside, f"written outside the drop directory: {outside}"


def check_telegram_drop(raw: bytes) -> None:
    """``raw``: JSON ``{"files": {name: base64}, "links": {name: target}}``."""
    spec = json.loads(raw)
    with TemporaryDirectory() as tmp:
        directory = Path(tmp) / "drop"
        directory.mkdir()
        (Path(tmp) / "elsewhere").write_bytes(b"not in the drop directory")
        for name, content in spec["files"].items():
            (directory / name).write_bytes(base64.b64decode(content))
        for name, target in spec["links"].items():
            os.symlink(target, directory / name)
        _telegram_drop(directory)
        assert (Path(tmp) / "elsewhere").read_bytes() == b"not in the drop directory"


def check_wechat_xml(raw: bytes) -> None:
    parsed_or_refused(lambda: message(raw), BadMessage)


def check_wechat_secure(raw: bytes) -> None:
    secure = SecureMode(AES_KEY, "wx5823bf96d3bd56c7")
    text = raw.decode("utf-8", "surrogateescape")
    out = parsed_or_refused(lambda: secure.decrypt(text), BadMessage)
    if isinstance(out, bytes):
        check_wechat_xml(out)


def _export(cls: type[Source], suffix: str, raw: bytes) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{suffix}"
        path.write_bytes(raw)
        extra = {"salt": b"s"} if cls is BoardExport else {}
        _read_and_parse(_source(cls, path=path, directory=DIRECTORY, **extra))


def check_board_csv(raw: bytes) -> None:
    _export(BoardExport, ".csv", raw)


def check_board_xlsx(raw: bytes) -> None:
    _export(BoardExport, ".xlsx", raw)


def check_hotline_csv(raw: bytes) -> None:
    _export(HotlineExport, ".csv", raw)


def check_hotline_xlsx(raw: bytes) -> None:
    _export(HotlineExport, ".xlsx", raw)


def check_export_row(raw: bytes) -> None:
    """A row as the export readers write it (or a dead letter re-driven: any bytes)."""
    for cls in (BoardExport, HotlineExport):
        extra = {"salt": b"s"} if cls is BoardExport else {}
        source = _source(cls, path=Path("x.csv"), directory=DIRECTORY, **extra)
        record = RawRecord(raw, where="row 2", resume={})
        _parsed(parsed_or_refused(lambda s=source, r=record: s.parse(r), ParseError))


def check_board_fields(raw: bytes) -> None:
    fields = json.loads(raw)
    board, now = BoardEvents("midfield://board/fuzz", ZONE, DIRECTORY, salt=b"s"), datetime.now(UTC)
    _parsed(parsed_or_refused(lambda: board.message(fields, now), ParseError))
    _parsed(parsed_or_refused(lambda: board.reply(fields, now), ParseError))
    out = parsed_or_refused(
        lambda: row_steps(fields, source="midfield://hotline/fuzz", zone=ZONE, directory=DIRECTORY),
        ParseError,
    )
    _parsed(out)


def check_dead_letter(raw: bytes) -> None:
    out = parsed_or_refused(lambda: DeadLetter.from_value(raw), DecodeError)
    if isinstance(out, DeadLetter):
        assert DeadLetter.from_value(out.value()) == out


def check_envelope(raw: bytes) -> None:
    """``raw``: JSON ``{"headers": [[name, base64 or null]], "value": base64}``."""
    spec = json.loads(raw)
    headers = [(k, None if v is None else base64.b64decode(v)) for k, v in spec["headers"]]
    value = base64.b64decode(spec["value"])
    out = parsed_or_refused(lambda: Envelope.from_record(headers, value), DecodeError)  # type: ignore[arg-type]
    _parsed(out)


class DutyServer:
    """The duty API's aiohttp app on 127.0.0.1 in a thread, for the duty form bodies."""

    def __init__(self) -> None:
        self.api = DutyApi(instance="fuzz", zone=ZONE, directory=DIRECTORY)
        self.intake = RecordingIntake(self.api)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()

    def __enter__(self) -> DutyServer:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # every example also sends one wrong key (401): no throttle, this fuzzes the parsers
        # (the throttle's own test: tests/integration/test_access.py)
        unthrottled = AccessSettings(failed_credentials=10**9)
        app = make_app(self.api, self.intake, 16 * 1024, unthrottled)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._started.set()
        self.loop.run_forever()

    def post(self, path: str, body: bytes, key: str = "office-key") -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


_DUTY: DutyServer | None = None


def _duty() -> DutyServer:
    """One duty server for the whole module (started on first use, a daemon thread)."""
    global _DUTY
    if _DUTY is None:
        _DUTY = DutyServer().__enter__()
        status, answer = _DUTY.post(
            "/duty/emergencies",
            json.dumps(
                {"report_id": "EM-known", "title": "t", "content": "c", "recorder": "r"}
            ).encode(),
        )
        assert status == 201, answer
    return _DUTY


DUTY_ROUTES = (
    "/duty/entries",
    "/duty/emergencies",
    "/duty/emergencies/EM-known/follow-ups",
    "/duty/emergencies/EM-known/close",
    "/duty/emergencies/EM-unknown/close",
    "/duty/items",
    "/duty/items/F-1/sign",
    "/duty/items/F-1/handle",
    "/duty/alerts/overdue%2FF-1/acknowledge",
)


def check_duty_body(raw: bytes) -> None:
    """``raw``: JSON ``{"path": route, "body": base64}``."""
    spec = json.loads(raw)
    server = _duty()
    body = base64.b64decode(spec["body"])
    before = len(server.intake.sent)
    status, answer = server.post(spec["path"], body)
    assert status in (201, 202, 400, 404, 413, 422), (status, answer)
    if status >= 400:
        assert answer["error"] and answer["message"], answer
    if status in (400, 422):
        letters = [r for r in server.intake.sent[before:] if r[0] == "office.deadletter.v1"]
        assert len(letters) <= 1
        if letters:  # kept redacted (connectors/runtime/privacy.py), its size and digest whole
            letter = DeadLetter.from_value(letters[0][2])
            assert (letter.raw_size, letter.raw_sha256) == (
                len(body),
                server.intake.redactor.digest(body),
            )
            assert letter.redaction in ("fields", "withheld")
    assert server.post("/duty/entries", b"{}", key="nobody")[0] == 401


CHECKS: dict[str, Callable[[bytes], None]] = {
    "task-sheet-row": check_task_sheet_row,
    "telegram-sheet": check_telegram_sheet,
    "telegram-drop": check_telegram_drop,
    "wechat-xml": check_wechat_xml,
    "wechat-secure": check_wechat_secure,
    "board-csv": check_board_csv,
    "board-xlsx": check_board_xlsx,
    "hotline-csv": check_hotline_csv,
    "hotline-xlsx": check_hotline_xlsx,
    "export-row": check_export_row,
    "board-fields": check_board_fields,
    "duty-body": check_duty_body,
    "dead-letter": check_dead_letter,
    "envelope": check_envelope,
}


def _corpus() -> Iterator[Any]:
    """The corpus of the parsers here; a registered source's own (``fax-mail/``) is replayed by
    the contract suite (tests/unit/test_source_contract.py)."""
    for directory in sorted(CORPUS.iterdir()) if CORPUS.is_dir() else ():
        if directory.name in SOURCES:
            continue
        for path in sorted(directory.iterdir()):
            yield pytest.param(directory.name, path, id=f"{directory.name}/{path.name}")


@pytest.mark.parametrize(("parser", "path"), list(_corpus()))
def test_corpus_input_parses_or_is_refused_with_a_reason(parser: str, path: Path) -> None:
    CHECKS[parser](path.read_bytes())


def test_every_corpus_directory_names_a_parser() -> None:
    assert {p.name for p in CORPUS.iterdir()} <= set(CHECKS) | set(SOURCES)


# -- fax log -----------------------------------------------------------------------------------
FAX_LINES = [
    fax_line(119).encode(),
    *Path(CORPUS.parent / "xferfaxlog" / "classic-hylafax.log").read_bytes().splitlines(),
]


@st.composite
def fax_lines(draw: st.DrawFn) -> bytes:
    fields = draw(st.sampled_from(FAX_LINES)).split(b"\t")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(fields) - 1))
        fields[at] = draw(TEXT).encode() if draw(st.booleans()) else f'"{draw(TEXT)}"'.encode()
    if draw(st.booleans()):
        fields = fields[: draw(st.integers(0, len(fields)))] + [b""] * draw(st.integers(0, 7))
    return b"\t".join(fields)


@fuzz(400)
@given(raw=fax_lines() | st.sampled_from(FAX_LINES).flatmap(mutated))
def test_fax_log_line(raw: bytes) -> None:
    check_fax_log(raw)


# -- fax mail ----------------------------------------------------------------------------------
_MAIL = good_mail(1, pages=1)
_HEADERS, _, _BODY = _MAIL.partition(b"\n\n")


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    headers = _HEADERS.split(b"\n")
    for _ in range(draw(st.integers(0, 3))):
        name = draw(
            st.sampled_from(
                [
                    b"Subject",
                    b"From",
                    b"To",
                    b"Date",
                    b"Message-ID",
                    b"Content-Type",
                    b"X-Fax-TSI",
                    b"MIME-Version",
                ]
            )
        )
        value = draw(
            TEXT
            | st.sampled_from(
                [
                    "=?gb18030?b?1tDOxA==?=",
                    "=?x-unknown?q?a?=",
                    "multipart/mixed; boundary=",
                    "<>",
                    "<" * 50,
                ]
            )
        )
        headers.insert(draw(st.integers(0, len(headers))), name + b": " + value.encode())
    return b"\n".join(headers) + b"\n\n" + draw(mutated(_BODY, max_size=40))


@fuzz(60)
@given(raw=mails() | mutated(_MAIL))
def test_fax_mail(raw: bytes) -> None:
    check_fax_mail(raw)


# -- task sheet (XLSX) -------------------------------------------------------------------------
_CELL = st.one_of(
    st.none(),
    TEXT,
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    st.booleans(),
)
_TASK_HEADERS = st.sampled_from([a for aliases in ALIASES.values() for a in aliases]) | TEXT


def _workbook(rows: list[list[Any]], formats: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(r, c)
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
            if formats:
                cell.number_format = formats[(r + c) % len(formats)]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbooks(headers: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    rows = st.lists(st.lists(_CELL, max_size=8), max_size=5)
    formats = st.lists(st.sampled_from(["General", "yyyy-mm-dd", "h:mm", "0.00", "@"]), max_size=2)
    return st.builds(
        lambda head, body, fmts: _workbook([head, *body], fmts),
        st.lists(headers, min_size=1, max_size=10),
        rows,
        formats,
    )


_TASKS = _workbook(
    [
        ["任务编号", "督办事项", "牵头单位", "协办单位", "完成时限", "重点"],
        ["DC-1", "城区学校扩容", "县教育局", "water", date(2025, 6, 30), "是"],
    ],
    [],
)


def _zip_spliced(sample: bytes) -> st.SearchStrategy[bytes]:
    """A workbook whose parts (sheet XML, styles, shared strings) are broken, zipped again."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        with zipfile.ZipFile(io.BytesIO(sample)) as book:
            parts = {name: book.read(name) for name in book.namelist()}
        name = draw(st.sampled_from(sorted(parts)))
        parts[name] = draw(mutated(parts[name], max_size=60))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as book:
            for part, content in parts.items():
                book.writestr(part, content)
        return out.getvalue()

    return build()


@fuzz(40)
@given(raw=workbooks(_TASK_HEADERS) | _zip_spliced(_TASKS) | mutated(_TASKS))
def test_task_sheet_xlsx(raw: bytes) -> None:
    check_task_sheet(raw)


@fuzz(200)
@given(raw=json_bytes(st.dictionaries(_TASK_HEADERS, TEXT, max_size=8) | JSON))
def test_task_sheet_row(raw: bytes) -> None:
    check_task_sheet_row(raw)


# -- telegram ----------------------------------------------------------------------------------
_SHEET_KEYS = st.sampled_from(
    [
        "number",
        "部门号",
        "issuing_unit",
        "发电单位",
        "grade",
        "等级",
        "title",
        "标题",
        "pages",
        "received_at",
        "classification",
        "密级",
        "body",
        "addressees",
    ]
)
SHEETS = st.fixed_dictionaries(
    {
        "number": st.just("×政办明电〔2025〕12号") | TEXT,
        "issuing_unit": st.just("×市人民政府办公室") | TEXT,
        "grade": st.sampled_from(["特急", "平急", "很急"]) | TEXT,
        "title": st.just("关于做好防汛工作的通知") | TEXT,
    },
    optional={k: JSON for k in ("pages", "received_at", "classification", "密级", "body")},
).map(lambda d: d) | st.dictionaries(_SHEET_KEYS | TEXT, JSON, max_size=6)


@fuzz(150)
@given(raw=json_bytes(SHEETS))
def test_telegram_sheet(raw: bytes) -> None:
    check_telegram_sheet(raw)


@fuzz(100)
@given(
    sheet=SHEETS,
    marker=st.sampled_from(MARKERS),
    encoding=st.sampled_from(["utf-8", "gb18030", "ascii-escaped", "utf-16"]),
)
def test_a_marker_anywhere_in_a_sheet_withholds_it_however_encoded(
    sheet: dict[str, Any], marker: str, encoding: str
) -> None:
    sheet = sheet | {"title": f"关于{marker}事项的通知"}
    raw = (
        json.dumps(sheet, ensure_ascii=False).encode("utf-16")
        if encoding == "utf-16"
        else _encode_json(sheet, encoding)
    )
    assert withheld_by(raw, MARKERS) is not None


_NAMES = st.one_of(
    st.sampled_from(
        [
            "a.json",
            "..json",
            "...json",
            "a b.json",
            "x;rm -rf.json",
            "%2e%2e.json",
            "a\\..\\b.json",
            "a\nb.json",
            "〔2025〕1号.json",
            "-.json",
            ".hidden.json",
            "x.JSON",
            "x.json.pdf",
            "x" * 200 + ".json",
        ]
    ),
    st.text(
        st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=20,
    ).map(lambda s: s + ".json"),
).filter(lambda n: n not in (".", "..") and len(n.encode()) < 250)


@st.composite
def drops(draw: st.DrawFn) -> bytes:
    files = {}
    for name in draw(st.lists(_NAMES, max_size=4, unique=True)):
        sheet = draw(json_bytes(SHEETS))
        files[name] = base64.b64encode(sheet).decode()
        if draw(st.booleans()):
            files[name[: -len(".json")] + ".pdf"] = base64.b64encode(b"%PDF-1.4").decode()
    links = {}
    for name in draw(st.lists(_NAMES, max_size=2, unique=True)):
        if name not in files:
            links[name] = draw(st.sampled_from(["../elsewhere", "/etc/passwd", "a.json", "."]))
    return json.dumps({"files": files, "links": links}).encode()


@fuzz(40)
@given(raw=drops())
def test_telegram_drop_directory(raw: bytes) -> None:
    check_telegram_drop(raw)


# -- WeChat ------------------------------------------------------------------------------------
_WECHAT = (
    b"<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[oU1]]>"
    b"</FromUserName><CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    b"<Content><![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd]]></Content><MsgId>24602</MsgId></xml>"
)
_DTDS = st.sampled_from(
    [
        b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
        b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd">',
        b'<?xml version="1.0" encoding="GB18030"?>',
        b'<?xml version="1.0" encoding="UTF-16"?>',
        b'<?xml version="1.0" encoding="nonsense"?>',
        b'<?xml-stylesheet href="http://127.0.0.1:9/x"?>',
        b"",
    ]
)


@fuzz(300)
@given(raw=st.tuples(_DTDS, mutated(_WECHAT)).map(b"".join) | st.binary(max_size=200))
def test_wechat_xml(raw: bytes) -> None:
    check_wechat_xml(raw)


_SECURE = SecureMode(AES_KEY, "wx5823bf96d3bd56c7").encrypt(_WECHAT, b"0" * 16).encode()


@fuzz(200)
@given(raw=mutated(_SECURE) | st.binary(max_size=100))
def test_wechat_secure_mode(raw: bytes) -> None:
    check_wechat_secure(raw)


# -- board and hotline exports -----------------------------------------------------------------
_BOARD_ROW = [
    "B-1",
    "2025-03-14 09:41",
    "咨询",
    "学区",
    "请问学区怎么划分",
    "13800000000",
    "县教育局",
    "已答复",
    "2025-03-15 10:00",
]
_HOTLINE_ROW = [
    "H-1",
    "2025-03-14 09:41",
    "投诉",
    "噪音",
    "edu",
    "已办结",
    "2025-03-14 10:00",
    "",
    "2025-03-15 10:00",
    "2025-03-16",
    "2025-03-16",
    "满意",
    "满意",
]


def _csv(rows: list[list[Any]], encoding: str) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding, "surrogatepass")


def exports(headers: list[str], row: list[str]) -> st.SearchStrategy[tuple[bytes, bytes]]:
    """(CSV, XLSX) of the real header and a row broken by hostile cells, or made-up ones."""
    cells = st.lists(st.sampled_from(row) | _CELL, min_size=len(row), max_size=len(row) + 2)
    head = st.permutations(headers) | st.lists(st.sampled_from(headers) | TEXT, max_size=12)
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])
    return st.builds(
        lambda h, body, enc, fmts: (_csv([h, *body], enc), _workbook([h, *body], fmts)),
        head,
        st.lists(cells, max_size=4),
        encodings,
        st.lists(st.sampled_from(["General", "yyyy-mm-dd", "@"]), max_size=2),
    )


_EXPORTS = {
    "board": (BOARD_EXPORT_HEADER, _BOARD_ROW),
    "hotline": (HOTLINE_EXPORT_HEADER, _HOTLINE_ROW),
}
_EXPORT_XLSX = {kind: _workbook([header, row], []) for kind, (header, row) in _EXPORTS.items()}


@pytest.mark.parametrize("kind", list(_EXPORTS))
@fuzz(40)
@given(data=st.data())
def test_export(kind: str, data: st.DataObject) -> None:
    """The export as CSV and as XLSX with hostile cells, and its XLSX with broken parts."""
    csv_raw, xlsx_raw = data.draw(exports(*_EXPORTS[kind]), label="export")
    broken = data.draw(_zip_spliced(_EXPORT_XLSX[kind]), label="broken")
    CHECKS[f"{kind}-csv"](csv_raw)
    CHECKS[f"{kind}-xlsx"](xlsx_raw)
    CHECKS[f"{kind}-xlsx"](broken)


@fuzz(200)
@given(raw=json_bytes(st.dictionaries(TEXT, _CELL.map(str), max_size=6) | JSON))
def test_export_row(raw: bytes) -> None:
    check_export_row(raw)


_FIELD_NAMES = st.sampled_from(
    [
        "id",
        "message_id",
        "received_at",
        "category",
        "title",
        "content",
        "contact",
        "department",
        "reply",
        "replied_at",
        "replied_by",
        "number",
        "status",
        "accepted_at",
        "units",
        "dispatched_at",
        "satisfaction",
        "callback",
    ]
)


@fuzz(300)
@given(fields=st.dictionaries(_FIELD_NAMES | TEXT, JSON, max_size=8))
def test_board_and_hotline_fields(fields: dict[str, Any]) -> None:
    check_board_fields(json.dumps(fields).encode())


# -- duty form bodies --------------------------------------------------------------------------
DUTY_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON
        for name in (
            "entry_id",
            "kind",
            "content",
            "recorder",
            "time",
            "title",
            "sequence",
            "report_id",
            "number",
            "issuer",
            "by",
            "urgency",
            "note",
            "unit",
            "pages",
            "step",
            "alert_id",
            "item_id",
        )
    },
)


@fuzz(150)
@given(path=st.sampled_from(DUTY_ROUTES), body=json_bytes(DUTY_FIELDS | JSON))
def test_duty_form_body(path: str, body: bytes) -> None:
    check_duty_body(json.dumps({"path": path, "body": base64.b64encode(body).decode()}).encode())


# -- dead letters and envelopes from the wire --------------------------------------------------
_LETTER = DeadLetter.of(
    b"\xffraw",
    reason="r",
    error="e",
    source="midfield://x/y",
    position="p",
    connector="x",
    first_seen=datetime(2025, 3, 14, tzinfo=UTC),
).value()


@st.composite
def letters(draw: st.DrawFn) -> bytes:
    fields = json.loads(_LETTER)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(fields)))
        fields[name] = draw(JSON | st.sampled_from(["utf-8", "base64", "é", "\\ud800", "====="]))
    return json.dumps(fields, ensure_ascii=draw(st.booleans())).encode()


@fuzz(300)
@given(raw=letters() | mutated(_LETTER) | DEEP)
def test_dead_letter_decode(raw: bytes) -> None:
    check_dead_letter(raw)


_ENVELOPE = fax_envelope("000000119", datetime(2025, 3, 14, 9, 41, tzinfo=ZONE))


@st.composite
def records(draw: st.DrawFn) -> bytes:
    headers: list[tuple[str, bytes | None]] = list(_ENVELOPE.headers())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(headers) - 1))
        value = draw(st.none() | st.binary(max_size=30) | TEXT.map(str.encode))
        headers[at] = (headers[at][0], value) if draw(st.booleans()) else (draw(TEXT), value)
    value = draw(mutated(_ENVELOPE.value()) | DEEP)
    return json.dumps(
        {
            "headers": [
                [k, None if v is None else base64.b64encode(v).decode()] for k, v in headers
            ],
            "value": base64.b64encode(value).decode(),
        }
    ).encode()


@fuzz(300)
@given(raw=records())
def test_envelope_from_record(raw: bytes) -> None:
    check_envelope(raw)
