"""Fax events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, NonNegativeInt

from schemas.envelope import EventData, examples

__all__ = ["FaxFormat", "FaxReceived"]


class FaxFormat(StrEnum):
    """What the fax was read from: an xferfaxlog dialect, or a T.37 fax mail."""

    hylafax = "hylafax"  # classic, 14 fields
    hylafax_plus = "hylafax+"  # 19 fields: adds CIDName, CIDNumber, callid, owner, dcs
    gofaxip = "gofaxip"  # HylaFAX+ layout with doubled quotes
    t37_mail = "t37-mail"  # RFC 3965 fax-to-email, TIFF attachment(s) in the document store


class FaxReceived(EventData):
    """A fax arrived (HylaFAX RECV record, or a T.37 fax mail)."""

    model_config = examples(
        {
            "commid": "000000123",
            "device": "ttyS0",
            "document": "recvq/fax000000123.tif",
            "remote_station": "+86 551 2345678",
            "pages": 3,
            "duration_s": 72,
            "connect_s": 65,
            "status": "",
            "caller_name": "",
            "caller_number": "05512345678",
            "call_id": "",
            "params": "65576",
            "log_format": "hylafax+",
            "line": "05511234567",
        },
        {
            "commid": "20250314094112.1234@fax-gw.example.gov.cn",
            "device": "fax@office.example.gov.cn",
            "document": "sha256:" + "ab" * 32,
            "documents": ["sha256:" + "ab" * 32],
            "size_bytes": 48213,
            "remote_station": "+86 551 2345678",
            "pages": 2,
            "duration_s": 0,
            "connect_s": 0,
            "log_format": "t37-mail",
            "line": "fax@office.example.gov.cn",
        },
    )

    type = "cn.gov.county.office.fax.received.v1"
    topic = "office.intake.fax.v1"

    commid: str = Field(
        min_length=1,
        examples=["000000123"],
        description="HylaFAX comm id; for a T.37 mail its Message-ID (or the mail's digest).",
    )
    device: str = Field(
        examples=["ttyS0"],
        description="Modem or gateway that took the call; for a T.37 mail the mailbox it went to.",
    )
    document: str = Field(
        examples=["recvq/fax000000123.tif"],
        description="Received file: a HylaFAX path, or the document-store digest of the TIFF.",
    )
    remote_station: str = Field(
        examples=["+86 551 2345678"],
        description="TSI the sender's machine sent: its own claim, not a verified unit.",
    )
    pages: NonNegativeInt
    duration_s: NonNegativeInt = Field(description="Job time in seconds.")
    connect_s: NonNegativeInt = Field(description="Connect time in seconds.")
    status: str = Field("", description="Error text; empty when the fax arrived whole.")
    caller_name: str = ""
    caller_number: str = Field("", examples=["05512345678"])
    call_id: str = ""
    params: str = Field("", description="Opaque encoded session parameters.")
    log_format: FaxFormat = FaxFormat.hylafax
    size_bytes: NonNegativeInt = Field(
        0, description="Bytes of the received TIFF(s) in the document store; 0 when not known."
    )
    documents: tuple[str, ...] = Field(
        (),
        examples=[["sha256:" + "ab" * 32]],
        description=(
            "Every TIFF of a T.37 mail by digest (``document`` is the first); empty for HylaFAX."
        ),
    )
    line: str = Field(
        "",
        examples=["05511234567", "fax@office.example.gov.cn"],
        description=(
            "The office's line that took the fax (a duty fax or a general one): xferfaxlog's "
            "dest column, the receiving modem's number, or a T.37 mail's To address; empty when "
            "the source does not say."
        ),
    )
