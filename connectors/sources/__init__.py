"""The source registry: one line per source."""

from __future__ import annotations

from connectors.runtime.source import Source
from connectors.sources.fax_log import FaxLogSource

__all__ = ["SOURCES", "Source"]

SOURCES: dict[str, type[Source]] = {
    FaxLogSource.name: FaxLogSource,
}
