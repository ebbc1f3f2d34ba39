"""The source registry: one line per source."""

from __future__ import annotations

from connectors.runtime.http import HttpSource
from connectors.runtime.source import Source
from connectors.sources.board import BoardWebhook
from connectors.sources.duty import DutyApi
from connectors.sources.fax_log import FaxLogSource
from connectors.sources.fax_mail import FaxMailSource
from connectors.sources.hotline import HotlineWebhook
from connectors.sources.task_sheet import TaskSheetSource
from connectors.sources.tasks import TasksApi
from connectors.sources.telegram import TelegramSource
from connectors.sources.wechat import WechatSource

__all__ = ["SOURCES", "HttpSource", "Source"]

SOURCES: dict[str, type[Source] | type[HttpSource]] = {
    FaxLogSource.name: FaxLogSource,
    FaxMailSource.name: FaxMailSource,
    TaskSheetSource.name: TaskSheetSource,
    TasksApi.name: TasksApi,
    DutyApi.name: DutyApi,
    TelegramSource.name: TelegramSource,
    WechatSource.name: WechatSource,
    BoardWebhook.name: BoardWebhook,
    HotlineWebhook.name: HotlineWebhook,
}
