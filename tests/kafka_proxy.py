"""A pass-through Kafka-protocol proxy so librdkafka < 2.2.0 (Debian's kcat) can talk to Tansu.

librdkafka up to 2.1.1 skips ``taglen - 1`` bytes per KIP-482 tagged field instead of
``taglen`` (confluentinc/librdkafka#4253, fixed by #4278 in 2.2.0). Tansu's ApiVersions v3
answer carries four tagged fields, all at their default values, which Apache Kafka leaves out;
on the 8-byte ``FinalizedFeaturesEpoch = -1`` the misaligned reader takes ``ff…ff 02`` for a
length and fails with "Read underflow". docs/brokers.md has the byte-level walk-through.

The proxy forwards every frame untouched except two, and never invents or alters records:

* the ApiVersions v3+ response loses its trailing tagged fields (tag count set to 0): the
  fields Tansu sends there are defaults, so per the protocol the answer means the same;
* Metadata responses advertise the proxy's port instead of the broker's (what every Kafka proxy
  does), so the client's next connection comes back through the proxy. The port is a fixed
  int32, so the frame keeps its length.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from dataclasses import dataclass, field

__all__ = ["KafkaProxy"]

API_VERSIONS = 18
METADATA = 3
METADATA_FIRST_FLEXIBLE = 9
NAMES = {API_VERSIONS: "ApiVersions", METADATA: "Metadata"}

Asked = dict[int, tuple[int, int]]  # correlation id -> (api key, api version)


@dataclass
class KafkaProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to ``upstream`` ("host:port")."""

    upstream: str
    port: int = 0
    rewritten: list[str] = field(default_factory=list)  # "ApiVersions v3", "Metadata v4", …

    def __post_init__(self) -> None:
        host, _, port = self.upstream.rpartition(":")
        self._up_host, self._up_port = host, int(port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> KafkaProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _stop(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            broker_r, broker_w = await asyncio.open_connection(self._up_host, self._up_port)
        except OSError:
            client_w.close()
            self._tasks.discard(task)
            return
        asked: Asked = {}
        directions = [
            asyncio.create_task(self._requests(client_r, broker_w, asked)),
            asyncio.create_task(self._responses(broker_r, client_w, asked)),
        ]
        try:  # until either side hangs up
            await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for direction in directions:
                direction.cancel()
            await asyncio.gather(*directions, return_exceptions=True)
            for writer in (client_w, broker_w):
                writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _frame(reader: asyncio.StreamReader) -> bytes:
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        return await reader.readexactly(size)

    async def _requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, asked: Asked
    ) -> None:
        while True:
            body = await self._frame(reader)
            key, version, correlation = struct.unpack(">hhi", body[:8])
            asked[correlation] = (key, version)
            writer.write(struct.pack(">i", len(body)) + body)
            await writer.drain()

    async def _responses(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, asked: Asked
    ) -> None:
        while True:
            body = await self._frame(reader)
            (correlation,) = struct.unpack(">i", body[:4])
            key, version = asked.pop(correlation, (-1, -1))
            body = self._rewrite(key, version, body)
            writer.write(struct.pack(">i", len(body)) + body)
            await writer.drain()

    def _rewrite(self, key: int, version: int, body: bytes) -> bytes:
        try:
            if key == API_VERSIONS and version >= 3:
                new = _without_apiversions_tags(body)
            elif key == METADATA:
                new = _with_port(body, version, self._up_port, self.port)
            else:
                return body
        except (IndexError, struct.error):  # not the shape we expect: leave it alone
            return body
        if new != body:
            self.rewritten.append(f"{NAMES[key]} v{version}")
        return new


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _without_apiversions_tags(body: bytes) -> bytes:
    """ApiVersions v3+ response (header v0): correlation id, error code, compact array of
    (key, min, max, tags), throttle time, tags. Returns it with the top-level tag count 0;
    raises IndexError when the frame does not parse exactly to its end."""
    pos = 4 + 2
    count, pos = _uvarint(body, pos)
    for _ in range(max(count - 1, 0)):
        pos += 6
        tags, pos = _uvarint(body, pos)
        for _ in range(tags):
            _, pos = _uvarint(body, pos)
            size, pos = _uvarint(body, pos)
            pos += size
    pos += 4  # throttle_time_ms
    if _skip_tags(body, pos) != len(body):
        raise IndexError("not an ApiVersions v3 response")
    return body[:pos] + b"\x00"


def _with_port(body: bytes, version: int, old: int, new: int) -> bytes:
    """Metadata response: every broker advertised on port ``old`` now says ``new``."""
    flexible = version >= METADATA_FIRST_FLEXIBLE
    out = bytearray(body)
    pos = 4
    if flexible:  # response header v1: tagged fields after the correlation id
        pos = _skip_tags(body, pos)
    if version >= 3:
        pos += 4  # throttle_time_ms
    if flexible:
        count, pos = _uvarint(body, pos)
        count -= 1
    else:
        (count,) = struct.unpack_from(">i", body, pos)
        pos += 4
    for _ in range(count):
        pos += 4  # node_id
        pos = _skip_string(body, pos, flexible)
        (port,) = struct.unpack_from(">i", body, pos)
        if port == old:
            struct.pack_into(">i", out, pos, new)
        pos += 4
        if version >= 1:
            pos = _skip_string(body, pos, flexible)  # rack (nullable)
        if flexible:
            pos = _skip_tags(body, pos)
    return bytes(out)


def _skip_string(body: bytes, pos: int, flexible: bool) -> int:
    if flexible:
        size, pos = _uvarint(body, pos)
        return pos + max(size - 1, 0)
    short: int = struct.unpack_from(">h", body, pos)[0]
    return pos + 2 + max(short, 0)


def _skip_tags(body: bytes, pos: int) -> int:
    tags, pos = _uvarint(body, pos)
    for _ in range(tags):
        _, pos = _uvarint(body, pos)
        size, pos = _uvarint(body, pos)
        pos += size
    return pos
