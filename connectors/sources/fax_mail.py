"""The ``fax-mail`` source: T.37 fax-to-email (RFC 3965 simple mode) from a Maildir or IMAP folder.

A fax gateway mails each received fax as multipart/mixed with one or more ``image/tiff``
(TIFF-F, RFC 3949) attachments in base64. One mail becomes one :class:`FaxReceived`:

* ``commid`` and the Kafka key: the Message-ID without ``<>`` (``sha256:<hex>`` of the whole mail
  when it has none); the event id is ``event_id(source, "mail <commid>")``, so a mail read again
  (a re-scan, a re-delivery) has the same id;
* ``remote_station``: the sender's TSI/CSI, from an ``X-Fax-TSI``, ``X-Fax-CSID``, ``X-Fax-CSI``
  or ``X-Fax-Remote-Station`` header, else from the subject (RFC 2047 encoded words decoded):
  ``Fax from X``, ``Facsimile received from X``, ``New fax from X``, ``传真来自 X``,
  ``来自 X 的传真``, cut at a bracket or comma (``(2 pages)``); empty when the mail names none;
* ``document``: the first TIFF's digest in the document store; ``documents`` every TIFF's;
  ``pages`` and ``size_bytes`` summed over them, pages counted from the TIFFs themselves;
* ``device`` and ``line``: the mailbox the fax went to (``To``), i.e. which of the office's fax
  lines took it; ``time``: the ``Date`` header (the office's
  zone when it has none), else the time it was read.

Attachments: parts of type ``image/tiff`` or ``image/tiff-fx``, or ``application/octet-stream``
named ``*.tif``/``*.tiff``. Each is base64-decoded strictly and must be a classic TIFF whose
every page Pillow (libtiff) decodes. Dead-letter reasons: ``bad-mail`` (not a mail, or a
multipart without its boundary), ``no-attachment``, ``bad-base64`` (truncated or invalid),
``not-tiff``, ``bad-tiff`` (a TIFF whose pages do not decode, e.g. cut short), ``too-large``
(over ``--max-mail-bytes``), ``invalid-event``.

**The TIFFs reach the document store outside ``parse``.** :func:`read_fax_mail` is pure and is
called twice: by the reader side (:meth:`FaxMailSource.read`), which stores the TIFFs of a mail
that reads cleanly *before* handing the record to the runtime, and by :meth:`parse`, which
references them by ``digest_of(bytes)`` — the same bytes, the same digest. So an event never
names a document that is not stored, and a dead-lettered mail stores nothing. The readers
(Maildir, IMAP) are in :mod:`connectors.sources.mail_readers`.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import errors as email_errors
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from PIL import Image
from PIL.TiffImagePlugin import TiffImageFile
from pydantic import Field, ValidationError, field_validator, model_validator

from connectors.runtime.deployment import Deployment, SiteValue
from connectors.runtime.documents import DocumentStore, digest_of
from connectors.runtime.source import Position, RawRecord, Reading, ReadOnceOptions, Skip, Source
from connectors.sources.mail_readers import FolderMail, ImapFolder, ImapUrl, MaildirFolder
from midfield.clock import Clock, utc_now
from midfield.errors import ParseError
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.fax import FaxFormat, FaxReceived

__all__ = ["FaxMail", "FaxMailOptions", "FaxMailSource", "mail_headers", "read_fax_mail"]

_STATION_HEADERS = ("X-Fax-TSI", "X-Fax-CSID", "X-Fax-CSI", "X-Fax-Remote-Station")
_SUBJECT_STATION = (
    re.compile(r"\b(?:fax|facsimile)\b.*?\bfrom\b[\s:]*(?P<station>.+)", re.IGNORECASE),
    re.compile(r"来自[\s:：]*(?P<station>.+?)(?:\s*的传真.*)?$"),
)
_STATION_END = re.compile(r"\s*(?:[(（,，;；]|\s-\s).*$")
_TIFF_TYPES = frozenset({"image/tiff", "image/tiff-fx"})
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# TIFF 6.0 tags: StripOffsets, StripByteCounts, TileOffsets, TileByteCounts.
_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS = 273, 279, 324, 325
_MESSAGE_ID = re.compile(r"[!-~]{1,250}", re.ASCII)
# The largest T.37 page: A3 at 400 dpi (TIFF-FX, RFC 3949), with room to spare.
_MAX_PAGE_PIXELS = 4864 * 6912
# What the stdlib email package raises on hostile headers, besides registering defects.
# OverflowError: a Date header whose year does not fit (email.utils.parsedate_to_datetime).
_EMAIL_ERRORS = (email_errors.MessageError, ValueError, LookupError, TypeError, AttributeError,
                 OverflowError)  # fmt: skip
# What Pillow (and libtiff through it) raises on a damaged TIFF.
_TIFF_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, struct.error, LookupError,
                ArithmeticError, MemoryError, Warning, Image.DecompressionBombError)  # fmt: skip
_BAD_MULTIPART = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
)


class FaxMailOptions(ReadOnceOptions):
    maildir: Path | None = Field(
        None,
        description="The Maildir the fax gateway delivers to (with new/ and cur/).",
        examples=["/var/mail/fax/Maildir"],
    )
    imap: str | None = Field(
        None,
        description=(
            "IMAP folder: imap://USER@HOST[:PORT]/FOLDER, or imaps:// for TLS; the password "
            "from MIDFIELD_CONNECT_IMAP_PASSWORD (or USER:PASSWORD@ in the URL)."
        ),
        examples=["imaps://fax@mail.office.example.gov.cn/INBOX"],
    )
    imap_ca_file: Path | None = Field(
        None, description="PEM CA file to verify the imaps:// server with (default: the system's)."
    )
    max_mail_bytes: Annotated[int, Field(gt=0)] = Field(
        32 << 20, description="A larger mail is a dead letter (too-large), never read whole."
    )
    instance: str = Field(
        "t37-main", description="Names this connector in event sources and its offset file."
    )

    @field_validator("imap")
    @classmethod
    def _imap_url(cls, value: str | None) -> str | None:
        if value is not None:
            ImapUrl.parse(value)  # raises ValueError with what is wrong
        return value

    @model_validator(mode="after")
    def _one_input(self) -> FaxMailOptions:
        if (self.maildir is None) == (self.imap is None):
            raise ValueError("give exactly one input: --maildir DIR or --imap URL")
        return self


@dataclass(frozen=True, slots=True)
class FaxMail:
    """What :func:`read_fax_mail` finds in a T.37 mail."""

    message_id: str
    mailbox: str
    station: str
    sent: datetime | None
    """The Date header; naive when the mail gave no zone."""
    tiffs: tuple[bytes, ...]
    pages: int


def read_fax_mail(raw: bytes) -> FaxMail:
    """Pure: the fax in ``raw``, or ``ParseError`` with the dead-letter reason."""
    message = _message(raw)
    try:
        tiffs = tuple(_tiff_bytes(part, n) for n, part in enumerate(_tiff_parts(message), 1))
        kinds = sorted({part.get_content_type() for part in message.walk()})
        about = (_message_id(message, raw), _mailbox(message), _station(message), _sent(message))
    except _EMAIL_ERRORS as exc:
        raise ParseError("bad-mail", f"{type(exc).__name__}: {_show(str(exc))}") from exc
    if not tiffs:
        raise ParseError("no-attachment", f"no image/tiff part (parts: {', '.join(kinds)})")
    pages = sum(_pages(tiff, n) for n, tiff in enumerate(tiffs, 1))
    return FaxMail(*about, tiffs=tiffs, pages=pages)


def mail_headers(raw: bytes) -> dict[str, str]:
    """Message-ID (as :func:`read_fax_mail` finds it), From and Subject, for positions and dead
    letters; never raises."""
    try:
        message = BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)
        return {"message_id": _message_id(message, raw),
                "from": _show(str(message.get("From", ""))),
                "subject": _show(str(message.get("Subject", "")))}  # fmt: skip
    except _EMAIL_ERRORS:
        return {"message_id": digest_of(raw)}


class FaxMailSource(Source):
    """Read T.37 fax mails from a Maildir or an IMAP folder; the TIFFs go to the document store."""

    name: ClassVar[str] = "fax-mail"
    version: ClassVar[str] = "1"
    options = FaxMailOptions
    keeps_documents = True
    deployment = Deployment(
        note="T.37 fax-to-email from the gateway's IMAP folder; MIDFIELD_CONNECT_IMAP_PASSWORD.",
        writes=(FaxReceived.topic,),
        args=("--imap", SiteValue("FAXMAIL_IMAP_URL", key="faxmail-imap-url",
                                  default="imaps://fax@mail.office.example.gov.cn/INBOX")),
        secrets=True,
    )  # fmt: skip

    @classmethod
    def from_options(cls, options: FaxMailOptions, settings: Settings) -> FaxMailSource:
        poll = settings.connect.poll_interval_s
        folder: MaildirFolder | ImapFolder
        if options.maildir is not None:
            folder = MaildirFolder(options.maildir, poll_interval_s=poll,
                                   max_bytes=options.max_mail_bytes)  # fmt: skip
        else:
            assert options.imap is not None  # the options model checked: exactly one
            url = ImapUrl.parse(options.imap, settings.connect.imap_password.get_secret_value())
            folder = ImapFolder(url, ca_file=options.imap_ca_file, poll_interval_s=poll,
                                max_bytes=options.max_mail_bytes)  # fmt: skip
        return cls(folder=folder, documents=DocumentStore(settings.connect.documents_dir),
                   instance=options.instance, zone=settings.office.zone)  # fmt: skip

    def __init__(
        self,
        *,
        folder: MaildirFolder | ImapFolder,
        documents: DocumentStore,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.folder = folder
        self.documents = documents

    def parse(self, record: RawRecord) -> Envelope | Skip:
        if "problem" in record.meta:
            raise ParseError(record.meta["problem"], record.meta.get("detail", ""))
        mail = read_fax_mail(record.raw)
        digests = tuple(digest_of(tiff) for tiff in mail.tiffs)
        sent = mail.sent
        if sent is not None and sent.utcoffset() is None:
            sent = sent.replace(tzinfo=self.zone)
        try:
            data = FaxReceived(
                commid=mail.message_id, device=mail.mailbox, document=digests[0],
                documents=digests, size_bytes=sum(map(len, mail.tiffs)),
                remote_station=mail.station, pages=mail.pages, duration_s=0, connect_s=0,
                log_format=FaxFormat.t37_mail, line=mail.mailbox,
            )  # fmt: skip
            return Envelope.wrap(
                data,
                source=self.uri,
                position=f"mail {mail.message_id}",
                subject=mail.message_id,
                time=sent or self.clock(),
                ingested_at=self.clock(),
                connector_version=self.version,
            )
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        for mail in self.folder.read(position, follow=follow):
            yield None if mail is None else self._record(mail)

    def committed(self, position: Position) -> None:
        self.folder.committed(position)

    def _record(self, mail: FolderMail) -> RawRecord:
        about = mail_headers(mail.raw)
        meta = about | mail.origin
        if mail.too_large:
            meta |= {"problem": "too-large", "detail": f"over {self.folder.max_bytes} bytes"}
        else:
            self._store_documents(mail.raw)
        return RawRecord(mail.raw, f"mail {about['message_id']}", mail.resume, meta)

    def _store_documents(self, raw: bytes) -> None:
        """Store the TIFFs of a mail that will be an event (``StoreError`` stops the source)."""
        try:
            fax = read_fax_mail(raw)
        except ParseError:
            return  # a dead letter when the runtime parses it: nothing to store
        for tiff in fax.tiffs:
            self.documents.put(tiff)


def _message(raw: bytes) -> EmailMessage:
    try:
        message = BytesParser(_class=EmailMessage, policy=default_policy).parsebytes(raw)
        named = [n for n in ("From", "To", "Date", "Subject", "Message-ID") if n in message]
    except _EMAIL_ERRORS as exc:
        raise ParseError("bad-mail", f"{type(exc).__name__}: {_show(str(exc))}") from exc
    if not named:
        raise ParseError("bad-mail", "no From, To, Date, Subject or Message-ID header")
    for part in message.walk():
        bad = [d for d in part.defects if isinstance(d, _BAD_MULTIPART)]
        if bad:
            raise ParseError("bad-mail", f"{part.get_content_type()}: {type(bad[0]).__name__}")
    return message


def _tiff_parts(message: Message) -> Iterator[Message]:
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if kind in _TIFF_TYPES or (
            kind == "application/octet-stream" and name.endswith((".tif", ".tiff"))
        ):
            yield part


def _tiff_bytes(part: Message, number: int) -> bytes:
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding != "base64":  # T.37 says base64; take 7bit/8bit/binary/quoted-printable as sent
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    text = part.get_payload(decode=False)
    if not isinstance(text, str):
        raise ParseError("bad-mail", f"attachment {number}: no payload")
    try:  # strictly: the email package would drop bad characters and pad a truncated end
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ParseError("bad-base64", f"attachment {number}: {exc}") from exc


def _pages(tiff: bytes, number: int) -> int:
    """Pages of a TIFF, each checked whole and decoded once (a damaged page is caught here)."""
    if not tiff.startswith(_TIFF_MAGIC):
        raise ParseError("not-tiff", f"attachment {number}: starts {tiff[:8]!r}, not II*/MM*")
    try:
        with warnings.catch_warnings():
            # Metadata quirks only warn (real gateways write odd tags); a bomb is an error.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(tiff), formats=["TIFF"]) as image:
                assert isinstance(image, TiffImageFile)  # formats=["TIFF"]: nothing else
                pages = image.n_frames
                for page in range(pages):
                    image.seek(page)
                    _check_page(image, len(tiff), f"attachment {number} page {page + 1}")
                    image.load()
    except _TIFF_ERRORS as exc:
        raise ParseError(
            "bad-tiff", f"attachment {number}: {type(exc).__name__}: {_show(str(exc))}"
        ) from exc
    return pages


def _check_page(image: TiffImageFile, size: int, where: str) -> None:
    """Refuse a page too large to decode safely, or whose image data runs past the end of the
    file (a TIFF cut short: libtiff would decode what is there and only warn)."""
    if image.width * image.height > _MAX_PAGE_PIXELS:
        raise ParseError("bad-tiff", f"{where}: {image.width}x{image.height} pixels")
    tags = image.tag_v2
    offsets = tags.get(_STRIP_OFFSETS, tags.get(_TILE_OFFSETS))
    counts = tags.get(_STRIP_COUNTS, tags.get(_TILE_COUNTS))
    if not offsets or not counts:
        raise ParseError("bad-tiff", f"{where}: no image data")
    ends = [int(o) + int(c) for o, c in zip(_seq(offsets), _seq(counts), strict=False)]
    if max(ends) > size:
        raise ParseError("bad-tiff", f"{where}: image data ends at {max(ends)}, file is {size}")


def _seq(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _message_id(message: Message, raw: bytes) -> str:
    text = str(message.get("Message-ID", "")).strip()
    if text.startswith("<") and ">" in text:
        text = text[1 : text.index(">")]
    return text if _MESSAGE_ID.fullmatch(text) else digest_of(raw)


def _mailbox(message: Message) -> str:
    to: Any = message.get("To")
    addresses = getattr(to, "addresses", ())
    return _show(str(addresses[0].addr_spec)) if addresses else ""


def _station(message: Message) -> str:
    for name in _STATION_HEADERS:
        value = str(message.get(name, "")).strip()
        if value:
            return _show(value)
    subject = " ".join(str(message.get("Subject", "")).split())
    for pattern in _SUBJECT_STATION:
        match = pattern.search(subject)
        if match:
            return _show(_STATION_END.sub("", match["station"]).strip(" \"'“”"))
    return ""


def _sent(message: Message) -> datetime | None:
    date: Any = message.get("Date")
    value = getattr(date, "datetime", None)
    return value if isinstance(value, datetime) else None


def _show(value: str, limit: int = 200) -> str:
    """``value`` cut to ``limit``, as text that can travel: raw 8-bit header bytes, which the
    email package keeps as surrogate escapes, read as UTF-8 (RFC 6532), U+FFFD where not."""
    try:
        text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is no escape
        text = value.encode("utf-8", "replace").decode("utf-8")
    return text[:limit]
