"""The ``telegram`` source: a drop directory of clear-text telegrams (明传电报), with the guard.

Each telegram arrives as ``NAME.pdf`` and its cover sheet ``NAME.json``
(:class:`schemas.telegram_sheet.TelegramCoverSheet`); write the PDF first and the sheet last
(each by writing elsewhere and renaming): the sheet is the trigger. Names are never trusted as
paths: only plain regular files directly in the directory, with a name of letters, digits and
``._-〔〕`` are read; anything else (a symlink, a sub-directory, ``../x.json``) is rejected.

**Classification guard** (DESIGN §4). Before anything else, the sheet's bytes are checked: a
declared 密级, a ``★`` term, a configured marker or a 密级 term (绝密/机密/秘密) anywhere in it,
in any field, withholds the telegram. Then metadata only (the rule, the sheet's digest, the
number when in the standard form; never the issuing unit, title or any other free text: issue
18) goes to ``office.quarantine.v1`` with a critical alert to the duty officer; the sheet and
the PDF are moved to ``rejected/`` at once and never read again, stored, produced or logged
(log lines name a withheld file by a digest of its name). A withheld file whose quarantine
record did not reach the broker (a crash) is found in ``rejected/`` at the next start and
reported again.

Accepted telegrams: the PDF goes to the document store by digest, the event
:class:`TelegramReceived` to ``office.intake.telegram.v1``, the files to ``done/``. A sheet that
does not validate, or has no PDF, goes to ``rejected/`` with a ``.reason`` file and a dead
letter. Files move only after the broker has the events (:meth:`TelegramSource.committed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings

from connectors.runtime.deployment import Deployment, Input
from connectors.runtime.documents import DocumentStore
from connectors.runtime.source import (
    Position,
    RawRecord,
    Reading,
    ReadOnceOptions,
    Skip,
    Source,
)
from midfield.clock import Clock, utc_now
from midfield.errors import ParseError, StoreError
from midfield.logging import get_logger
from midfield.settings import Settings, settings_config, settings_part
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.alert import AlertRaised, Severity
from schemas.events.quarantine import ItemQuarantined
from schemas.events.telegram import TelegramReceived
from schemas.telegram_sheet import TelegramCoverSheet

__all__ = ["TelegramOptions", "TelegramSettings", "TelegramSource", "withheld_by"]

log = get_logger(__name__)

_SAFE_NAME = re.compile(r"^[\w\-.〔〕()（）]{1,200}\.json$")
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


@settings_part
class TelegramSettings(BaseSettings):
    """The telegram drop directory's classification guard (docs/telegram.md)."""

    model_config = settings_config("MIDFIELD_TELEGRAM_")

    markers: tuple[str, ...] = Field(
        ("绝密", "机密", "秘密", "★", "涉密", "内部资料"),
        description=(
            "Text that withholds a cover sheet wherever it appears in it (JSON list); the "
            "declared 密级 and ★ terms are checked whatever this says."
        ),
    )
    max_sheet_bytes: Annotated[int, Field(gt=0)] = Field(1 << 20, description="Larger: rejected.")
    max_pdf_bytes: Annotated[int, Field(gt=0)] = Field(64 << 20, description="Larger: rejected.")


class TelegramOptions(ReadOnceOptions):
    dir: Path = Field(description="The drop directory (done/ and rejected/ are made inside).")


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


def _hidden(name: str) -> str:
    """How logs and dead letters name a withheld file: never by its name."""
    return "withheld#" + hashlib.sha256(name.encode()).hexdigest()[:12]


