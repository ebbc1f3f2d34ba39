"""Items withheld from the bus (``office.quarantine.v1``): metadata only, never content."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.envelope import EventData, register_event

__all__ = ["ItemQuarantined"]


@register_event
class ItemQuarantined(EventData):
    """An input was withheld because it carries a classification: who sent what number when,
    and the rule that matched. Its title, body and attachments are not here and go nowhere."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": "×政办明电〔2025〕13号",
                    "kind": "telegram",
                    "issuing_unit": "×市人民政府办公室",
                    "rule": "declared-classification",
                }
            ]
        }
    )

    type = "cn.gov.county.office.quarantine.withheld.v1"
    topic = "office.quarantine.v1"

    item_id: str = Field(min_length=1, description="The item's number, or its sheet's digest.")
    kind: str = Field(examples=["telegram"])
    issuing_unit: str = Field("", description="Who sent it, when the sheet says.")
    rule: str = Field(examples=["declared-classification", "star-term", "marker"])
