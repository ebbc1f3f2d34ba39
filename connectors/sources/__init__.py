"""The source registry: one line per source.

Everything else that lists sources reads this: ``midfield connect``, the re-drive of dead letters
(midfield/replay/reparse.py), ``midfield settings``, the deployment files (``midfield deploy
connectors``) and the contract tests (tests/unit/test_source_contract.py)."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from connectors.runtime.http import HttpSource
from connectors.runtime.source import Source
from connectors.sources.board import BoardWebhook
from connectors.sources.duty import DutyApi
from connectors.sources.fax_log import FaxLogSource
from connectors.sources.fax_mail import FaxMailSource
from connectors.sources.hotline import HotlineWebhook
from connectors.sources.info import InfoApi
from connectors.sources.task_sheet import TaskSheetSource
from connectors.sources.tasks import TasksApi
from connectors.sources.telegram import TelegramSource
from connectors.sources.wechat import WechatSource

__all__ = ["SOURCES", "HttpSource", "Source", "source_settings"]

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
    InfoApi.name: InfoApi,
}


def source_settings() -> list[type[BaseSettings]]:
    """The settings models the registered sources declare (``settings_model``), each once."""
    models = (cls.settings_model for cls in SOURCES.values())
    return list(dict.fromkeys(m for m in models if m is not None))
