"""A county's weeks of messages, work orders, tasks and faxes for the weekly brief's tests, made
by the books' own ``process()`` from real events (so the books have the shape the worker
writes), with the envelopes kept for a real worker (tests/integration/test_brief.py).

:func:`county` is the standard sample: eight ordinary weeks and the brief's week, in which a
burst of 学区划分 messages comes from one township (桃源镇), beside a large steady topic
(噪音扰民, ~40 a week in every week) and a scatter of others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from midfield.settings import Settings
from schemas.envelope import Envelope, EventData
from schemas.events import task as task_events
from schemas.events.fax import FaxReceived
from schemas.events.message import MessageChannel, PublicMessageReceived, PublicMessageReplied
from schemas.events.task import OFFICE
from schemas.events.workorder import WorkOrderStepped
from streams.books.registry import NAMES, process
from streams.brief.week import Week

__all__ = ["WEEK", "ZONE", "County", "county"]

T = TypeVar("T")

ZONE = ZoneInfo("Asia/Shanghai")
WEEK = Week(2026, 49, ZONE)
"""The brief's week: Monday 30 November to Sunday 6 December 2026."""
NOW = WEEK.end - timedelta(hours=7)  # Sunday 17:00
STEADY = ("城关镇新华小区夜间施工噪音扰民", "新华街道广场舞噪音扰民", "城关镇东街商铺噪音扰民")
OTHERS = (
    "青山乡河道垃圾清理",
    "城东路路灯不亮",
    "公交站台破损",
    "农村低保申请",
    "医保报销咨询",
    "小区停车位不足",
    "自来水水压偏低",
    "桃源镇集市占道经营",
)


@dataclass
class County:
    """Books made from events as the worker would, and the events themselves, in order."""

    settings: Settings = field(default_factory=Settings)
    tables: dict[str, dict[str, Any]] = field(default_factory=lambda: {n: {} for n in NAMES})
    envelopes: list[Envelope] = field(default_factory=list)

    def apply(self, data: EventData, subject: str, at: datetime) -> None:
        envelope = Envelope.wrap(
            data,
            source="midfield://test/brief",
            position=f"{subject}/{len(self.envelopes)}",
            subject=subject,
            time=at,
            ingested_at=at,
        )
        out = process(self.tables, envelope.topic, envelope, self.settings, source="midfield://t")
        assert not out.refusals, out.refusals
        for (book, key), value in out.writes.items():
            self.tables[book][key] = value
        self.envelopes.append(envelope)

    def books(self) -> dict[str, list[dict[str, Any]]]:
        return {name: list(entities.values()) for name, entities in self.tables.items()}

    def message(
        self,
        mid: str,
        at: datetime,
        title: str,
        content: str = "",
        department: str = "edu",
        replied_after: timedelta | None = None,
    ) -> None:
        self.apply(
            PublicMessageReceived(
                message_id=mid,
                channel=MessageChannel.board,
                title=title,
                content=content,
                department=department,
            ),
            mid,
            at,
        )
        if replied_after is not None:
            reply = PublicMessageReplied(message_id=mid, department=department, reply="已答复")
            self.apply(reply, mid, at + replied_after)

    def order(
        self,
        number: str,
        at: datetime,
        note: str,
        unit: str,
        *,
        closed_after: timedelta | None = None,
        satisfaction: str | None = None,
    ) -> None:
        steps: list[tuple[dict[str, Any], timedelta]] = [
            ({"step": "accepted", "category": "help", "note": note}, timedelta(0)),
            ({"step": "dispatched", "units": [unit]}, timedelta(minutes=10)),
        ]
        if closed_after is not None:
            steps += [
                ({"step": "signed", "unit": unit}, timedelta(hours=1)),
                ({"step": "replied", "unit": unit}, closed_after),
            ]
            if satisfaction:
                steps.append(
                    (
                        {"step": "callback", "satisfaction": satisfaction},
                        closed_after + timedelta(hours=2),
                    )
                )
            steps.append(({"step": "closed"}, closed_after + timedelta(hours=3)))
        for fields, after in steps:
            self.apply(WorkOrderStepped(order_number=number, **fields), number, at + after)

    def task(
        self,
        task_id: str,
        title: str,
        lead: str,
        created: datetime,
        deadline: date,
        percent: int,
        *,
        closed: datetime | None = None,
    ) -> None:
        self.apply(
            task_events.TaskCreated(
                task_id=task_id, actor=OFFICE, title=title, lead_department=lead, deadline=deadline
            ),
            task_id,
            created,
        )
        self.apply(task_events.TaskAssigned(task_id=task_id, actor=OFFICE), task_id, created)
        self.apply(
            task_events.TaskSigned(task_id=task_id, actor=lead),
            task_id,
            created + timedelta(hours=1),
        )
        self.apply(
            task_events.TaskProgressReported(
                task_id=task_id, actor=lead, percent=percent, text="推进中"
            ),
            task_id,
            created + timedelta(days=1),
        )
        if closed is not None:
            self.apply(
                task_events.TaskCompletionReported(task_id=task_id, actor=lead, text="已完成"),
                task_id,
                closed - timedelta(hours=2),
            )
            self.apply(
                task_events.TaskReviewed(task_id=task_id, actor=OFFICE, accepted=True),
                task_id,
                closed - timedelta(hours=1),
            )
            self.apply(task_events.TaskClosed(task_id=task_id, actor=OFFICE), task_id, closed)

    def fax(self, commid: str, at: datetime) -> None:
        self.apply(
            FaxReceived(
                commid=commid,
                device="ttyS0",
                document=f"recvq/{commid}.tif",
                remote_station="+86 551 2345678",
                pages=2,
                duration_s=60,
                connect_s=55,
                line="05511234567",
            ),
            commid,
            at,
        )


