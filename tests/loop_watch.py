"""Watching the event loop from a unit test: a task that notes each turn the loop gives it
while a block runs (work done in steps lets others run between them: streams/worker/turns.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any


class LoopWatch:
    """``async with LoopWatch(look) as watch:``: ``watch.seen`` holds ``look()`` at each turn
    the block gave the loop (the count of turns when ``look`` is not given)."""

    def __init__(self, look: Callable[[], Any] | None = None) -> None:
        self.look = look
        self.seen: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def turns(self) -> int:
        return len(self.seen)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)  # the watch starts before the block
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        assert self._task is not None
        self._task.cancel()

    async def _watch(self) -> None:
        while True:
            self.seen.append(self.turns if self.look is None else self.look())
            await asyncio.sleep(0)
