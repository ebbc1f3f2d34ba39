"""The books of a busy county office, as events: N open supervised tasks, some red and some
yellow, and M public messages, most of them answered (bench/views.py loads them). Which entity
gets which share follows from its number, so the counts the views must show are known before
anything is sent (:class:`Workload`)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bench.harness import produce_all
from bench.memory import DEPARTMENTS, PLACES, TASK_TOPIC, envelopes, task_created
from midfield.bus.clients import client_config
from midfield.bus.watermarks import topic_end_offsets
from midfield.settings import KafkaSettings, OfficeSettings
from schemas.catalog import topic as catalog_topic
from schemas.envelope import Envelope, EventData
from schemas.events.message import (
    MessageCategory,
    MessageChannel,
    PublicMessageReceived,
    PublicMessageReplied,
)
from schemas.events.task import TaskAssigned, TaskCreated, TaskSigned

__all__ = ["MESSAGE_TOPIC", "Workload", "message", "produce", "reply", "wrap"]

MESSAGE_TOPIC = catalog_topic(PublicMessageReceived.topic).name

# Tasks: i % 20 == 0 overdue (red), i % 20 == 1 due in 1-3 days (yellow: the default warning
# window is 3 days), the rest 30-365 days out (green, as bench.memory makes them); i % 10 < 3
# are also assigned and signed, so that progress can be reported on them. Messages: i % 10 < 3
# come by WeChat with no department (the office answers), the rest from the board with the
# department that must reply; i % 100 < 12 are unanswered and at most 20 days old (the first
# unanswered-message alert comes at 30 days), the others answered, received within 60 days.

TOPICS = ("学区划分咨询", "小区停车位不足", "路灯损坏未修", "夜间施工噪音扰民",
          "医保异地报销咨询", "农村自来水水压低", "占道经营影响通行",
          "公交线路调整建议", "个体户开办流程咨询", "养老金发放时间咨询",
          "垃圾清运不及时", "物业费纠纷求助")  # fmt: skip
ASKS = ("我是本地居民，", "这个问题已经反映多次，", "希望有关部门尽快处理，",
        "请问应该到哪里办理？", "给群众生活带来很大不便，",
        "附近很多住户都有同样的问题，", "盼复，谢谢！")  # fmt: skip
ANSWERS = ("您反映的问题已转相关单位办理，", "经核实，", "已安排工作人员现场处理，",
           "相关政策已在官网公布，", "如有疑问请拨打12345热线，", "感谢您的监督。")  # fmt: skip


def _count(n: int, period: int, below: int) -> int:
    """How many of ``range(n)`` have ``i % period < below``."""
    return (n // period) * below + min(n % period, below)


@dataclass
class Workload:
    """N tasks and M messages (their events), and what the views must then show."""

    tasks: int
    messages: int
    now: datetime
    signed: list[tuple[str, str]] = field(default_factory=list)
    """(task id, lead department) of the signed tasks, filled as the events are made."""

    @property
    def red(self) -> int:
        return _count(self.tasks, 20, 1)

    @property
    def yellow(self) -> int:
        return _count(self.tasks, 20, 2) - self.red

    @property
    def replied(self) -> int:
        return self.messages - _count(self.messages, 100, 12)

    @property
    def events(self) -> int:
        return self.tasks + 2 * _count(self.tasks, 10, 3) + self.messages + self.replied

    def envelopes(self) -> Iterator[Envelope]:
        yield from self._tasks()
        rng = random.Random(13)
        for i in range(self.messages):
            yield from self._message(i, rng)

    def _tasks(self) -> Iterator[Envelope]:
        today = self.now.astimezone(OfficeSettings().zone).date()

        def make(i: int, rng: random.Random, _: date) -> TaskCreated:
            task = task_created(i, rng, today)
            if i % 20 > 1:
                return task
            days = -rng.randint(1, 90) if i % 20 == 0 else rng.randint(1, 3)
            return task.model_copy(update={"deadline": today + timedelta(days=days)})

        for i, created in enumerate(envelopes(self.tasks, self.now, make=make)):
            yield created
            if i % 10 < 3:
                data = created.data
                assert isinstance(data, TaskCreated)
                lead = data.lead_department
                at = created.time + timedelta(microseconds=100)
                yield wrap(TaskAssigned(task_id=data.task_id, actor="office"), f"assign {i}", at)
                yield wrap(TaskSigned(task_id=data.task_id, actor=lead), f"sign {i}", at)
                self.signed.append((data.task_id, lead))

    def _message(self, i: int, rng: random.Random) -> Iterator[Envelope]:
        wechat, answered = i % 10 < 3, i % 100 >= 12
        age = timedelta(seconds=rng.uniform(600, 86_400 * (60 if answered else 20)))
        received = message(
            rng,
            f"wx-{6_900_000_000_000_000_000 + i}" if wechat else f"board-{i:07d}",
            "" if wechat else rng.choice(DEPARTMENTS),
            wechat,
        )
        yield wrap(received, f"message {i}", self.now - age)
        if answered:
            waited = min(timedelta(days=rng.expovariate(0.5)), age * 0.9)
            yield wrap(reply(rng, received), f"reply {i}", self.now - age + waited)


def message(
    rng: random.Random, message_id: str, department: str, wechat: bool = False
) -> PublicMessageReceived:
    """A public message of 20-130 characters, its submitter a digest as the sources make it."""
    return PublicMessageReceived(
        message_id=message_id,
        channel=MessageChannel.wechat if wechat else MessageChannel.board,
        category=rng.choice(list(MessageCategory)),
        title="" if wechat else f"{rng.choice(PLACES)}{rng.choice(TOPICS)}",
        content=f"{rng.choice(PLACES)}{rng.choice(TOPICS)}：{''.join(rng.choices(ASKS, k=3))}",
        submitter="sha256:" + hashlib.sha256(f"bench-{rng.randrange(50_000)}".encode()).hexdigest(),
        department=department,
    )


def reply(rng: random.Random, received: PublicMessageReceived) -> PublicMessageReplied:
    text = "".join(rng.choices(ANSWERS, k=rng.randint(2, 4)))
    return PublicMessageReplied(
        message_id=received.message_id, department=received.department, reply=text
    )


def wrap(data: EventData, position: str, at: datetime) -> Envelope:
    """The event as the bench's source sends it, keyed by its task or message."""
    subject = str(getattr(data, "task_id", None) or getattr(data, "message_id", ""))
    return Envelope.wrap(data, source="midfield://bench/office", position=position,
                         subject=subject, time=at, ingested_at=at)  # fmt: skip


def produce(kafka: KafkaSettings, workload: Workload) -> float:
    """Send the workload; seconds, building the events included."""
    seconds = produce_all(kafka, workload.envelopes(), workload.events)
    ends = topic_end_offsets(client_config(kafka), [TASK_TOPIC, MESSAGE_TOPIC])
    if sum(ends.values()) != workload.events:
        raise SystemExit(f"the topics hold {sum(ends.values()):,} records, not {workload.events:,}")
    return seconds
