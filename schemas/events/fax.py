"""Fax events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from schemas.envelope import EventData, register_event

__all__ = ["FaxFormat", "FaxReceived"]


class FaxFormat(StrEnum):
    """Which xferfaxlog dialect a line was written in."""

    hylafax = "hylafax"  # classic, 14 fields
    hylafax_plus = "hylafax+"  # 19 fields: adds CIDName, CIDNumber, callid, owner, dcs
    gofaxip = "gofaxip"  # HylaFAX+ layout with doubled quotes


@register_event
class FaxReceived(EventData):
    """A fax arrived (HylaFAX RECV record, or a T.37 fax mail)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
                }
            ]
        }
    )

    type = "cn.gov.county.office.fax.received.v1"
    topic = "office.intake.fax.v1"

    commid: str = Field(min_length=1, examples=["000000123"], description="HylaFAX comm id.")
    device: str = Field(examples=["ttyS0"], description="Modem or gateway that took the call.")
    document: str = Field(examples=["recvq/fax000000123.tif"], description="Received file.")
    remote_station: str = Field(examples=["+86 551 2345678"], description="TSI the sender sent.")
    pages: Annotated[int, Field(ge=0)]
    duration_s: Annotated[int, Field(ge=0)] = Field(description="Job time in seconds.")
    connect_s: Annotated[int, Field(ge=0)] = Field(description="Connect time in seconds.")
    status: str = Field("", description="Error text; empty when the fax arrived whole.")
    caller_name: str = ""
    caller_number: str = Field("", examples=["05512345678"])
    call_id: str = ""
    params: str = Field("", description="Opaque encoded session parameters.")
    log_format: FaxFormat = FaxFormat.hylafax
