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

**The TIFFs reach the document store outside ``parse``.** :func:`read_fax_mail` is pure and is
called twice: by the reader side (:meth:`FaxMailSource.read`), which stores the TIFFs of a mail
that reads cleanly *before* handing the record to the runtime, and by :meth:`parse`, which
references them by ``digest_of(bytes)`` — the same bytes, the same digest. So an event never
names a document that is not stored, and a dead-lettered mail stores nothing. What is read from
a mail (attachments, headers, the TIFF checks and the dead-letter reasons) is
:mod:`connectors.sources.fax_mail_format`; the readers are
:mod:`connectors.sources.maildir_folder` and :mod:`connectors.sources.imap_folder`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Unpack

from pydantic import Field, PositiveInt, ValidationError, field_validator, model_validator

from connectors.runtime import source as contract
from connectors.runtime.deployment import Deployment, SiteValue
from connectors.runtime.documents import DocumentStore, digest_of
from connectors.sources.fax_mail_format import mail_headers, read_fax_mail
from connectors.sources.imap_folder import ImapFolder, ImapUrl
from connectors.sources.mail_readers import FolderMail
from connectors.sources.maildir_folder import MaildirFolder
from midfield.errors import ParseError
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.fax import FaxFormat, FaxReceived

__all__ = ["FaxMailOptions", "FaxMailSource"]


class FaxMailOptions(contract.ReadOnceOptions):
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
    max_mail_bytes: PositiveInt = Field(
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


class FaxMailSource(contract.Source):
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
                   **contract.at_office(options.instance, settings))  # fmt: skip

    def __init__(
        self,
        *,
        folder: MaildirFolder | ImapFolder,
        documents: DocumentStore,
        **place: Unpack[contract.Place],
    ) -> None:
        super().__init__(**place)
        self.folder = folder
        self.documents = documents

    def parse(self, record: contract.RawRecord) -> Envelope | contract.Skip:
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
            return self.envelope(
                data,
                position=f"mail {mail.message_id}",
                subject=mail.message_id,
                time=sent or self.clock(),
                ingested_at=self.clock(),
            )
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    def read(self, position: contract.Position | None, *, follow: bool) -> contract.Reading:
        for mail in self.folder.read(position, follow=follow):
            yield None if mail is None else self._record(mail)

    def committed(self, position: contract.Position) -> None:
        self.folder.committed(position)

    def _record(self, mail: FolderMail) -> contract.RawRecord:
        about = mail_headers(mail.raw)
        meta = about | mail.origin
        if mail.too_large:
            meta |= {"problem": "too-large", "detail": f"over {self.folder.max_bytes} bytes"}
        else:
            self._store_documents(mail.raw)
        return contract.RawRecord(mail.raw, f"mail {about['message_id']}", mail.resume, meta)

    def _store_documents(self, raw: bytes) -> None:
        """Store the TIFFs of a mail that will be an event (``StoreError`` stops the source)."""
        try:
            fax = read_fax_mail(raw)
        except ParseError:
            return  # a dead letter when the runtime parses it: nothing to store
        for tiff in fax.tiffs:
            self.documents.put(tiff)
