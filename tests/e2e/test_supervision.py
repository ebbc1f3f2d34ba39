"""Supervision end to end, every part a real process: the office creates an overdue task through
the tasks API, the worker's ledger turns it red and reminds, the department sink delivers the
notices to a department's endpoint that verifies each signature; across a worker restart the
department keeps one notice per step (a re-delivery carries the same webhook-id)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from midfield.broker import free_port
from tests import harness
from tests.webhooks import Receiver


@contextmanager
def _running(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    proc = harness.spawn_cli(args, env, cwd=cwd)
    try:
        yield proc
    finally:
        harness.stop_processes(proc)


def test_overdue_task_reaches_the_department_once_signed_across_a_worker_restart(
    catalog_topics: harness.Broker, workdir: Path, unique: str
) -> None:
    lead = f"e{unique}"
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()
    with Receiver() as receiver:
        directory = harness.departments_file(
            workdir / "departments.toml",
            {lead: "lead-key"},
            **{lead: {"webhook_url": receiver.url, "webhook_secret": receiver.secret}},
        )
        env = harness.midfield_env(
            catalog_topics,
            workdir,
            MIDFIELD_DEPARTMENTS_FILE=str(directory),
            MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S="0.5",
            MIDFIELD_SINK_BACKOFF_FIRST_S="0.1",
        )
        api_port = free_port()
        api = f"http://127.0.0.1:{api_port}"
        office = {"Authorization": "Bearer office-key"}
        worker = harness.WorkerProcess(
            catalog_topics,
            workdir,
            app_id=f"sup-{unique}",
            env_extra={
                k: v
                for k, v in env.items()
                if k.startswith("MIDFIELD_") and k not in ("MIDFIELD_LOG_FORMAT",)
            },
        )
        with (
            _running(["connect", "tasks", "--port", str(api_port)], env, workdir),
            _running(["sink", "department", "--department", lead], env, workdir),
        ):
            worker.start()
            try:
                harness.wait_for(
                    lambda: harness.http_get(api + "/ready")[0] == 200, timeout=60, what="API"
                )
                task_id = f"DC-{unique}"
                assert (
                    harness.http_post(
                        api + "/tasks",
                        {
                            "task_id": task_id,
                            "title": "汛前除险加固",
                            "deadline": yesterday,
                            "lead_department": lead,
                        },
                        headers=office,
                    )[0]
                    == 201
                )
                assert (
                    harness.http_post(
                        api + f"/tasks/{task_id}/assign", {"instruction": "即办"}, headers=office
                    )[0]
                    == 202
                )

                def steps() -> Counter[str]:
                    """Each step as the department keeps it: delivery is at least once, a
                    re-delivery (a retry after a lost answer, a worker stopped before its
                    commit) carries the same webhook-id and is dropped there (departments.md
                    "Duplicates"); a second id for one step would count twice."""
                    kept = {
                        g.headers["webhook-id"]: g.event["data"]["step"]
                        for g in receiver.delivered()
                        if g.event and g.task == task_id
                    }
                    return Counter(kept.values())

                harness.wait_for(
                    lambda: steps() == {"assigned": 1, "reminded": 1},
                    timeout=60,
                    what="the assignment and the reminder delivered",
                )
                assert all(g.event is not None for g in receiver.got), "a signature failed"

                worker.stop()
                worker.start().wait_ready()
                time.sleep(3)  # six reminder checks on the restarted worker
                assert steps() == {"assigned": 1, "reminded": 1}
                [reminder] = {  # one reminder as the department keeps it: by webhook-id
                    g.headers["webhook-id"]: g.event
                    for g in receiver.delivered()
                    if g.event and g.event["data"]["step"] == "reminded"
                }.values()
                assert reminder["data"]["light"] == "red"
                assert reminder["data"]["message"] == "overdue by 1 day"
                assert reminder["type"] == "cn.gov.county.office.supervision.task.notice.v1"
            finally:
                worker.stop()
