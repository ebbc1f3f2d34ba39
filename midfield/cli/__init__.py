"""``midfield``: the command line, one module per command group (docs/architecture.md).

Importing the package registers every group on the root group (:mod:`midfield.cli.root`).
"""

from __future__ import annotations

from midfield.cli import (
    access,
    brief,
    broker,
    catalog,
    connect,
    deploy,
    rebuild,
    replay,
    run,
    suggest,
)
from midfield.cli.root import cli, main

__all__ = ["access", "brief", "broker", "catalog", "cli", "connect", "deploy", "main", "rebuild",
           "replay", "run", "suggest"]  # fmt: skip
