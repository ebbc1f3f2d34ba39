"""The books' changelog records: one per entity (faust's own), or a segment holding many.

faust writes one changelog record per table write, keyed by the entity. A batch of 500 mixed
events touches ~600 entities, most of them new (a fax is an item and a duty-log entry), so one
record per entity is ~1.2 records per event: the producer's work per record, the broker's, and
a recovery that reads one record per entity. The live worker writes a batch's books of one
table and partition as one **segment** record instead (streams/worker/segments.py): its key is
``~segment/<n>``, its value ``{"books": {"<entity>": <book or null>, …}}``, plain JSON like any
book. Segment numbers are used again once every entity in a segment was written in a later
one, so a compacting broker keeps one record per segment number, and recovery stays bounded by
the books, not the history (docs/performance.md).

Reading a changelog is :func:`fold`: records in log order,
a later one winning; a segment's ``null`` deletes its entity; a tombstone on an entity's own
key deletes it, unless the entity has since been written in a segment (the worker tombstones
the per-entity record an entity had before segments, once its segment is sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

__all__ = [
    "MAX_SEGMENT_BYTES",
    "PRODUCER_BATCH_BYTES",
    "SEGMENT_PREFIX",
    "fold",
    "is_segment",
    "segment_books",
    "segment_id",
    "segment_key",
    "segment_value",
    "segments",
]

MAX_SEGMENT_BYTES = 512 * 1024
"""A segment's books in JSON, at most (one book larger than that is a segment of its own): half
of Kafka's default largest record (1 MiB, ``max.message.bytes``), whatever else it carries."""

PRODUCER_BATCH_BYTES = 960 * 1024
"""A producer's batch of changelog records, at most: above a segment, under Kafka's default
largest record batch (``message.max.bytes``, 1,000,012 bytes). aiokafka makes a partition's next
record wait until its full batch is sent: at faust's 16 KiB every segment waited for the last."""

SEGMENT_PREFIX = "~segment/"
"""No entity's id starts with ``~``: faxes, telegrams, tasks, orders and messages are numbered."""


def segment_key(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number}"


def is_segment(key: object) -> bool:
    return isinstance(key, str) and key.startswith(SEGMENT_PREFIX)


def segment_id(key: str) -> int:
    """The number of segment ``key`` (:func:`is_segment`)."""
    return int(key[len(SEGMENT_PREFIX) :])


def segment_value(entries: Iterable[tuple[str, bytes | None]]) -> bytes:
    """A segment's value from each entity's book as JSON bytes (``None``: deleted), in order,
    without decoding them again."""
    parts = [orjson.dumps(key) + b":" + (book if book is not None else b"null")
             for key, book in entries]  # fmt: skip
    return b'{"books":{' + b",".join(parts) + b"}}"


def segments(
    entries: Iterable[tuple[str, bytes | None]], limit: int = MAX_SEGMENT_BYTES
) -> Iterator[list[tuple[str, bytes | None]]]:
    """``(entity, book JSON)`` entries cut into segments of at most ``limit`` bytes of books."""
    chunk: list[tuple[str, bytes | None]] = []
    size = 0
    for key, book in entries:
        n = len(book) if book is not None else 4
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append((key, book))
        size += n
    if chunk:
        yield chunk


def segment_books(value: Any) -> Mapping[str, Any]:
    """The books of a segment's decoded value; a value that is not a segment's is an error,
    never read as if it were empty."""
    books = value.get("books") if isinstance(value, dict) else None
    if not isinstance(books, dict):
        raise ValueError(f"a changelog segment's value is not {{'books': {{…}}}}: {value!r:.80}")
    return books


def fold(records: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The books a changelog's ``(key, decoded value)`` records leave, in log order (``None``:
    a tombstone). What a worker's recovery loads."""
    books: dict[str, Any] = {}
    in_segment: set[str] = set()
    for key, value in records:
        if is_segment(key):
            if value is None:  # a segment no entity lives in any more
                continue
            for entity, book in segment_books(value).items():
                in_segment.add(entity)
                if book is None:
                    books.pop(entity, None)
                else:
                    books[entity] = book
        elif value is None:
            if key not in in_segment:  # else: the per-entity record it had before, cleaned up
                books.pop(key, None)
        else:
            in_segment.discard(key)
            books[key] = value
    return books