def _at(rng: random.Random, week: Week) -> datetime:
    return week.start + timedelta(minutes=rng.randrange(7 * 24 * 60 - 8 * 60))


def _one(rng: random.Random, options: tuple[T, ...]) -> T:
    """One of ``options``: a single one is no draw (it takes nothing from ``rng``)."""
    return options[0] if len(options) == 1 else rng.choice(options)


def _asked(
    made: County,
    rng: random.Random,
    week: Week,
    name: str,
    titles: tuple[str, ...],
    department: str,
    days: tuple[int, ...],
) -> None:
    """A message ``m-<week>-<name>`` at a random time of ``week``, on one of ``titles``, to
    ``department``, answered after one of ``days``."""
    at = _at(rng, week)
    title = _one(rng, titles)
    answered = timedelta(days=_one(rng, days))
    made.message(f"m-{week.label}-{name}", at, title, department=department, replied_after=answered)


def county(*, burst: int = 24, seed: int = 7, week: Week = WEEK) -> County:
    """Nine weeks of a county (``week`` and the eight before); ``burst`` 学区划分 messages from
    桃源镇 in ``week`` (0: an ordinary week)."""
    rng = random.Random(seed)
    made = County()
    brief_week = week
    for back in range(8, -1, -1):
        week = brief_week.before(back)
        for n in range(40 + rng.randrange(-3, 4)):
            _asked(made, rng, week, f"steady-{n}", STEADY, "env", (2,))
        for n in range(12):
            _asked(made, rng, week, f"other-{n}", OTHERS, "housing", (1, 9))
        if back == 0 or rng.random() < 0.3:  # 学区 now and then, never many
            _asked(made, rng, week, "school", ("学区房过户咨询",), "edu", (1,))
        for n in range(8):
            made.order(
                f"12345-{week.label}-{n}",
                _at(rng, week),
                rng.choice(OTHERS),
                "water",
                closed_after=timedelta(days=2),
                satisfaction="satisfied" if back == 0 or n % 2 else "dissatisfied",
            )
    _concerns(made, brief_week)
    for n in range(burst):
        made.message(
            f"m-burst-{n}",
            brief_week.start + timedelta(days=1, hours=n % 48),
            "学区划分咨询",
            f"桃源镇学区划分怎么定的？我家孩子明年上小学，电话1390000{n:04d}",
            department="edu",
            replied_after=timedelta(days=1),
        )
    return made


def _concerns(made: County, week: Week) -> None:
    """重点 and 亮点 of WEEK: a red, a yellow and an early-closed task, two faxes past their
    time limit, an order past its last day and one due tomorrow, two messages of 'agri' waiting
    past the on-time limit."""
    start, day, now = week.start, timedelta(days=1), week.end - timedelta(hours=7)
    made.task(
        "DC-red", "汛前病险水库除险加固", "water", start - 60 * day, (start - 3 * day).date(), 40
    )
    made.task("DC-yellow", "乡镇卫生院能力提升", "health", start - 60 * day, (now + day).date(), 80)
    made.task(
        "DC-green", "城区学校扩容工程", "edu", start - 10 * day, (start + 90 * day).date(), 20
    )
    made.task(
        "DC-early",
        "农村公路安防工程",
        "transport",
        start - 30 * day,
        (start + 20 * day).date(),
        90,
        closed=start + 2 * day,
    )
    made.fax("fax-late-1", start - 20 * day)
    made.fax("fax-late-2", start - 15 * day)
    made.order("12345-late", start - 20 * day, "城东路积水", "water")
    made.order("12345-soon", now - 5 * day, "路灯不亮", "housing")
    for n in range(2):
        made.message(f"m-agri-late-{n}", start - (10 + n) * day, "农机补贴申请", department="agri")
