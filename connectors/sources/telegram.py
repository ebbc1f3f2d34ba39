"""The ``telegram`` source: a drop directory of clear-text telegrams (明传电报), with the guard.

Each telegram arrives as ``NAME.pdf`` and its cover sheet ``NAME.json``
(:class:`schemas.telegram_sheet.TelegramCoverSheet`); write the PDF first and the sheet last
(each by writing elsewhere and renaming): the sheet is the trigger. Names are never trusted as
paths: only plain regular files directly in the directory, with a name of letters, digits and
``._-〔〕`` are read; anything else (a symlink, a sub-directory, ``../x.json``) is rejected.

**Classification guard** (DESIGN §4, :mod:`connectors.sources.telegram_guard`). Before
anything else, the sheet's bytes are checked; a withheld telegram sends metadata only to
``office.quarantine.v1`` with a critical alert to the duty officer; the sheet and the PDF are
moved to ``rejected/`` at once and never read again, stored, produced or logged (log lines name
a withheld file by a digest of its name). A withheld file whose quarantine record did not reach
the broker (a crash) is found in ``rejected/`` at the next start and reported again.

Accepted telegrams: the PDF goes to the document store by digest, the event
:class:`TelegramReceived` to ``office.intake.telegram.v1``, the files to ``done/``. A sheet that
does not validate, or has no PDF, goes to ``rejected/`` with a ``.reason`` file and a dead
letter. Files move only after the broker has the events (:meth:`TelegramSource.committed`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Unpack

from pydantic import Field, PositiveInt, ValidationError
from pydantic_settings import BaseSettings

from connectors.runtime import source as contract
from connectors.runtime.deployment import Deployment, Input
from connectors.runtime.documents import DocumentStore
from connectors.sources.telegram_drop import SAFE_NAME, is_component, move_out, plain_subdir
from connectors.sources.telegram_guard import (
    hidden_name,
    quarantine_events,
    withheld_by,
    withheld_metadata,
)
from midfield.errors import ParseError, StoreError
from midfield.logging import get_logger
from midfield.settings import Settings, settings_config, settings_part
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.alert import AlertRaised
from schemas.events.quarantine import ItemQuarantined
from schemas.events.telegram import TelegramReceived
from schemas.telegram_sheet import TelegramCoverSheet

__all__ = ["TelegramOptions", "TelegramSettings", "TelegramSource", "withheld_by"]

log = get_logger(__name__)


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
    max_sheet_bytes: PositiveInt = Field(1 << 20, description="Larger: rejected.")
    max_pdf_bytes: PositiveInt = Field(64 << 20, description="Larger: rejected.")


class TelegramOptions(contract.ReadOnceOptions):
    dir: Path = Field(description="The drop directory (done/ and rejected/ are made inside).")


class TelegramSource(contract.Source):
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
        poll_interval_s: float = 0.5,
        **place: Unpack[contract.Place],
    ) -> None:
        super().__init__(**place)
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
            poll_interval_s=settings.connect.poll_interval_s,
            **contract.at_office(options.instance, settings),
        )

    # -- parse (pure) --------------------------------------------------------------------------
    def parse(self, record: contract.RawRecord) -> Envelope | list[Envelope] | contract.Skip:
        if record.meta.get("withheld"):
            return quarantine_events(json.loads(record.raw), record.meta["withheld"], by=self)
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
        return self.envelope(
            event, position=f"telegram/{sheet.number}", subject=sheet.number, time=received
        )

    # -- read ----------------------------------------------------------------------------------
    def read(self, position: contract.Position | None, *, follow: bool) -> contract.Reading:
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
            plain_subdir(self.dir, sub)

    def _sheets(self) -> Iterator[os.DirEntry[str]]:
        with os.scandir(self.dir) as entries:
            found = sorted((e for e in entries if e.name.endswith(".json")), key=lambda e: e.name)
        return iter(e for e in found if e.name not in self._pending)

    def _record(self, entry: os.DirEntry[str], *, final: bool) -> contract.RawRecord | None:
        name = entry.name
        if (
            entry.is_symlink()
            or not entry.is_file(follow_symlinks=False)
            or not SAFE_NAME.match(name)
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
        record = contract.RawRecord(
            sheet,
            where=f"file {name}",
            resume={},
            meta={"file": name, "pdf": digest, "read_at": self.clock().isoformat()},
        )
        self._pending[name] = _outcome(self, record)
        return contract.RawRecord(
            record.raw, record.where, {"pending": dict(self._pending)}, record.meta
        )

    def _problem(self, name: str, reason: str, detail: str) -> contract.RawRecord:
        self._pending[name] = f"rejected:{reason}"
        return contract.RawRecord(
            name.encode(),
            where=f"file {name}",
            resume={"pending": dict(self._pending)},
            meta={"file": name, "problem": reason, "detail": detail},
        )

    def _withhold(self, name: str, sheet: bytes, rule: str) -> contract.RawRecord:
        """Into ``rejected/`` at once; what goes on is metadata only."""
        move_out(self.dir, name, "rejected")
        (plain_subdir(self.dir, "rejected") / f"{name}.reason").write_text(f"withheld: {rule}\n")
        log.warning("telegram withheld", file=hidden_name(name), rule=rule)
        return self._withheld_record(name, sheet, rule)

    def _withheld_record(self, name: str, sheet: bytes, rule: str) -> contract.RawRecord:
        meta = withheld_metadata(sheet, self.rules.markers) | {"read_at": self.clock().isoformat()}
        self._pending[name] = "quarantined"
        return contract.RawRecord(
            json.dumps(meta, ensure_ascii=False).encode(),
            where=hidden_name(name),
            resume={"pending": dict(self._pending)},
            meta={"withheld": rule},
        )

    def _report_unconfirmed(self) -> Iterator[contract.RawRecord]:
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
    def committed(self, position: contract.Position) -> None:
        for name, outcome in position.get("pending", {}).items():
            if not is_component(name):
                continue  # a position file that names a path is not ours to follow
            if outcome == "done":
                move_out(self.dir, name, "done")
            elif outcome == "quarantined":
                (plain_subdir(self.dir, "rejected") / f"{name}.quarantined").touch()
            else:
                reason = outcome.removeprefix("rejected:")
                move_out(self.dir, name, "rejected")
                (plain_subdir(self.dir, "rejected") / f"{name}.reason").write_text(reason + "\n")
            self._pending.pop(name, None)


def _outcome(source: TelegramSource, record: contract.RawRecord) -> str:
    """Where a read sheet goes once the broker has its event (or dead letter): parse is pure,
    so the reader asks it."""
    try:
        source.parse(record)
    except ParseError as exc:
        return f"rejected:{exc.reason}"
    return "done"
