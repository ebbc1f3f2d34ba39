r"""What the mail folders the ``fax-mail`` source reads have in common: the mail they yield.

Both yield :class:`FolderMail` (the raw mail, the position after it, where it was) or ``None``
when nothing new has arrived, and touch the folder only for mails whose position the runtime
has committed (:meth:`committed`): then a Maildir mail moves from ``new/`` to ``cur/`` with the
seen flag ``S``, an IMAP mail gets ``\Seen``. Nothing is ever deleted or otherwise flagged.

The folders: :class:`~connectors.sources.maildir_folder.MaildirFolder` and
:class:`~connectors.sources.imap_folder.ImapFolder`, each in its own module with its position.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from connectors.runtime.source import Position

__all__ = ["FolderMail", "FolderReading"]


@dataclass(frozen=True, slots=True)
class FolderMail:
    """One mail as read from a folder."""

    raw: bytes
    resume: Position
    origin: dict[str, str]
    """Where it was (Maildir key, IMAP UID), for dead letters."""
    too_large: bool = False
    """``raw`` holds only the first ``max_bytes``: the mail was larger."""


FolderReading = Generator[FolderMail | None, None, None]
