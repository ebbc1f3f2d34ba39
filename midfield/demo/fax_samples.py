"""Sample T.37 fax mails (RFC 3965 simple mode) for ``midfield demo`` and the tests.

Each is what a fax-to-email gateway sends: a multipart/mixed mail with a short text part and
one or more ``image/tiff`` attachments in base64, the sender's station id in the subject. The
TIFFs are real TIFF-F pages drawn with Pillow: bilevel, 1728 pixels wide (an A4 line at
204 dpi), 204 x 196 dpi, one strip per page, CCITT Group 4 when Pillow has libtiff (its wheels
do). Which mails become events and which dead letters is said in ``docs/connectors.md``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from PIL import Image, ImageDraw, features

__all__ = ["deliver", "demo_mails", "fax_mail", "fax_tiff", "png_image"]

_WIDTH, _HEIGHT = 1728, 2200  # A4 at 204 x 196 dpi (T.4 fine resolution), a little short
_OFFICE_BOX = "fax@office.example.gov.cn"


def fax_tiff(pages: int, *, label: str = "Midfield sample fax") -> bytes:
    """A TIFF-F document of ``pages`` bilevel pages, each with a line of text and a bar."""
    images = []
    for page in range(1, pages + 1):
        image = Image.new("1", (_WIDTH, _HEIGHT), 1)
        draw = ImageDraw.Draw(image)
        draw.text((120, 120), f"{label} - page {page} of {pages}", fill=0)
        draw.rectangle((120, 200 + 40 * page, 1600, 230 + 40 * page), fill=0)
        images.append(image)
    out = io.BytesIO()
    compression = "group4" if features.check("libtiff") else None
    images[0].save(out, format="TIFF", save_all=True, append_images=images[1:],
                   compression=compression, dpi=(204, 196))  # fmt: skip
    return out.getvalue()


def png_image() -> bytes:
    """A small PNG: what a misconfigured gateway attaches under an image/tiff label."""
    out = io.BytesIO()
    Image.new("1", (64, 32), 1).save(out, format="PNG")
    return out.getvalue()


def fax_mail(
    *,
    station: str,
    when: datetime,
    tiffs: Sequence[bytes],
    message_id: str | None = None,
    subject: str | None = None,
    subject_charset: str = "utf-8",
    headers: dict[str, str] | None = None,
    content_type: str = "image/tiff",
) -> bytes:
    """A T.37 mail as a gateway writes it. ``subject`` defaults to ``Fax from <station>``; a
    non-ASCII subject is sent as an RFC 2047 encoded word in ``subject_charset`` (``gb2312``
    as older Chinese gateways do, or ``utf-8``). No ``tiffs``: a text-only mail."""
    message = EmailMessage()
    message["From"] = "Fax Gateway <fax-gw@office.example.gov.cn>"
    message["To"] = _OFFICE_BOX
    message["Subject"] = "SUBJECT-PLACEHOLDER"
    message["Date"] = format_datetime(when)
    if message_id is not None:
        message["Message-ID"] = f"<{message_id}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(f"Fax received from {station}, {len(tiffs)} document(s) attached.\n")
    maintype, _, subtype = content_type.partition("/")
    for number, tiff in enumerate(tiffs, start=1):
        message.add_attachment(tiff, maintype=maintype, subtype=subtype,
                               filename=f"fax-{number}.tif")  # fmt: skip
    if message.is_multipart():  # the same sample, the same bytes (no random boundary)
        seed = hashlib.sha256(b"".join(tiffs) + f"{station}{when}{message_id}".encode())
        message.set_boundary(f"=_fax_{seed.hexdigest()[:24]}")
    text = subject if subject is not None else f"Fax from {station}"
    subject_line = _encoded_word(text, subject_charset)
    return message.as_bytes().replace(b"SUBJECT-PLACEHOLDER", subject_line, 1)


def _encoded_word(text: str, charset: str) -> bytes:
    """``text`` as one RFC 2047 B-encoded word when it is not ASCII, as gateways write it."""
    if text.isascii():
        return text.encode("ascii")
    return f"=?{charset}?B?".encode() + base64.b64encode(text.encode(charset)) + b"?="


def demo_mails(now: datetime) -> tuple[dict[str, bytes], int, int]:
    """The demo's Maildir: two faxes (one of two pages, one with a Chinese GB2312 subject) and a
    PNG labelled image/tiff; answers ``(name -> mail, events, dead letters)``."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    mails = {
        f"{stamp}.demo1.fax-gw": fax_mail(
            station="+86 551 68901234", when=now, tiffs=[fax_tiff(2, label="County water bureau")],
            message_id=f"{stamp}.1@fax-gw.example.gov.cn",
        ),
        f"{stamp}.demo2.fax-gw": fax_mail(
            station="+86 551 69012345", when=now, tiffs=[fax_tiff(1, label="Township office")],
            message_id=f"{stamp}.2@fax-gw.example.gov.cn", subject="传真来自 +86 551 69012345",
            subject_charset="gb2312",
        ),
        f"{stamp}.demo3.fax-gw": fax_mail(
            station="+86 551 60123456", when=now, tiffs=[png_image()],
            message_id=f"{stamp}.3@fax-gw.example.gov.cn",
        ),
    }  # fmt: skip
    return mails, 2, 1


def deliver(maildir: Path, mails: dict[str, bytes]) -> None:
    """Deliver ``mails`` (file name -> mail) as an MTA does: write each into ``tmp/``, then
    rename it into ``new/`` (https://cr.yp.to/proto/maildir.html); makes the Maildir if needed."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for name, raw in mails.items():
        (maildir / "tmp" / name).write_bytes(raw)
        os.replace(maildir / "tmp" / name, maildir / "new" / name)
