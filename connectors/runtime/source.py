"""The contract every source implements: a pure ``parse`` and a ``read`` over the real input.

A source is one module in ``connectors/sources/`` holding one :class:`Source` subclass; the
registry in ``connectors/sources/__init__.py`` names it. The runtime
(:mod:`connectors.runtime.runner`) does everything else: producing, dead letters, retries and the
position. Copy ``connectors/sources/fax_log.py`` when adding a source.

What each outcome means to the runtime:

* ``parse`` returns an :class:`Envelope` -> produced to ``envelope.topic``, key ``subject``.
* ``parse`` returns a list of envelopes -> each produced (one input, several events: a withheld
  telegram's quarantine record and its alert); the position moves once the broker has all.
* ``parse`` returns a :class:`Skip` -> a documented skip (e.g. SEND lines in the fax log),
  counted by its reason, nothing produced.
* ``parse`` raises :class:`midfield.errors.ParseError` -> a dead letter with the reason and
  the raw bytes; the position still advances.
* ``read`` yields ``None`` -> "nothing new right now": the runtime flushes and commits.
* ``read`` returns -> end of input (only when ``follow`` is false): commit and stop.
* ``read`` raises :class:`midfield.errors.StoreError` -> the input cannot be read; stop.
* ``committed(position)`` is called after a position is saved: a source that must act on its
  input once the broker has it (move a drop file to ``done/``, mark a mail seen) does it there.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, NotRequired, TypedDict, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings

from connectors.runtime.deployment import Deployment
from midfield.clock import Clock, utc_now
from midfield.errors import StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope, EventData

__all__ = [
    "NO_INPUT",
    "Clock",
    "Connector",
    "Place",
    "Position",
    "RawRecord",
    "ReadOnceOptions",
    "Reading",
    "Skip",
    "Source",
    "SourceOptions",
    "at_office",
    "unreadable_stops",
    "utc_now",
]

Position = dict[str, Any]
"""Where to resume reading: JSON-serialisable, understood only by the source that wrote it."""

NO_INPUT = Path(os.devnull)
"""The input of a parse-only source (:meth:`Connector.reparser`): it never opens it."""

Reading = Generator["RawRecord | None", None, None]
"""What ``read`` returns: a generator, so the runtime can close it (and its file) early."""

R = TypeVar("R")


def unreadable_stops(
    reading: Generator[R, None, None], what: str, *, then: Callable[[], None] = lambda: None
) -> Generator[R, None, None]:
    """``reading`` with an input that cannot be read (``OSError``) raised as the
    :class:`StoreError` ``input-unreadable`` that stops the runtime, ``what: error``; ``then``
    (closing a watch) runs however it ends, closed early included."""
    try:
        yield from reading
    except OSError as exc:
        raise StoreError(f"{what}: {exc}", reason="input-unreadable") from exc
    finally:
        then()


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One unit of raw input as read, before parsing."""

    raw: bytes
    where: str
    """Human-readable position of this record (e.g. ``inode 1234 offset 5678``)."""
    resume: Position
    """Where to resume after this record; committed once the broker has it."""
    meta: dict[str, str] = field(default_factory=dict)
    """Input headers worth keeping in a dead letter (file name, mail headers)."""


@dataclass(frozen=True, slots=True)
class Skip:
    """A documented skip: input that is valid but is not an event for the bus."""

    reason: str


