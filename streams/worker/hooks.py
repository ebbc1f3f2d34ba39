"""What a replay asks of a worker: new code to try, and offsets to stop at.

New processor code for a shadow run (``midfield replay shadow --module``).

``midfield replay redrive --module`` takes the same kind of module: a parser fix to try on the
dead letters before it is released.

The module is imported in the shadow worker's process before its processors are built, so it can
replace any function of the ``streams`` package (a book's ``apply``, ``lights.light``) for that
process only; the live workers and the command comparing the books keep today's code. A module
that defines ``configure(settings)`` may also change the settings the shadow runs with (a
different yellow window, say). docs/replay.md has an example.

Stop offsets (``replay as-of``): records at or after them are read, not applied; the replay
tools write the file (midfield/replay/offsets.py), the worker reads it here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from midfield.errors import ConfigError
from midfield.settings import Settings

__all__ = ["Offsets", "read_offsets", "try_code"]

Offsets = dict[tuple[str, int], int]
"""``(topic, partition) -> offset``."""


def try_code(module: str, settings: Settings) -> Any:
    """Import ``module`` (a dotted name; the current directory is searched too, as
    ``python -m`` would) and let it configure ``settings``."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import the shadow module {module!r}: {exc}", reason="shadow-module"
        ) from exc
    configure = getattr(loaded, "configure", None)
    if configure is not None:
        configure(settings)
    return loaded


def read_offsets(path: Path) -> Offsets:
    """An offsets file: ``{topic: {partition: offset}}``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            (topic, int(partition)): int(offset)
            for topic, partitions in raw.items()
            for partition, offset in partitions.items()
        }
    except FileNotFoundError as exc:
        raise ConfigError(f"no offsets file {path}", reason="offsets-file") from exc
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not an offsets file ({{topic: {{partition: offset}}}}): {exc}",
            reason="offsets-file",
        ) from exc
