"""The office's words for the codes the books keep: the one table the dashboard reads.

Books store codes (a channel ``fax``, an alert kind ``unanswered``, a light reason ``overdue``
with its days, a dead letter's ``bad-field-count``) and the English that the JSON API answers;
what a duty officer reads is worded here, once. A code missing from a table is shown as it is
(an alert: its own message), so a new code is visible at once and never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from streams.books.lights import Reason

__all__ = [
    "ALERT_TEXTS",
    "CHANNELS",
    "DEAD_LETTER_REASONS",
    "KINDS",
    "LIGHT_REASONS",
    "SEVERITIES",
    "SOURCES",
    "WORK_ORDER_CATEGORIES",
    "WORK_ORDER_STATUSES",
    "alert_text",
    "dead_letter_reason",
    "for_page",
    "light_reason",
]

CHANNELS: Mapping[str, str] = {
    "fax": "传真",
    "telegram": "明传电报",
    "call": "来电",
    "visit": "来访",
    "emergency": "突发事件",
    "document": "公文",
    "wechat": "微信",
    "board": "网站留言",
    "hotline": "12345热线",
}
"""Duty-log channels (streams/duty_log.py) and public-message channels."""

KINDS: Mapping[str, str] = {
    "security": "安全",
    "overdue": "逾期",
    "quarantine": "涉密拦截",
    "connector": "数据源",
    "unanswered": "留言未答复",
    "unknown-department": "单位不在名录",
}
"""Alert kinds (schemas/events/alert.py)."""

SEVERITIES: Mapping[str, str] = {"critical": "紧急", "warning": "警告", "info": "提示"}

LIGHT_REASONS: Mapping[str, str] = {
    "overdue": "逾期 {days} 天",
    "deadline-near": "距完成时限 {days} 天",
    "behind-schedule": "进度 {percent}%，落后时间进度 {behind}%",
    "on-track": "正常",
    "closed": "已办结",
}
"""streams.books.lights.light_reason's codes; the fields are its figures."""

ALERT_TEXTS: Mapping[str, str] = {
    "unanswered-{level}-days": "留言 {about} 已超过 {level} 天未答复（{actor}）",
    "check-failed": "留言 {about} 超过三个月未答复：网站检查“互动回应差”单项否决（{actor}）",
    "item-overdue": "来件 {about} 逾期未办结",
    "repeated-denials": "{actor} 今日多次被拒绝访问（{level_name}）",
    "not-a-task-department": "{actor} 不是督办事项 {about} 的承办单位，操作被拒绝",
    "forbidden-task": "{actor} 对督办事项 {about} 越权操作，已拒绝",
    "office-only": "{actor} 试图执行仅限办公室的督办操作（{about}），已拒绝",
    "not-utf8": "明传电报 {about} 无法检查编码，已拦截，请按涉密渠道处理",
    "declared-classification": "明传电报 {about} 标有密级，已拦截，请按涉密渠道处理",
    "star-term": "明传电报 {about} 含★密级标志，已拦截，请按涉密渠道处理",
    "marker": "明传电报 {about} 含涉密标记，已拦截，请按涉密渠道处理",
    "classification-term": "明传电报 {about} 含密级字样，已拦截，请按涉密渠道处理",
}
"""Alert texts by the alert's ``reason``. ``{level}`` in a key stands for the alert's level
(replies.py raises ``unanswered-30-days`` at level 30). Fields: the alert's ``about``,
``actor`` (a department's name where the directory knows it), ``level``, ``level_name``."""

_ESCALATION = ("首次", "第二级", "第三级")
"""streams/audit.py escalates the denials alert at 1x, 10x and 100x its threshold."""

