"""The board's CSV or XLSX export, read row by row: the ``board --csv/--xlsx`` import.

Chinese headers (留言编号, 留言时间, 留言类别, 标题, 留言内容, 联系电话, 办理单位, 回复内容,
回复时间 …, :data:`connectors.sources.board_message.HEADERS`); a row becomes the same events as
the webhook's message, and a row that cannot be read a dead letter naming its row. Made by
:meth:`connectors.sources.board.BoardWebhook.from_options`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Unpack

from connectors.runtime.exports import ExportSource, header_keys, keyed_rows, table
from connectors.runtime.source import Place
from connectors.sources.board_message import HEADERS, BoardEvents
from midfield.departments import Directory
from midfield.errors import StoreError
from schemas.envelope import Envelope

__all__ = ["BoardExport"]


class BoardExport(ExportSource):
    """The board's CSV or XLSX export, read row by row (position: file digest and row)."""

    name: ClassVar[str] = "board"

    def __init__(
        self, *, path: Path, directory: Directory, salt: bytes, **place: Unpack[Place]
    ) -> None:
        super().__init__(path=path, directory=directory, **place)
        self.board = BoardEvents(self.uri, self.zone, directory, salt=salt)

    def row_events(self, row: dict[str, Any]) -> list[Envelope]:
        return self.board.message(row, self.clock())

    def rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = table(self.path, content)
        if not rows:
            return
        keys = header_keys(HEADERS, rows[0])
        if "id" not in keys:
            raise StoreError(
                f"{self.path.name} has no 留言编号 column: not a board export",
                reason="not-a-board-export",
            )
        yield from keyed_rows(rows, keys)