class SourceOptions(BaseModel):
    """What ``midfield connect <source>`` takes. A source's subclass adds the options naming its
    input; each field becomes a command-line option, its description the option's help."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: str = Field(
        "main", description="Names this connector in event sources and its offset file."
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Serve Prometheus /metrics on this 127.0.0.1 port."
    )


class ReadOnceOptions(SourceOptions):
    """Options of a source that reads files or folders (DESIGN §7: every such source has --once)."""

    once: bool = Field(False, description="Read to the end, commit, exit 0 (imports, tests).")


class Place(TypedDict):
    """Where a connector instance stands: its name, the office's time zone, its clock. A
    source's constructor takes it as ``**place: Unpack[Place]`` beside its own arguments and
    hands it to :class:`Connector`."""

    instance: str
    zone: ZoneInfo
    clock: NotRequired[Clock]


def at_office(instance: str, settings: Settings) -> Place:
    """``instance`` in the office's time zone, on the real clock: the place of a connector made
    by ``midfield connect`` (``from_options``) or for a re-drive (``reparser``)."""
    return Place(instance=instance, zone=settings.office.zone)


class Connector(ABC):
    """What every source has, read from files (:class:`Source`) or served over HTTP
    (:class:`connectors.runtime.http.HttpSource`): a name, options, an instance, a clock.

    Everything the rest of Midfield needs to know about a source is declared on its class, and
    read from the registry: the command line (``options``), its settings (``settings_model``),
    the re-drive of its dead letters (``reparser``, ``keeps_documents``) and its deployment
    (``deployment``: the compose service and Kubernetes objects made by ``midfield deploy
    connectors``)."""

    name: ClassVar[str]
    """Registry name, also the ``connect`` sub-command: ``fax-log``."""
    version: ClassVar[str] = "1"
    options: ClassVar[type[SourceOptions]] = SourceOptions
    """Its command-line options; the registry turns them into ``midfield connect <name>``."""
    settings_model: ClassVar[type[BaseSettings] | None] = None
    """Its own ``MIDFIELD_<NAME>_*`` settings (decorated ``@settings_part``), read with
    ``settings.part(settings_model)``; ``midfield settings`` prints them and deployment files
    may set them."""
    keeps_documents: ClassVar[bool] = False
    """Its events reference files it keeps in the document store (a TIFF, a PDF): it mounts
    the store, and its dead letters are not parsed again (``document-intake``): the input goes
    back into its folder instead."""
    needs_api_keys: ClassVar[bool] = False
    """Its callers present API keys from the departments file: it refuses to start without
    one, and only it mounts the file with the keys."""
    deployment: ClassVar[Deployment | None] = None
    """How it runs in production; ``None``: a one-off command, no service."""

    def __init__(self, *, instance: str, zone: ZoneInfo, clock: Clock = utc_now) -> None:
        self.instance = instance
        self.zone = zone
        self.clock = clock

    @property
    def uri(self) -> str:
        """The CloudEvents ``source`` of this connector instance."""
        return f"midfield://{self.name}/{self.instance}"

    def envelope(
        self,
        data: EventData,
        *,
        position: str,
        subject: str,
        time: datetime,
        ingested_at: datetime | None = None,
    ) -> Envelope:
        """``data`` read at ``position``, as an event of this connector (its :attr:`uri` and
        ``version``): :meth:`Envelope.wrap`."""
        return Envelope.wrap(
            data,
            source=self.uri,
            position=position,
            subject=subject,
            time=time,
            ingested_at=ingested_at,
            connector_version=self.version,
        )

    @classmethod
    @abstractmethod
    def from_options(cls, options: Any, settings: Settings) -> Connector:
        """What ``midfield connect <name>`` runs, from ``options`` (a ``cls.options``)."""

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> Source | None:
        """A parse-only instance (it never opens its input) that ``midfield replay redrive``
        parses this connector's dead letters with, as ``instance``. ``None``: its letters are
        not parsed again (midfield/replay/reparse.py says why)."""
        return None


class Source(Connector):
    """Turns one real input into events. Subclasses set ``name`` and implement both halves."""

    @abstractmethod
    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        """Pure: no I/O. Raise ``ParseError(reason, detail)`` for input that cannot be an event."""

    @abstractmethod
    def read(self, position: Position | None, *, follow: bool) -> Reading:
        """Yield records from ``position`` (``None``: the beginning); see the module contract."""

    def committed(self, position: Position) -> None:
        """Called once ``position`` is saved: everything read up to it is on the bus."""
