r"""An IMAP folder the ``fax-mail`` source reads, and the URL that names it.

IMAP4rev1 (RFC 3501), through :mod:`imaplib`. Position: ``{"uidvalidity": V,
"last_uid": U}``; each scan fetches the UIDs above ``U`` with ``BODY.PEEK[]`` (which, unlike
``RFC822``, does not set ``\Seen`` before the broker has the event). When the folder's
UIDVALIDITY is no longer ``V`` (the folder was re-created), UIDs mean other mails: the folder is
read again from its start; the mails already sent get the same event ids (the Message-ID
decides), so the books take each once. Connection failures are retried with back-off while
following, three times with ``--once``; a refused login, a missing folder or a certificate that
does not verify stop the connector (``StoreError``).
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from connectors.runtime.runner import Backoff
from connectors.runtime.source import Position
from connectors.sources.mail_readers import FolderMail, FolderReading
from midfield.errors import ConfigError, StoreError
from midfield.logging import get_logger

__all__ = ["ImapFolder", "ImapUrl"]

log = get_logger(__name__)


def _pause(seconds: float, tick: float) -> Generator[None, None, None]:
    """Wait ``seconds``, yielding ``None`` every ``tick`` so the runtime can commit or stop."""
    end = time.monotonic() + seconds
    while True:
        yield None
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, tick))


@dataclass(frozen=True)
class ImapUrl:
    """``imap[s]://USER[:PASSWORD]@HOST[:PORT]/FOLDER`` (RFC 5092's server and mailbox part)."""

    tls: bool
    host: str
    port: int
    user: str
    folder: str
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, url: str, password: str = "") -> ImapUrl:
        """``password`` is used when the URL has none. ``ValueError`` says what is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps"):
            raise ValueError(f"an IMAP URL starts imap:// or imaps://, not {parts.scheme!r}")
        if not parts.hostname or not parts.username:
            raise ValueError("an IMAP URL names a user and a host: imap://USER@HOST/FOLDER")
        tls = parts.scheme == "imaps"
        return cls(tls=tls, host=parts.hostname, port=parts.port or (993 if tls else 143),
                   user=unquote(parts.username), folder=unquote(parts.path.lstrip("/")) or "INBOX",
                   password=unquote(parts.password) if parts.password else password)  # fmt: skip

    def __str__(self) -> str:
        """The URL without the password: for logs and errors."""
        return f"imap{'s' if self.tls else ''}://{self.user}@{self.host}:{self.port}/{self.folder}"


class ImapFolder:
    """One IMAP folder, by UID; see the module docstring for the position."""

    def __init__(
        self,
        url: ImapUrl,
        *,
        ca_file: Path | None = None,
        poll_interval_s: float,
        max_bytes: int,
        timeout_s: float = 30.0,
        once_attempts: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        if not url.password:
            raise ConfigError(f"no password for {url}: set MIDFIELD_CONNECT_IMAP_PASSWORD")
        self.url = url
        self.poll_interval_s = poll_interval_s
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.once_attempts = once_attempts
        self.backoff = backoff or Backoff()
        self._tls = _tls_context(ca_file) if url.tls else None
        self._conn: imaplib.IMAP4 | None = None
        self._validity: int | None = None
        self._seen: tuple[int, int] = (0, 0)  # (uidvalidity, UIDs up to here marked \Seen)

    def read(self, position: Position | None, *, follow: bool) -> FolderReading:
        validity, last = _imap_position(position)
        failures = 0
        try:
            while True:
                try:
                    current = self._open()
                    if validity is not None and current != validity:
                        log.warning("UIDVALIDITY changed: reading the folder again",
                                    folder=str(self.url), was=validity, now=current)  # fmt: skip
                        last = 0
                    validity = current
                    while True:
                        found = False
                        for mail in self._scan(current, last):
                            found = True
                            last = int(mail.resume["last_uid"])
                            yield mail
                        failures = 0  # a whole scan went through
                        if not follow:
                            return
                        if not found:
                            yield from _pause(self.poll_interval_s, self.poll_interval_s)
                            self._noop()
                except ssl.SSLCertVerificationError as exc:
                    raise StoreError(f"IMAP {self.url}: {exc}", reason="imap-tls") from exc
                except (OSError, imaplib.IMAP4.error) as exc:
                    self._close()
                    failures += 1
                    if not follow and failures >= self.once_attempts:
                        raise StoreError(f"IMAP {self.url}: {exc}",
                                         reason="input-unreachable") from exc  # fmt: skip
                    delay = self.backoff.delay(failures)
                    log.warning("IMAP folder unreachable, retrying", folder=str(self.url),
                                error=str(exc), retry_in_s=round(delay, 2))  # fmt: skip
                    yield from _pause(delay, self.poll_interval_s)
        finally:
            self._close()

    def _scan(self, validity: int, last: int) -> Iterator[FolderMail]:
        for uid in self._uids_after(last):
            fetched = self._fetch(uid)
            if fetched is not None:  # None: expunged since the search
                resume = {"uidvalidity": validity, "last_uid": uid}
                origin = {"imap_uid": str(uid), "uidvalidity": str(validity)}
                yield FolderMail(fetched[0], resume, origin, too_large=fetched[1])

    def _uids_after(self, last: int) -> list[int]:
        data = self._uid("SEARCH", "UID", f"{last + 1}:*")
        # "n:*" also matches the highest UID when every UID is below n (RFC 3501 §6.4.8:
        # "*" is the largest UID in use and a range is unordered), hence the filter.
        return sorted(u for u in map(int, (data[0] or b"").split()) if u > last)

    def _fetch(self, uid: int) -> tuple[bytes, bool] | None:
        data = self._uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{self.max_bytes + 1}>)")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                raw = item[1]
                return raw[: self.max_bytes], len(raw) > self.max_bytes
        return None

    def committed(self, position: Position) -> None:
        r"""Set ``\Seen`` on the mails up to the committed UID (a courtesy: failures are logged)."""
        validity, last = _imap_position(position)
        seen_validity, seen_through = self._seen
        first = seen_through + 1 if validity == seen_validity else 1
        if validity is None or last < first:
            return
        opened = self._conn is None
        try:
            current = self._open() if opened else self._validity
            if current == validity:
                self._uid("STORE", f"{first}:{last}", "+FLAGS.SILENT", r"(\Seen)")
                self._seen = (validity, last)
        except (OSError, imaplib.IMAP4.error, StoreError) as exc:
            log.warning("cannot mark mails seen", folder=str(self.url), error=str(exc))
        finally:
            if opened:
                self._close()

    def _open(self) -> int:
        """Connect, log in, select the folder; its UIDVALIDITY."""
        self._close()
        if self._tls is not None:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                self.url.host, self.url.port, ssl_context=self._tls, timeout=self.timeout_s
            )
        else:
            conn = imaplib.IMAP4(self.url.host, self.url.port, timeout=self.timeout_s)
        self._conn = conn
        try:
            conn.login(self.url.user, self.url.password)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise StoreError(f"IMAP {self.url}: login refused: {exc}", reason="imap-login") from exc
        kind, _ = conn.select(_quoted(self.url.folder))
        if kind != "OK":
            raise StoreError(f"IMAP {self.url}: no such folder", reason="input-missing")
        _, values = conn.response("UIDVALIDITY")
        if not values or not values[0] or not values[0].isdigit():
            raise imaplib.IMAP4.error(f"SELECT {self.url.folder} answered no UIDVALIDITY")
        self._validity = int(values[0])
        return self._validity

    def _uid(self, command: str, *args: str) -> list[Any]:
        if self._conn is None:
            raise imaplib.IMAP4.abort("not connected")
        kind, data = self._conn.uid(command, *args)
        if kind != "OK":
            raise imaplib.IMAP4.error(f"UID {command}: {kind} {data!r:.200}")
        return list(data)

    def _noop(self) -> None:
        """Lets the server tell of new mail (an IMAP server reports it only in a response)."""
        if self._conn is None:
            raise imaplib.IMAP4.abort("not connected")
        self._conn.noop()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):  # gone either way
                conn.logout()


def _imap_position(position: Position | None) -> tuple[int | None, int]:
    validity = (position or {}).get("uidvalidity")
    last = (position or {}).get("last_uid")
    if not isinstance(validity, int) or not isinstance(last, int) or last < 0:
        return None, 0
    return validity, last


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the CA file {ca_file}: {exc}") from exc