class TelegramSource(Source):
    """Read a drop directory of telegram cover sheets and PDFs, withholding classified ones."""

    name: ClassVar[str] = "telegram"
    options = TelegramOptions
    settings_model = TelegramSettings
    keeps_documents = True
    deployment = Deployment(
        note="Telegram cover sheets dropped by the confidential-telegram room's scanner.",
        writes=(TelegramReceived.topic, ItemQuarantined.topic, AlertRaised.topic),
        args=("--dir", "/srv/telegram"),
        inputs=(Input("drop", "/srv/telegram", claim="telegram-drop",
                      host="${TELEGRAM_DROP_DIR:-/srv/midfield/telegram}"),),
    )  # fmt: skip

    def __init__(
        self,
        *,
        directory: Path,
        documents: DocumentStore,
        rules: TelegramSettings,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
        poll_interval_s: float = 0.5,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.dir = Path(directory)
        self.documents = documents
        self.rules = rules
        self.poll_interval_s = poll_interval_s
        self._pending: dict[str, str] = {}
        """name -> "done" | "rejected:<reason>" | "quarantined", read but not yet committed."""

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> TelegramSource:
        return cls(
            directory=options.dir,
            documents=DocumentStore(settings.connect.documents_dir),
            rules=settings.part(TelegramSettings),
            instance=options.instance,
            zone=settings.office.zone,
            poll_interval_s=settings.connect.poll_interval_s,
        )

    # -- parse (pure) --------------------------------------------------------------------------
    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        if record.meta.get("withheld"):
            return self._quarantine(json.loads(record.raw), record.meta["withheld"])
        if record.meta.get("problem"):
            raise ParseError(record.meta["problem"], record.meta.get("detail", ""))
        try:
            sheet = TelegramCoverSheet.model_validate_json(record.raw)
        except ValidationError as exc:
            raise parse_error(exc, "invalid-sheet", root="sheet") from exc
        received = sheet.received_at or datetime.fromisoformat(record.meta["read_at"])
        if received.tzinfo is None:
            received = received.replace(tzinfo=self.zone)
        event = TelegramReceived(
            **sheet.model_dump(exclude={"received_at", "classification", "body"}),
            document=record.meta["pdf"],
        )
        return Envelope.wrap(
            event,
            source=self.uri,
            position=f"telegram/{sheet.number}",
            subject=sheet.number,
            time=received,
            connector_version=self.version,
        )

    def _quarantine(self, meta: dict[str, str], rule: str) -> list[Envelope]:
        """The quarantine record and the duty officer's alert: metadata only (DESIGN §4)."""
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
            Envelope.wrap(
                held,
                source=self.uri,
                position=f"quarantine/{item}",
                subject=item,
                time=at,
                connector_version=self.version,
            ),
            Envelope.wrap(
                alert,
                source=self.uri,
                position=f"quarantine-alert/{item}",
                subject=alert.alert_id,
                time=at,
                connector_version=self.version,
            ),
        ]

    # -- read ----------------------------------------------------------------------------------
    def read(self, position: Position | None, *, follow: bool) -> Reading:
        if position:
            self.committed(position)  # moves a crash left undone
        self._prepare()
        yield from self._report_unconfirmed()
        while True:
            found = False
            for entry in self._sheets():
                record = self._record(entry, final=not follow)
                if record is not None:
                    found = True
                    yield record
            if not follow:
                return
            if not found:
                yield None
                time.sleep(self.poll_interval_s)

    def _prepare(self) -> None:
        if not self.dir.is_dir():
            raise StoreError(
                f"telegram drop directory {self.dir} does not exist", reason="input-missing"
            )
        for sub in ("done", "rejected"):
            if not os.path.lexists(self.dir / sub):
                (self.dir / sub).mkdir()
            self._subdir(sub)

    def _sheets(self) -> Iterator[os.DirEntry[str]]:
        with os.scandir(self.dir) as entries:
            found = sorted((e for e in entries if e.name.endswith(".json")), key=lambda e: e.name)
        return iter(e for e in found if e.name not in self._pending)

    def _record(self, entry: os.DirEntry[str], *, final: bool) -> RawRecord | None:
        name = entry.name
        if (
            entry.is_symlink()
            or not entry.is_file(follow_symlinks=False)
            or not _SAFE_NAME.match(name)
        ):
            return self._problem(name, "unsafe-name", "not a plain file with a safe name")
        sheet = self._read(self.dir / name, self.rules.max_sheet_bytes)
        if sheet is None:
            return self._problem(name, "too-large", "cover sheet over the limit")
        rule = withheld_by(sheet, self.rules.markers)
        if rule is not None:
            return self._withhold(name, sheet, rule)
        pdf = self.dir / (name[: -len(".json")] + ".pdf")
        if pdf.is_symlink() or not pdf.is_file():
            if not final:
                return None  # the PDF may still be on its way
            return self._problem(name, "missing-pdf", "no regular PDF with the sheet's name")
        content = self._read(pdf, self.rules.max_pdf_bytes)
        if content is None:
            return self._problem(name, "too-large", "PDF over the limit")
        digest = self.documents.put(content)
        record = RawRecord(
            sheet,
            where=f"file {name}",
            resume={},
            meta={"file": name, "pdf": digest, "read_at": self.clock().isoformat()},
        )
        self._pending[name] = _outcome(self, record)
        return RawRecord(record.raw, record.where, {"pending": dict(self._pending)}, record.meta)

    def _problem(self, name: str, reason: str, detail: str) -> RawRecord:
        self._pending[name] = f"rejected:{reason}"
        return RawRecord(
            name.encode(),
            where=f"file {name}",
            resume={"pending": dict(self._pending)},
            meta={"file": name, "problem": reason, "detail": detail},
        )

    def _withhold(self, name: str, sheet: bytes, rule: str) -> RawRecord:
        """Into ``rejected/`` at once; what goes on is metadata only."""
        self._move(name, "rejected")
        (self._subdir("rejected") / f"{name}.reason").write_text(f"withheld: {rule}\n")
        log.warning("telegram withheld", file=_hidden(name), rule=rule)
        return self._withheld_record(name, sheet, rule)

    def _withheld_record(self, name: str, sheet: bytes, rule: str) -> RawRecord:
        meta = _metadata(sheet, self.rules.markers) | {"read_at": self.clock().isoformat()}
        self._pending[name] = "quarantined"
        return RawRecord(
            json.dumps(meta, ensure_ascii=False).encode(),
            where=_hidden(name),
            resume={"pending": dict(self._pending)},
            meta={"withheld": rule},
        )

    def _report_unconfirmed(self) -> Iterator[RawRecord]:
        """Withheld files whose quarantine record was not confirmed (a crash): report again."""
        rejected = self.dir / "rejected"
        for reason in sorted(rejected.glob("*.json.reason")):
            name = reason.name[: -len(".reason")]
            sheet_path = rejected / name
            if (rejected / f"{name}.quarantined").exists() or not sheet_path.is_file():
                continue
            said = reason.read_text()
            if said.startswith("withheld:") and name not in self._pending:
                rule = said.removeprefix("withheld:").strip()
                yield self._withheld_record(name, sheet_path.read_bytes(), rule)

    def _read(self, path: Path, limit: int) -> bytes | None:
        try:
            if path.stat().st_size > limit:
                return None
            return path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path.name}: {exc.strerror}", reason="input") from exc

    # -- after the broker has them -------------------------------------------------------------
    def committed(self, position: Position) -> None:
        for name, outcome in position.get("pending", {}).items():
            if not _component(name):
                continue  # a position file that names a path is not ours to follow
            if outcome == "done":
                self._move(name, "done")
            elif outcome == "quarantined":
                (self._subdir("rejected") / f"{name}.quarantined").touch()
            else:
                reason = outcome.removeprefix("rejected:")
                self._move(name, "rejected")
                (self._subdir("rejected") / f"{name}.reason").write_text(reason + "\n")
            self._pending.pop(name, None)

    def _move(self, name: str, where: str) -> None:
        """Move the sheet and its PDF (if any) into ``where/``: whatever they are (a symlink
        moves as a link, a directory or FIFO named like a sheet whole), so none is seen again."""
        files = [name, name[: -len(".json")] + ".pdf"] if name.endswith(".json") else [name]
        target = self._subdir(where)
        for file in files:
            if _component(file) and os.path.lexists(self.dir / file):
                os.replace(self.dir / file, _free(target, file, self.dir / file))

    def _subdir(self, where: str) -> Path:
        """``done/`` or ``rejected/``, refused unless a plain directory: through a symlink,
        telegrams (withheld ones too) would be moved out of the drop directory."""
        path = self.dir / where
        if path.is_symlink() or not path.is_dir():
            raise StoreError(
                f"{path} is not a plain directory: remove it, it is made again",
                reason="unsafe-drop-directory",
            )
        return path


def _free(target: Path, file: str, moving: Path) -> Path:
    """Where ``moving`` goes in ``target``: under its own name, over an earlier file of that
    name (a sheet sent again); but a directory on either side cannot be replaced, so then the
    first free ``<name>.<n>`` (a directory named like a sheet, dropped twice, must not stop the
    connector)."""
    dest = target / file
    if not (os.path.isdir(moving) and not moving.is_symlink()) and not dest.is_dir():
        return dest
    n = 1
    while os.path.lexists(target / f"{file}.{n}"):
        n += 1
    return target / f"{file}.{n}"


def _outcome(source: TelegramSource, record: RawRecord) -> str:
    """Where a read sheet goes once the broker has its event (or dead letter): parse is pure,
    so the reader asks it."""
    try:
        source.parse(record)
    except ParseError as exc:
        return f"rejected:{exc.reason}"
    return "done"


def _component(name: str) -> bool:
    """One plain path component (directory listings only give these; position files might not)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def _metadata(sheet: bytes, markers: tuple[str, ...]) -> dict[str, str]:
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
