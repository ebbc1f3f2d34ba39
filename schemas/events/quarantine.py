"""Items withheld from the bus (``office.quarantine.v1``): metadata only, never content."""

from __future__ import annotations

from pydantic import Field

from schemas.envelope import EventData, examples

__all__ = ["ItemQuarantined"]


class ItemQuarantined(EventData):
    """An input was withheld because it carries a classification: the rule that matched, the
    digest of what was withheld and, for a telegram, its number when in the standard form
    (docs/telegram.md). No free text of the item (issuing unit, title, body…) is here: it goes
    nowhere (issue 18). The envelope's time is when it was withheld."""

    model_config = examples(
        {
            "item_id": "×政办明电〔2025〕13号",
            "kind": "telegram",
            "rule": "declared-classification",
            "sheet_digest": "sha256:" + "9f2c" * 16,
        }
    )

    type = "cn.gov.county.office.quarantine.withheld.v1"
    topic = "office.quarantine.v1"

    item_id: str = Field(min_length=1, description="The item's number, or its sheet's digest.")
    kind: str = Field(examples=["telegram"])
    issuing_unit: str = Field(
        "",
        deprecated="never filled: a withheld item's free text goes nowhere (issue 18)",
        description="Always empty. Records written before issue 18 may hold the issuing unit.",
    )
    rule: str = Field(
        examples=["declared-classification", "star-term", "marker", "classification-term"]
    )
    sheet_digest: str = Field(
        "",
        description="``sha256:<hex>`` of the withheld file: how the office finds it in rejected/.",
    )
