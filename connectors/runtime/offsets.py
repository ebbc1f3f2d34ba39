"""The offset store: one JSON file per connector instance, replaced atomically.

A position is committed only after the broker acknowledged everything read before it, so a
crash re-reads (and re-sends, with the same ids) at most the last uncommitted batch.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from connectors.runtime.source import Position
from midfield.errors import StoreError

__all__ = ["OffsetStore"]


class OffsetStore:
    def __init__(self, state_dir: Path, connector: str, instance: str) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{connector}.{instance}")
        self.path = state_dir / f"{safe}.offsets.json"

    def load(self) -> Position | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"offset file {self.path} unreadable: {exc}") from exc
        position = data.get("position") if isinstance(data, dict) else None
        if position is not None and not isinstance(position, dict):
            raise StoreError(f"offset file {self.path} holds no position object")
        return position

    def commit(self, position: Position) -> None:
        """Write ``position`` durably: temp file, fsync, rename over the old one."""
        body = json.dumps({"position": position}, sort_keys=True).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(body)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            finally:  # after the rename the temp name is gone; before it, clean up
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write offset file {self.path}: {exc}") from exc
