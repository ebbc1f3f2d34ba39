"""``midfield suggest``: teach the suggested-departments model from an export, and try it.

``train`` reads the board's or the hotline platform's export with the very readers of
``midfield connect board --xlsx`` / ``connect hotline --xlsx`` (rows become the same events) and
feeds those events to the dispatch examples (streams/books/suggest/dispatches.py), as the live
book will: a message is learned for its 办理单位, a work order for its lead 承办单位 unless it
was sent back (已退单). ``try`` shows what a saved model suggests for a text. Nothing here
dispatches anything (docs/suggestions.md).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from midfield.cli.root import cli
from midfield.errors import ConfigError, ParseError, StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope

INSTANCE = "suggest-train"
"""The readers' instance name: the events are never published, only learned from."""


@cli.group()
def suggest() -> None:
    """Suggested departments for messages and work orders that arrive without one.

    \b
    midfield suggest train --from 留言导出.xlsx --out model.json
    midfield suggest try --model model.json "小区电梯坏了一个月，物业不管"

    A suggestion is only ever shown to the duty officer, never applied (docs/suggestions.md).
    Departments named in an export are matched to codes through MIDFIELD_DEPARTMENTS_FILE.
    """


@suggest.command("train")
@click.option("--from", "source", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A board export (CSV or XLSX) or a hotline platform export (XLSX).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("suggest-model.json"), show_default=True,
              help="Where to write the model (JSON).")  # fmt: skip
def suggest_train(source: Path, out: Path) -> None:
    """Learn which department took each message or work order of an export, and save the model.

    A board row is learned for its 办理单位 (or the 回复单位 that replied in its place); a
    hotline row for its lead 承办单位, and not at all when it was sent back (已退单). Rows
    whose department is not in the departments file are counted and left out.
    """
    from streams.books.suggest.dispatches import replay
    from streams.books.suggest.model import SuggestModel

    settings = Settings()
    kind, events, refused = _read_export(source, settings)
    model = SuggestModel()
    examples = replay(events, model)
    learned = Counter(e["learned"] for e in examples.values() if e["learned"])
    what = "messages" if kind == "board" else "work orders"
    click.echo(f"read {source.name} ({kind} export): {len(examples)} {what}, {len(events)} events")
    if refused:
        click.echo(f"left out {sum(refused.values())} rows: "
                   + ", ".join(f"{r} {n}" for r, n in refused.most_common()))  # fmt: skip
    if not learned:
        raise ConfigError(
            f"nothing to learn from {source.name}: no row names a department of the "
            "departments file (MIDFIELD_DEPARTMENTS_FILE)",
            reason="nothing-learned",
        )
    body = json.dumps(model.state(), ensure_ascii=False, separators=(",", ":"))
    out.write_text(body + "\n", encoding="utf-8")
    click.echo(f"learned {sum(learned.values())} examples for {len(learned)} departments: "
               + ", ".join(f"{d} {n}" for d, n in sorted(learned.items())))  # fmt: skip
    click.echo(f"wrote {out} ({len(body.encode()) // 1024} KiB, {len(model.counts)} features)")


@suggest.command("try")
@click.option("--model", "model_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A model written by `midfield suggest train`.")  # fmt: skip
@click.option("-k", "top", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many departments to suggest.")  # fmt: skip
@click.argument("text")
def suggest_try(model_path: Path, top: int, text: str) -> None:
    """Print the departments the model suggests for TEXT, with scores and deciding words.

    The score is the model's probability for the department (all departments add up to 1); the
    words are those of TEXT that weighed most for it. Read the order more than the numbers.
    """
    from midfield.departments import load_directory
    from streams.books.suggest.model import SuggestModel

    model = SuggestModel.from_state(_model_json(model_path))
    directory = load_directory(Settings().departments)
    found = model.suggest(text, k=top)
    if not found:
        click.echo("no suggestion: the model has learned no department")
        return
    for rank, s in enumerate(found, start=1):
        name = directory.name_of(s.department)
        label = f"{name} ({s.department})" if name != s.department else s.department
        click.echo(f"{rank}. {label}  {s.score:.3f}  {' '.join(s.words) or '-'}")


def _model_json(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        from streams.books.suggest.model import FEATURES

        if not isinstance(state, dict) or state.get("features") != FEATURES:
            raise ValueError(f"not a model of {FEATURES}")
        return state
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a suggestion model: {exc}", reason="bad-model") from exc


def _read_export(path: Path, settings: Settings) -> tuple[str, list[Envelope], Counter[str]]:
    """(``board`` or ``hotline``, the events of its rows in order, rows refused by reason)."""
    from connectors.sources.board_export import BoardExport
    from connectors.sources.hotline import HotlineExport
    from midfield.departments import load_directory

    directory, zone = load_directory(settings.departments), settings.office.zone
    try:  # the salt only digests phone numbers, and these events never leave the command
        board = BoardExport(path=path, directory=directory, salt=b"", instance=INSTANCE, zone=zone)
        return ("board", *_events(board))
    except StoreError as exc:
        if exc.reason != "not-a-board-export":
            raise
    try:
        hotline = HotlineExport(path=path, directory=directory, instance=INSTANCE, zone=zone)
        return ("hotline", *_events(hotline))
    except StoreError as exc:
        if exc.reason != "not-a-hotline-export":
            raise
        raise StoreError(f"{path.name} is neither a board nor a hotline export ({exc})",
                         reason="not-an-export") from exc  # fmt: skip


def _events(source: Any) -> tuple[list[Envelope], Counter[str]]:
    events: list[Envelope] = []
    refused: Counter[str] = Counter()
    for record in source.read(None, follow=False):
        try:
            made = source.parse(record)
        except ParseError as exc:
            refused[exc.reason] += 1
            continue
        events += made if isinstance(made, list) else [made] if isinstance(made, Envelope) else []
    return events, refused
