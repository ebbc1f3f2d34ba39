"""Public messages (留言) from the web board, the WeChat account and the hotline, and their replies.

The envelope's ``time`` is when it happened: the message received, the reply published. The
submitter's contact never travels in clear: ``submitter`` is a salted digest made by the source.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas.envelope import EventData, examples

__all__ = [
    "MessageCategory",
    "MessageChannel",
    "PublicMessageEvent",
    "PublicMessageReceived",
    "PublicMessageReplied",
]


class MessageChannel(StrEnum):
    board = "board"  # 网站公众留言台
    wechat = "wechat"  # 微信公众号
    hotline = "hotline"  # 县长热线 / 12345


class MessageCategory(StrEnum):
    consultation = "consultation"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    suggestion = "suggestion"  # 建议
    other = "other"


_DEPARTMENT = r"^([a-z][a-z0-9-]{0,39})?$"


class PublicMessageEvent(EventData):
    """What every public message event carries: the message it is about."""

    topic = "office.intake.message.v1"

    message_id: str = Field(min_length=1, max_length=64)


class PublicMessageReceived(PublicMessageEvent):
    """A message from the public arrived; ``department`` is the one that must reply."""

    model_config = examples(
        {
            "message_id": "board-20250314-0042",
            "channel": "board",
            "category": "consultation",
            "title": "学区划分咨询",
            "content": "请问今年城区小学学区如何划分？",
            "submitter": "sha256:5f1c…",
            "department": "edu",
        }
    )

    type = "cn.gov.county.office.message.received.v1"

    channel: MessageChannel
    category: MessageCategory = MessageCategory.other
    title: str = Field("", max_length=200)
    content: str = Field("", max_length=20_000)
    submitter: str = Field("", max_length=80, description="Salted digest of the contact.")
    department: str = Field(
        "", pattern=_DEPARTMENT, description="Department that must reply; empty: the office."
    )


class PublicMessageReplied(PublicMessageEvent):
    """A reply to a public message was published (counts toward the reply rate, 办复率)."""

    model_config = examples(
        {
            "message_id": "board-20250314-0042",
            "department": "edu",
            "reply": "今年学区划分方案已于3月10日在县教育局网站公布。",
        }
    )

    type = "cn.gov.county.office.message.replied.v1"

    department: str = Field("", pattern=_DEPARTMENT, description="Who replied.")
    reply: str = Field("", max_length=20_000)
