"""What a T.37 fax mail (RFC 3965 simple mode) holds: its TIFFs, checked, and its headers. Pure.

Attachments: parts of type ``image/tiff`` or ``image/tiff-fx``, or ``application/octet-stream``
named ``*.tif``/``*.tiff``. Each is base64-decoded strictly and must be a classic TIFF whose
every page Pillow (libtiff) decodes. Dead-letter reasons: ``bad-mail`` (not a mail, or a
multipart without its boundary), ``no-attachment``, ``bad-base64`` (truncated or invalid),
``not-tiff``, ``bad-tiff`` (a TIFF whose pages do not decode, e.g. cut short), ``too-large``
(over ``--max-mail-bytes``), ``invalid-event``.

Apart from the source (:mod:`connectors.sources.fax_mail`): :func:`read_fax_mail` is called by
both its reader side and its ``parse``, and what it refuses is the mail's dead-letter reason.
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
from typing import Any

from PIL import Image
from PIL.TiffImagePlugin import TiffImageFile

from connectors.runtime.documents import digest_of
from midfield.errors import ParseError

__all__ = ["FaxMail", "mail_headers", "read_fax_mail"]

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
