"""New processor code for a shadow run (``midfield replay shadow --module``).

``midfield replay redrive --module`` takes the same kind of module: a parser fix to try on the
dead letters before it is released.

The module is imported in the shadow worker's process before its processors are built, so it can
replace any function of the ``streams`` package (a book's ``apply``, ``ledger.light``) for that
process only; the live workers and the command comparing the books keep today's code. A module
that defines ``configure(settings)`` may also change the settings the shadow runs with (a
different yellow window, say). docs/replay.md has an example.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from midfield.errors import ConfigError
from midfield.settings import Settings

__all__ = ["try_code"]


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
