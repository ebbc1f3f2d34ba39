"""A real headless Chromium driven over the Chrome DevTools Protocol (CDP), for the tests that
must act as a person would: type a password, press a button, keep a cookie, read the page.

Debian's Chromium (installed by ``make system-deps``) is started with a private profile and
``--remote-debugging-port=0`` on 127.0.0.1; the protocol runs over aiohttp's WebSocket client.
Only the few CDP methods the tests need: Page.navigate, Runtime.evaluate,
Page.captureScreenshot, Network.getCookies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["CHROMIUM", "Browser", "browser"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class Browser:
    """One page of a running Chromium."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send one CDP command and wait for its answer (events meanwhile are kept)."""
        n = next(self._ids)
        await self._ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = await self._ws.receive_json(timeout=max(deadline - time.monotonic(), 0.1))
            if message.get("id") == n:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    async def goto(self, url: str) -> None:
        """Navigate and wait until the page (and what its script fetches first) has loaded."""
        await self.call("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll ``expression`` in the page until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):  # the page may be between documents
                value = await self.evaluate(expression)
                if value:
                    return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {expression}")

    async def url(self) -> str:
        return str(await self.evaluate("location.href"))

    async def cookies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self.call("Network.getCookies"))["cookies"]
        return found

    async def screenshot(self, path: Path, width: int = 1400, height: int = 1100) -> None:
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    """A fresh Chromium (its own empty profile) with one page; stopped afterwards."""
    assert CHROMIUM is not None, "no Chromium: `make system-deps` installs it"
    profile = tempfile.mkdtemp(prefix="midfield-chromium-")
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = await asyncio.get_running_loop().run_in_executor(None, _endpoint, proc)
        port = endpoint.split(":")[2].split("/")[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as answer:
                pages = [t for t in await answer.json() if t["type"] == "page"]
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Browser(ws)
                await page.call("Page.enable")
                await page.call("Network.enable")
                yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _endpoint(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The browser's DevTools address, from the line Chromium prints on start."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if match := _LISTENING.search(line):
            # keep reading what it prints, or a full pipe would stop it
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return match.group(1)
    raise AssertionError("Chromium did not start:\n" + "".join(seen[-20:]))
