"""``midfield worker``, ``demo``, ``bench`` and ``settings``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from midfield.cli.catalog import catalog_of
from midfield.cli.root import cli
from midfield.errors import ConfigError
from midfield.ports import require_free
from midfield.settings import Settings


@cli.command()
@click.option(
    "--port", type=int, default=None, help="HTTP port (default MIDFIELD_WORKER_WEB_PORT)."
)
@click.option("--no-create-topics", is_flag=True, help="Do not create missing catalog topics.")
def worker(port: int | None, no_create_topics: bool) -> None:
    """Run the stream processors and their HTTP views until interrupted."""
    from midfield.bus.readiness import require_broker
    from midfield.bus.topics import create_topics
    from midfield.settings import WorkerSettings
    from streams.worker.worker import run_worker

    settings = Settings()
    if port is not None:
        settings.worker = WorkerSettings(web_port=port)
    require_free(settings.worker.web_host, settings.worker.web_port, what="midfield worker")
    if not no_create_topics:
        require_broker(settings.kafka)
        create_topics(settings.kafka, settings.topics, catalog_of(settings))
    run_worker(settings)


@cli.command()
@click.option("--check", is_flag=True, help="Run unattended, verify the books over HTTP, exit 0/1.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path(".midfield/demo"),
    show_default=True,
    help="Where the demo keeps its fax log, state and logs.",
)
@click.option("--port", type=int, default=6066, show_default=True, help="The worker's HTTP port.")
def demo(check: bool, workdir: Path, port: int) -> None:
    """The whole hub on an embedded broker: the worker and dashboard, every source (fax log,
    fax mail, telegrams, the tasks, duty, WeChat, board and hotline intakes), with sample input
    arriving live. Prints the dashboard's address and the demo users; Ctrl-C stops it all."""
    from midfield.demo.run import run_demo

    sys.exit(run_demo(workdir=workdir, port=port, check=check))


_BENCHES = ("ingest", "demo_ready", "worker_ready", "rebuild", "latency", "memory", "views",
            "suggest", "reply_tally")  # fmt: skip


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("name", type=click.Choice([*_BENCHES, "all"]), default="all")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, args: tuple[str, ...]) -> None:
    """Run a benchmark from bench/ (in a Midfield checkout); results go to bench/results/.

    Extra arguments go to the benchmark: midfield bench ingest --lines 5000 --repeat 1
    """
    import subprocess

    if not Path("bench", "__init__.py").exists():
        raise ConfigError("run this from a Midfield checkout: ./bench/ not found",
                          reason="not-a-checkout")  # fmt: skip
    for one in _BENCHES if name == "all" else (name,):
        code = subprocess.call([sys.executable, "-m", f"bench.{one}", *args])
        if code:
            sys.exit(code)


@cli.command("settings")
def show_settings() -> None:
    """Print the settings in force (from MIDFIELD_* variables and .env)."""
    click.echo(json.dumps(Settings().as_dict(), indent=2, ensure_ascii=False))
