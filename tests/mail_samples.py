"""T.37 fax mails for the fax-mail tests: good ones built as the demo builds them
(:mod:`midfield.demo.fax_samples`, real TIFF-F pages from Pillow) and one of each bad case, keyed by
the dead-letter reason it must get; and Maildir delivery as an MTA does it (tmp/, then new/)."""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from midfield.demo.fax_samples import fax_mail, fax_tiff, png_image

__all__ = ["WHEN", "bad_mails", "cut_base64", "deliver", "good_mail", "make_maildir", "tiff"]

WHEN = datetime(2025, 3, 14, 9, 41, tzinfo=ZoneInfo("Asia/Shanghai"))


@cache
def tiff(pages: int) -> bytes:
    return fax_tiff(pages, label=f"{pages}-page test fax")


def good_mail(n: int, *, pages: int = 1, station: str = "+86 551 2345678", **kw: Any) -> bytes:
    """Fax mail number ``n``: Message-ID ``fax-<n>@gw.test``, ``pages`` pages."""
    return fax_mail(station=station, when=WHEN, tiffs=[tiff(pages)],
                    message_id=f"fax-{n}@gw.test", **kw)  # fmt: skip


def cut_base64(mail: bytes, chars: int) -> bytes:
    """``mail`` cut in transit after ``chars`` base64 characters of its last attachment (no
    closing boundary). ``chars`` not a multiple of 4: the base64 itself is broken; a multiple of
    4: it decodes, to a TIFF cut short."""
    start = mail.rindex(b"Content-Disposition: attachment")
    body = mail.index(b"\n\n", start) + 2
    seen = 0
    for end in range(body, len(mail)):
        if mail[end : end + 1] not in b"\r\n":
            seen += 1
            if seen == chars:
                return mail[: end + 1] + b"\n"
    raise ValueError(f"the attachment has fewer than {chars} base64 characters")


def bad_mails() -> dict[str, bytes]:
    """Reason -> a mail that must become one dead letter with it."""
    return {
        "not-tiff": fax_mail(station="+86 551 1", when=WHEN, tiffs=[png_image()],
                             message_id="png@gw.test"),
        "no-attachment": fax_mail(station="+86 551 2", when=WHEN, tiffs=[],
                                  message_id="empty@gw.test"),
        "bad-base64": cut_base64(good_mail(90, pages=2), 4 * 100 + 2),
    }  # fmt: skip


def make_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def deliver(maildir: Path, key: str, raw: bytes, *, sub: str = "new", info: str = "") -> Path:
    """Deliver as an MTA does: write into tmp/, then rename into new/ (or cur/ with ``info``)."""
    tmp = maildir / "tmp" / key
    tmp.write_bytes(raw)
    target = maildir / sub / (key + info)
    os.rename(tmp, target)
    return target
