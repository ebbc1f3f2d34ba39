"""deploy/compose.yaml and its files, checked without a Docker engine: the Compose schema, every
Midfield command against the real command line, every MIDFIELD_* name against the settings,
KRaft with replication 3 and min ISR 2, health checks, restart policies, no secret inline."""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.sources import SOURCES, HttpSource
from midfield.departments import load_directory
from midfield.settings import DepartmentSettings
from tests.unit.deploy_support import (
    DEPLOY,
    REPO,
    compose_validator,
    parse_command,
    unknown_env_names,
)

COMPOSE = DEPLOY / "compose.yaml"
_DEFAULT = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _services(image_prefix: str) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _compose()["services"].items() if s["image"].startswith(image_prefix)}


def _midfield() -> dict[str, dict[str, Any]]:
    return _services("midfield:")


def _args(service: dict[str, Any]) -> list[str]:
    """The service's command, compose's ``${VAR:-default}`` replaced by the default."""
    return [_DEFAULT.sub(r"\1", arg) for arg in service["command"]]


def test_compose_file_is_valid_under_the_compose_specification() -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in compose_validator().iter_errors(_compose())]  # fmt: skip
    assert errors == []


def test_every_midfield_command_parses_with_the_real_command_line() -> None:
    commands = {name: parse_command(_args(s)) for name, s in _midfield().items()}
    assert commands["topics"] == ["topics", "create"]
    assert commands["worker-1"] == commands["worker-2"] == ["worker"]
    assert commands["sink-edu"] == ["sink", "department"]


def test_every_source_but_the_one_off_imports_has_a_service() -> None:
    """One-off imports (``deployment = None``: the task sheet) are run by hand."""
    sources = {
        parse_command(_args(s))[1] for s in _midfield().values() if s["command"][0] == "connect"
    }
    one_off = {name for name, cls in SOURCES.items() if cls.deployment is None}
    assert "task-sheet" in one_off
    assert sources == set(SOURCES) - one_off


def test_every_midfield_name_in_the_deploy_files_is_a_setting() -> None:
    for path in (COMPOSE, *(DEPLOY / "secrets").glob("*.env.example"), DEPLOY / "Dockerfile",
                 REPO / "docs" / "deploy.md"):  # fmt: skip
        assert unknown_env_names(path.read_text()) == set(), path