DEAD_LETTER_REASONS: Mapping[str, str] = {
    "bad-field-count": "传真日志字段数不对",
    "bad-time": "时间格式错误",
    "bad-date": "日期格式错误",
    "bad-json": "不是合法的 JSON",
    "bad-row": "表格行无法读取",
    "bad-mail": "邮件无法解析",
    "bad-tiff": "传真图像损坏",
    "not-tiff": "不是传真图像",
    "not-utf8": "编码不是 UTF-8",
    "not-cloudevent": "不是事件格式",
    "invalid-event": "事件字段不合规",
    "invalid-request": "请求内容不合规",
    "unexpected-type": "事件类型不属于该主题",
    "unknown-department": "未知部门",
    "unknown-task": "督办事项不存在",
    "unknown-unit": "未知承办单位",
    "unknown-category": "未知分类",
    "unknown-status": "未知状态",
    "unknown-emergency": "突发事件不存在",
    "no-first-report": "续报早于首报",
    "not-a-task-department": "非承办单位的督办操作",
    "not-a-task-event": "不是督办事件",
    "office-only": "仅限办公室的操作",
    "subject-mismatch": "事件主体不一致",
    "task-closed": "督办事项已办结",
    "task-exists": "督办事项已存在",
    "unknown-order": "工单尚未受理",
    "illegal-step": "工单流程不允许该步骤",
    "webhook-id-reused": "重复的推送编号",
    "stale-timestamp": "推送时间已过期",
    "bad-signature": "签名无效",
}
"""Dead letters' reasons (schemas/deadletter.py ``reason``): the commonest; others show as
their code."""


SOURCES: Mapping[str, str] = {
    "fax-log": "传真日志",
    "fax-mail": "传真邮件",
    "telegram": "明传电报",
    "wechat": "微信公众号",
    "board": "网站留言板",
    "hotline": "12345热线",
    "tasks": "督办接口",
    "duty": "值班录入",
    "worker": "处理进程",
    "supervision": "督查台账",
    "messages": "留言台账",
    "work-orders": "工单台账",
    "emergencies": "突发事件台账",
    "items": "来件台账",
    "audit": "审计",
}
"""Who wrote a dead letter (its ``connector``): the intakes and the worker's books."""

WORK_ORDER_STATUSES: Mapping[str, str] = {
    "accepted": "已受理",
    "dispatched": "已派单",
    "returned": "已退回",
    "signed": "已签收",
    "handling": "办理中",
    "replied": "已答复",
    "callback": "已回访",
    "closed": "已办结",
}

WORK_ORDER_CATEGORIES: Mapping[str, str] = {
    "consultation": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "other": "其他",
}


def light_reason(reason: Reason) -> str:
    """A task light's reason, worded for the office."""
    text = LIGHT_REASONS.get(reason.code)
    return text.format(**dict(reason.figures)) if text else reason.english


def alert_text(alert: Mapping[str, Any], name_of: Callable[[str], str]) -> str:
    """An alert, worded from its ``reason``; its own message when the reason is not known."""
    reason, level = str(alert.get("reason") or ""), int(alert.get("level") or 0)
    text = ALERT_TEXTS.get(reason) or ALERT_TEXTS.get(_level_key(reason, level), "")
    if not text:
        return str(alert.get("message", ""))
    actor = str(alert.get("actor") or "")
    return text.format(
        about=alert.get("about") or alert.get("alert_id", ""),
        actor=name_of(actor) if actor else "未知",
        level=level,
        level_name=_ESCALATION[min(level, len(_ESCALATION) - 1)],
    )


def _level_key(reason: str, level: int) -> str:
    return re.sub(rf"(?<![0-9]){level}(?![0-9])", "{level}", reason, count=1) if level else ""


def dead_letter_reason(code: str) -> str:
    return DEAD_LETTER_REASONS.get(code, code)


def for_page() -> dict[str, Mapping[str, str]]:
    """The tables the page looks codes up in (channels, alert kinds, severities, …)."""
    return {
        "channels": CHANNELS,
        "kinds": KINDS,
        "severities": SEVERITIES,
        "sources": SOURCES,
        "statuses": WORK_ORDER_STATUSES,
        "categories": WORK_ORDER_CATEGORIES,
    }
