"""jieba (~20 MB imported, ~50 MB and 1.5–3 s with its dictionary) is loaded by a worker only when
a message or work order with a text needs cutting, or a suggestion is asked for: a worker that
holds only tasks (bench/memory.py) never pays for it. Each check runs in a fresh interpreter,
since other tests in this process have imported jieba long before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
    import sys
    from datetime import UTC, date, datetime

    from midfield.settings import Settings
    from schemas.envelope import Envelope
    from schemas.events.task import TaskCreated
    from streams.books.registry import BOOKS, process
    from streams.worker.app import create_app

    app = create_app(Settings())
    assert app.books["dispatches"].summary is not None
    tables = {b.name: {} for b in BOOKS}
    task = TaskCreated(task_id="DC-lazy-1", actor="office", title="修路", lead_department="edu",
                       deadline=date(2025, 7, 1))
    envelope = Envelope.wrap(task, source="midfield://lazy", position="0", subject="DC-lazy-1",
                             time=datetime(2025, 6, 2, 9, tzinfo=UTC))
    process(tables, envelope.topic, envelope, Settings(), source="midfield://lazy")
    print("jieba imported:", "jieba" in sys.modules)
"""

MESSAGE = """
    from schemas.events.message import PublicMessageReceived

    message = PublicMessageReceived(message_id="board-lazy-1", channel="board", title="路灯不亮")
    envelope = Envelope.wrap(message, source="midfield://lazy", position="1",
                             subject="board-lazy-1", time=datetime(2025, 6, 2, 9, tzinfo=UTC))
    process(tables, envelope.topic, envelope, Settings(), source="midfield://lazy")
    print("jieba imported:", "jieba" in sys.modules)
"""


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    marked = "jieba imported: "  # the worker logs to stdout too
    return [
        line.removeprefix(marked) for line in done.stdout.splitlines() if line.startswith(marked)
    ]


def test_a_worker_that_holds_only_tasks_never_imports_jieba() -> None:
    assert _run(WORKER) == ["False"]


def test_the_first_message_with_a_text_imports_it() -> None:
    """The check above can fail: the same worker imports jieba at its first message."""
    assert _run(WORKER + MESSAGE) == ["False", "True"]