def test_kafka_is_three_combined_kraft_nodes_with_replication_three_and_min_isr_two() -> None:
    nodes = _services("apache/kafka:")
    assert len(nodes) == 3
    voters = set()
    for node in nodes.values():
        env = node["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        cluster_id = _DEFAULT.sub(r"\1", env["CLUSTER_ID"])
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16  # a KRaft cluster id
    assert len(voters) == 1 and len(voters.pop().split(",")) == 3
    assert {n["environment"]["KAFKA_NODE_ID"] for n in nodes.values()} == {"1", "2", "3"}


def test_images_are_pinned() -> None:
    for name, service in _compose()["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name


def test_topics_job_creates_the_catalog_with_replication_three_before_anything_runs() -> None:
    services = _midfield()
    assert services["topics"]["environment"]["MIDFIELD_TOPICS_REPLICATION_FACTOR"] == "3"
    assert services["topics"]["restart"] == "on-failure"
    for name, service in services.items():
        if name != "topics":
            assert service["depends_on"] == {
                "topics": {"condition": "service_completed_successfully"}
            }
            assert "--no-create-topics" in service["command"] or service["command"][0] != "worker"


def test_workers_and_http_intakes_are_health_checked_on_ready_and_everything_restarts() -> None:
    for name, service in _compose()["services"].items():
        assert service.get("restart") in ("unless-stopped", "on-failure"), name
    for name, service in _midfield().items():
        args = _args(service)
        http = args[0] == "worker" or (
            args[0] == "connect" and issubclass(SOURCES[args[1]], HttpSource)
        )
        if not http:
            continue
        port = (service["environment"]["MIDFIELD_WORKER_WEB_PORT"] if args[0] == "worker"
                else args[args.index("--port") + 1])  # fmt: skip
        check = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/ready" in check, name
        if args[0] == "connect":
            assert args[args.index("--host") + 1] == "0.0.0.0", name  # reachable in the network


SECRET_FILES = {
    "worker": {"MIDFIELD_ACCESS_SESSION_KEY", "MIDFIELD_ACCESS_SCRAPE_TOKEN"},
    "fax-mail": {"MIDFIELD_CONNECT_IMAP_PASSWORD"},
    "wechat": {
        "MIDFIELD_WECHAT_TOKEN",
        "MIDFIELD_WECHAT_APPID",
        "MIDFIELD_WECHAT_ENCODING_AES_KEY",
        "MIDFIELD_WECHAT_SUBMITTER_SALT",
    },
    "board": {"MIDFIELD_BOARD_SECRET"},
    "hotline": {"MIDFIELD_HOTLINE_SECRET"},
}
"""Service (both workers: ``worker``) -> the names its own ``secrets/<service>.env`` may hold (what
its code reads); the other services read no secret from the environment."""

DEPARTMENTS_FILES = {
    "worker-1": "./departments.toml",  # readers' keys and sign-in
    "worker-2": "./departments.toml",
    "tasks": "./departments.toml",  # the departments' API keys
    "duty": "./departments.toml",
    "info": "./departments.toml",
    "board": "./directory.toml",  # codes and names only
    "topics": "./directory.toml",  # one outbox per code
    "sink-edu": "./sink-edu.toml",  # edu's webhook only
}
"""Service -> the file mounted where its MIDFIELD_DEPARTMENTS_FILE points; the others get none."""


def _names(path: Path) -> set[str]:
    return {line.partition("=")[0] for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}  # fmt: skip


def test_secrets_come_only_from_env_files() -> None:
    secretish = re.compile(r"(SECRET|PASSWORD|TOKEN|AES_KEY|SALT|SESSION_KEY)")
    for name, service in _compose()["services"].items():
        assert not [k for k in service.get("environment", {}) if secretish.search(k)], name
    assert _compose()["services"]["grafana"]["env_file"] == ["./grafana.env"]


def test_each_service_reads_only_its_own_secrets_file() -> None:
    got = {name: s.get("env_file") for name, s in _midfield().items()}
    stems = {name: name.split("-")[0] if name.startswith("worker-") else name for name in got}
    assert got == {name: [f"./secrets/{stem}.env"] if stem in SECRET_FILES else None
                   for name, stem in stems.items()}  # fmt: skip


def test_each_secrets_example_holds_only_what_its_service_reads() -> None:
    examples = {p.name.removesuffix(".env.example"): _names(p)
                for p in (DEPLOY / "secrets").glob("*.env.example")}  # fmt: skip
    assert examples == SECRET_FILES


def test_the_departments_file_is_mounted_only_where_it_is_read() -> None:
    got = {}
    for name, service in _midfield().items():
        mounts = [v.split(":") for v in service.get("volumes", [])]
        tomls = {target: source for source, target, *_ in mounts if source.endswith(".toml")}
        path = service.get("environment", {}).get("MIDFIELD_DEPARTMENTS_FILE")
        assert set(tomls) == ({path} if path else set()), name
        if path:
            got[name] = tomls[path]
    assert got == DEPARTMENTS_FILES


@pytest.mark.parametrize("example", ["grafana.env.example", *[
    f"secrets/{p.name}" for p in sorted((DEPLOY / "secrets").glob("*.env.example"))]])  # fmt: skip
def test_env_examples_hold_names_only(example: str) -> None:
    lines = [line for line in (DEPLOY / example).read_text().splitlines()
             if line.strip() and not line.startswith("#")]  # fmt: skip
    assert lines
    for line in lines:
        name, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
        assert value in ("", "admin", "false"), f"{example} must not carry a secret: {line}"


def test_the_departments_examples_are_valid_and_agree_on_the_codes() -> None:
    full = load_directory(DepartmentSettings(file=DEPLOY / "departments.example.toml"))
    names = load_directory(DepartmentSettings(file=DEPLOY / "directory.example.toml"))
    assert names.codes == full.codes
    assert {c: d.name for c, d in names.departments.items()} == {
        c: d.name for c, d in full.departments.items()}  # fmt: skip
    sinks = [_args(s) for s in _midfield().values() if s["command"][0] == "sink"]
    assert {args[args.index("--department") + 1] for args in sinks} <= set(full.codes)


def test_the_directory_example_holds_codes_and_names_only() -> None:
    directory = tomllib.loads((DEPLOY / "directory.example.toml").read_text())
    assert set(directory) == {"departments"}
    assert all(set(d) == {"name"} for d in directory["departments"].values())


def test_a_sinks_file_holds_its_own_department_and_no_key() -> None:
    sink = tomllib.loads((DEPLOY / "sink-edu.example.toml").read_text())
    assert set(sink) == {"departments"} and set(sink["departments"]) == {"edu"}
    assert set(sink["departments"]["edu"]) == {"name", "webhook_url", "webhook_secret"}
    directory = load_directory(DepartmentSettings(file=DEPLOY / "sink-edu.example.toml"))
    assert directory.codes == ["edu"]


def test_prometheus_presents_the_scrape_token_to_the_workers() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "midfield-worker"]
    path = job["authorization"]["credentials_file"]
    mounts = {
        m.split(":")[1]: m.split(":")[0] for m in _compose()["services"]["prometheus"]["volumes"]
    }
    assert mounts[path] == "./secrets/scrape-token"


def test_prometheus_scrapes_every_worker_and_http_intake_on_their_ports() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]}  # fmt: skip
    wanted = set()
    for name, service in _midfield().items():
        args = _args(service)
        if args[0] == "worker":
            wanted.add(f"{name}:{service['environment']['MIDFIELD_WORKER_WEB_PORT']}")
        elif "--port" in args:
            wanted.add(f"{name}:{args[args.index('--port') + 1]}")
    assert wanted and wanted <= targets


def test_grafana_provisions_the_dashboard_and_resolves_its_data_source_variable() -> None:
    grafana = _compose()["services"]["grafana"]
    mounts = {m.split(":")[0]: m.split(":")[1] for m in grafana["volumes"] if m.startswith("./")}
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/midfield.yaml").read_text()
    )
    assert mounts["./grafana/midfield.json"].startswith(provider["providers"][0]["options"]["path"])
    sources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    import json

    dashboard = json.loads((DEPLOY / "grafana" / "midfield.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"  # ${DS_PROMETHEUS} when provisioned


def test_the_dockerfile_installs_the_project_on_python_311_slim_without_secrets() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    for source in re.findall(r"^COPY (?!--)(.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), path
    assert 'pip install --no-cache-dir --prefix=/install ".' in text
    assert not re.search(r"(SECRET|PASSWORD|TOKEN)", text)
