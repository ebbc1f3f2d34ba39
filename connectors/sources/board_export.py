"""The board's CSV or XLSX export, read row by row: the ``board --csv/--xlsx`` import.

Chinese headers (留言编号, 留言时间, 留言类别, 标题, 留言内容, 联系电话, 办理单位, 回复内容,
回复时间 …, :data:`connectors.sources.board_message.HEADERS`); a row becomes the same events as
the webhook's message, and a row that cannot be read a dead letter naming its row. Made by
:meth:`connectors.sources.board.BoardWebhook.from_options`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.runtime.exports import read_export, row_of, table
from connectors.runtime.source import Position, RawRecord, Reading, Skip, Source
from connectors.sources.board_message import HEADERS, board_events
from midfield.clock import Clock, utc_now
from midfield.departments import Directory
from midfield.errors import StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope

__all__ = ["BoardExport"]


class BoardExport(Source):
    """The board's CSV or XLSX export, read row by row (position: file digest and row)."""

    name: ClassVar[str] = "board"

    def __init__(
        self,
        *,
        path: Path,
        directory: Directory,
        salt: bytes,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.path, self.directory, self.salt = Path(path), directory, salt

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Source:
        raise NotImplementedError("made by BoardWebhook.from_options")

    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        fields = row_of(record.raw)
        if not any(fields.values()):
            return Skip("blank-row")
        return board_events(
            fields,
            source=self.uri,
            zone=self.zone,
            now=self.clock(),
            directory=self.directory,
            salt=self.salt,
        )

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        return read_export(self.path, position, self._rows)

    def _rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = table(self.path, content)
        if not rows:
            return
        keys = [HEADERS.get(re.sub(r"\s+", "", str(h or "")), "") for h in rows[0]]
        if "id" not in keys:
            raise StoreError(
                f"{self.path.name} has no 留言编号 column: not a board export",
                reason="not-a-board-export",
            )
        for number, row in enumerate(rows[1:], start=2):
            yield number, {k: v for k, v in zip(keys, row, strict=False) if k}
