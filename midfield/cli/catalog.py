"""``midfield topics`` and ``midfield schemas``: the topic catalog on a broker and as files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from midfield.cli.root import cli
from midfield.settings import Settings


# -- topics ------------------------------------------------------------------------------------
@cli.group()
def topics() -> None:
    """The topic catalog on the broker."""


@topics.command("create")
def topics_create() -> None:
    """Create every topic of the catalog that is missing (idempotent)."""
    from midfield.bus.readiness import require_broker
    from midfield.bus.topics import create_topics

    settings = Settings()
    require_broker(settings.kafka)
    mismatched = False
    for result in create_topics(settings.kafka, settings.topics, catalog_of(settings)):
        click.echo(
            f"{result.outcome:8} {result.name} ({result.partitions} partitions) "
            f"{result.detail}".rstrip()
        )
        mismatched |= result.outcome == "mismatch"
    if mismatched:
        sys.exit(4)


def catalog_of(settings: Settings) -> Any:
    """The catalog with one outbox per configured department."""
    from midfield.departments import load_directory
    from schemas.catalog import concrete

    return concrete(load_directory(settings.departments).codes)


# -- schemas -----------------------------------------------------------------------------------
@cli.group()
def schemas() -> None:
    """What departments integrate against: JSON Schema and AsyncAPI."""


@schemas.command("export")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/schemas"),
              show_default=True, help="Directory to write into (created if missing).")  # fmt: skip
def schemas_export(out: Path) -> None:
    """Write json-schema/<type>.json per event type and asyncapi.json for the topic catalog."""
    from importlib.metadata import PackageNotFoundError, version

    from schemas.export import asyncapi, json_schemas

    try:
        ours = version("midfield")
    except PackageNotFoundError:  # running from a source tree that was not installed
        ours = "0+source"
    (out / "json-schema").mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        _write_json(out / "json-schema" / f"{name}.json", schema)
    _write_json(out / "asyncapi.json", asyncapi(ours))
    click.echo(f"wrote {len(json_schemas())} JSON Schemas and asyncapi.json to {out}/")


def _write_json(path: Path, body: Any) -> None:
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
