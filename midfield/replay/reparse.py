"""Today's parsers for dead letters (``midfield replay redrive``): which letters can be parsed
again, and with what.

A letter is parsed again by the parser of the connector that wrote it (``connector``), as the same
instance (``source``) and at the same position, so what now parses gets exactly the id it would
have had the first time (DESIGN §2): a re-drive run twice, or racing the source re-reading its
input, is applied once.

Re-driven:

* letters of every source whose class gives a parse-only instance (:meth:`Connector.reparser`):
  today ``fax-log`` lines, ``task-sheet`` rows, ``board`` and ``hotline`` export rows; the raw
  input is the whole line or row, and ``parse`` is pure;
* the worker's decode failures (``not-cloudevent``, ``unknown-type``, ``invalid-event``): a record
  today's :meth:`Envelope.from_record` can read (say, an event type the worker learnt since) goes
  back to its topic as it was;
* the worker's ``unknown-department`` notices, once the department is in the directory: the
  notice goes to the outbox it was meant for (``midfield topics create`` makes the topic); while
  the directory still lacks it, the letter stays failing.

Not re-driven, with the reason (the letters stay as they are):

* ``http-intake``: letters of the HTTP intakes (position ``POST …``). The sender was answered 4xx
  and told to correct and resend; an event made of it now would be one the sender believes
  refused, and maybe a second one beside its corrected request.
* ``document-intake``: letters of sources that keep documents (``keeps_documents``: ``fax-mail``
  and ``telegram``). Their events reference a file the reader keeps in the document store (the
  TIFF, the PDF); put the mail or the cover sheet back into the Maildir or the drop directory and
  the source makes the same ids.
* ``input-cut``: the letter kept only the first part of a huge input (``raw_truncated``).
* ``verdict``: the worker's other letters are the books' refusals (an illegal step), not parse
  failures: re-sending the event would be refused again; so are the letters of any other
  connector without a parse-only instance (sinks, processors).
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.runtime.source import RawRecord, Skip, Source
from connectors.sources import SOURCES
from midfield.departments import Directory, load_directory
from midfield.errors import NotRedrivable, ParseError
from midfield.settings import Settings
from schemas.catalog import outbox
from schemas.deadletter import OUTBOX_META, UNKNOWN_DEPARTMENT, DeadLetter
from schemas.envelope import DecodeError, Envelope

__all__ = ["Reparse", "reparser"]

Reparse = Callable[[DeadLetter], list[Envelope] | Skip]
"""A letter -> the events today's parser makes of its input (or a skip); ``ParseError`` when it
still fails."""

WORKER_DECODE = frozenset({"not-cloudevent", "unknown-type", "invalid-event"})


def reparser(settings: Settings) -> Reparse:
    """The re-drive parser for ``settings``: each source instance built once, on first use."""
    sources: dict[tuple[str, str], Source | None] = {}
    directory = load_directory(settings.departments)

    def source_for(connector: str, instance: str) -> Source | None:
        key = (connector, instance)
        if key not in sources:
            registered = SOURCES.get(connector)
            sources[key] = registered.reparser(instance, settings) if registered else None
        return sources[key]

    def reparse(letter: DeadLetter) -> list[Envelope] | Skip:
        if letter.raw_truncated:
            raise NotRedrivable("input-cut", f"only {len(letter.raw)} of {letter.raw_size} kept")
        if letter.connector == "worker" and letter.reason == UNKNOWN_DEPARTMENT:
            return [_notice_again(letter, directory)]
        if letter.connector == "worker":
            return [_decode_again(letter)]
        if letter.position.startswith("POST "):
            raise NotRedrivable("http-intake", "the sender was answered 4xx and resends")
        registered = SOURCES.get(letter.connector)
        if registered is not None and registered.keeps_documents:
            raise NotRedrivable("document-intake", "put the input back into its folder")
        instance = letter.source.removeprefix(f"midfield://{letter.connector}/")
        source = source_for(letter.connector, instance)
        if source is None:
            raise NotRedrivable("verdict", f"{letter.connector} letters are no parse failures")
        record = RawRecord(letter.raw_bytes(), letter.position, {}, dict(letter.meta))
        result = source.parse(record)
        return result if isinstance(result, Skip | list) else [result]

    return reparse


def _notice_again(letter: DeadLetter, directory: Directory) -> Envelope:
    """The notice, once the directory has the department whose outbox the letter names."""
    notice = _decode_again(letter)
    target = letter.meta[OUTBOX_META]
    if not any(outbox(code) == target for code in directory.codes):
        raise ParseError(UNKNOWN_DEPARTMENT, f"no department of the directory has {target}")
    return notice


def _decode_again(letter: DeadLetter) -> Envelope:
    if letter.reason not in WORKER_DECODE | {UNKNOWN_DEPARTMENT}:
        raise NotRedrivable("verdict", f"the books refused it ({letter.reason})")
    headers = [(k, v.encode()) for k, v in letter.meta.items() if k != OUTBOX_META]
    try:
        return Envelope.from_record(headers, letter.raw_bytes())
    except DecodeError as exc:
        raise ParseError(exc.reason, str(exc)) from exc
