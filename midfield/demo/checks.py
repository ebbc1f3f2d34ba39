"""What ``midfield demo`` watches and checks over HTTP and on the broker: the fax entries in the
duty log against the events and dead letters on the topics, the ledger's lights and the public
messages received. Every read uses the demo's own reading key.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from midfield.bus.clients import client_config
from midfield.bus.watermarks import topic_end_offsets
from midfield.demo.directory import READER_KEY
from midfield.settings import KafkaSettings
from schemas.catalog import DEADLETTER

__all__ = ["Watch", "get", "light_counts", "messages_received", "wait"]


def get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {READER_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


def wait(predicate: Any, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class Watch:
    """Prints the live summary whenever it changes: events and dead letters on the broker, fax
    entries in the duty log of ``day`` at the worker's ``url``."""

    def __init__(self, url: str, kafka: KafkaSettings, day: str, started: float) -> None:
        self.url, self.kafka, self.day, self.started = url, kafka, day, started
        self.last: dict[str, int] = {}
        self.first_entry_s: float | None = None

    def poll(self) -> tuple[int, int]:
        counts = self.counts()
        if self.first_entry_s is None and counts["entries"]:
            self.first_entry_s = round(time.monotonic() - self.started, 2)
            click.echo(
                f"  first entry answered over HTTP {self.first_entry_s:.1f} s "
                "after the broker started"
            )
        if counts != self.last:
            click.echo(
                f"  events in {counts['events']:3}   dead letters {counts['dead_letters']:2}"
                f"   fax entries in the duty log {counts['entries']:3}"
            )
            self.last = counts
        return counts["entries"], counts["dead_letters"]

    def counts(self) -> dict[str, int]:
        ends = topic_end_offsets(client_config(self.kafka), ["office.intake.fax.v1", DEADLETTER])
        return {
            "events": sum(v for (t, _), v in ends.items() if t != DEADLETTER),
            "dead_letters": sum(v for (t, _), v in ends.items() if t == DEADLETTER),
            "entries": sum(e["channel"] == "fax" for e in self.entries()),
        }

    def entries(self) -> list[dict[str, Any]]:
        """The duty log of the day, page after page (``[]`` while the worker does not answer)."""
        found: list[dict[str, Any]] = []
        query = {"date": self.day, "limit": "1000"}
        while body := get(f"{self.url}/duty-log?{urllib.parse.urlencode(query)}"):
            found += body["entries"]
            if body["next"] is None:
                return found
            query["after"] = body["next"]
        return found


def messages_received(url: str) -> int:
    return int(((get(f"{url}/reply-rate?period=all") or {}).get("total") or {}).get("received", 0))


def light_counts(url: str) -> dict[str, int]:
    return dict((get(f"{url}/ledger") or {}).get("lights", {}))
