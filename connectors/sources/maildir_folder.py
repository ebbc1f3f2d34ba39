"""A Maildir the ``fax-mail`` source reads (https://cr.yp.to/proto/maildir.html).

A mail's key is its file name up to ``:``;
it stays the same when the mail moves to ``cur/`` or changes flags. Position:
``{"processed": [key, …]}``, the mails already on the bus that are still in the folder (keys of
deleted mails are dropped at the next scan, so it stays as large as the folder). Mails are read
from ``new/`` and ``cur/`` in key order (delivery time first, by the naming convention); a mail
put in ``cur/`` by someone else is still read once. The directory is read with ``os.scandir``
rather than :class:`mailbox.Maildir`: moving a mail means renaming its file, and
``mailbox.Maildir`` can only rewrite it (``set_flags`` without a rewrite is Python 3.13+).
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.runtime.source import Position, unreadable_stops
from connectors.runtime.watch import DirectoryWatch
from connectors.sources.mail_readers import FolderMail, FolderReading
from midfield.errors import StoreError
from midfield.logging import get_logger

__all__ = ["MaildirFolder"]

log = get_logger(__name__)


class MaildirFolder:
    """A Maildir's ``new/`` and ``cur/``; see the module docstring for the position."""

    def __init__(self, path: Path, *, poll_interval_s: float, max_bytes: int) -> None:
        self.path = Path(path)
        self.poll_interval_s = poll_interval_s
        self.max_bytes = max_bytes
        self._watch = DirectoryWatch(self.path / "new", poll_interval_s)  # wakes on delivery
        self._done: dict[str, None] = {}  # an ordered set: keys read, in reading order
        self._unmarked: set[str] = set()  # keys read but not yet moved to cur/ as seen
        self._skipped: set[str] = set()  # entries that are not mails, already logged

    def read(self, position: Position | None, *, follow: bool) -> FolderReading:
        reading = self._read(position, follow)
        return unreadable_stops(reading, f"maildir {self.path}", then=self._watch.close)

    def _read(self, position: Position | None, follow: bool) -> FolderReading:
        if not ((self.path / "new").is_dir() and (self.path / "cur").is_dir()):
            raise StoreError(f"{self.path} is not a Maildir (no new/ and cur/)",
                             reason="input-missing")  # fmt: skip
        self._done = dict.fromkeys(_processed(position))
        self._unmarked = set(self._done)  # a crash may have come between commit and move
        self.committed({"processed": list(self._done)})
        while True:
            found = False
            for key, name in self._unread():
                loaded = self._load(name)
                if loaded is None:
                    continue  # moved or deleted since the listing: the next scan sees it
                found = True
                self._done[key] = None
                self._unmarked.add(key)
                yield FolderMail(loaded[0], {"processed": list(self._done)},
                                 {"maildir_key": key}, too_large=loaded[1])  # fmt: skip
            if not follow:
                return
            if not found:
                yield None
                self._watch.wait()

    def _unread(self) -> list[tuple[str, str]]:
        listing = self._listing()
        self._done = {key: None for key in self._done if key in listing}
        return [(key, listing[key]) for key in sorted(listing) if key not in self._done]

    def _listing(self) -> dict[str, str]:
        """key -> ``new/NAME`` or ``cur/NAME``; new/ first, so a mail moved meanwhile is kept."""
        found: dict[str, str] = {}
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_file(follow_symlinks=False):
                        found[entry.name.split(":", 1)[0]] = f"{sub}/{entry.name}"
                    else:
                        self._not_a_mail(f"{sub}/{entry.name}")
        return found

    def _not_a_mail(self, name: str) -> None:
        """A symlink, directory or FIFO in new/ or cur/: never opened (a link could read a file
        from anywhere into a dead letter), left where it is, and said once per name."""
        if name not in self._skipped:
            self._skipped.add(name)
            log.warning("maildir entry skipped: not a regular file", maildir=str(self.path),
                        entry=name)  # fmt: skip

    def _load(self, name: str) -> tuple[bytes, bool] | None:
        try:
            with open(self.path / name, "rb") as file:
                raw = file.read(self.max_bytes + 1)
        except FileNotFoundError:
            return None
        return raw[: self.max_bytes], len(raw) > self.max_bytes

    def committed(self, position: Position) -> None:
        """Move the committed mails read by this reader to ``cur/``, flagged seen."""
        keys = [key for key in _processed(position) if key in self._unmarked]
        if not keys:
            return
        listing = self._listing()
        for key in keys:
            if key in listing:
                self._mark_seen(listing[key])
            self._unmarked.discard(key)

    def _mark_seen(self, name: str) -> None:
        sub, _, file = name.partition("/")
        key, _, info = file.partition(":")
        flags = set(info[2:]) if info.startswith("2,") else set()
        if sub == "cur" and "S" in flags:
            return
        target = f"{key}:2,{''.join(sorted(flags | {'S'}))}"  # flags in ASCII order (the spec)
        try:
            os.rename(self.path / name, self.path / "cur" / target)
        except FileNotFoundError:
            pass  # moved by someone else meanwhile
        except OSError as exc:
            log.warning("cannot mark a mail seen", maildir=str(self.path), key=key, error=str(exc))


def _processed(position: Position | None) -> list[str]:
    keys = (position or {}).get("processed", [])
    if not isinstance(keys, list):
        return []
    return [k for k in keys if isinstance(k, str) and k and "/" not in k and "\0" not in k]
