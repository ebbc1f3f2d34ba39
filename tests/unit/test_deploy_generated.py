"""The sources' deployment files are made from the source registry (``midfield deploy
connectors``); the checked-in ones must be what the registry makes today."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from connectors.compose import deployment_files
from connectors.kubernetes import connectors_yaml
from connectors.sources import SOURCES
from connectors.sources.fax_log import FaxLogSource
from midfield.cli import cli
from midfield.cli.deploy import generated_files
from tests.unit.deploy_support import DEPLOY


@pytest.mark.parametrize("path", sorted(generated_files(DEPLOY)))
def test_checked_in_deployment_file_is_what_the_registry_makes(path: Path) -> None:
    made = generated_files(DEPLOY)[path]
    assert path.read_text(encoding="utf-8") == made, (
        f"{path.relative_to(DEPLOY.parent)} is out of date: run `midfield deploy connectors` "
        "and check in the result"
    )


def test_check_fails_on_a_stale_file_and_writing_makes_it_current(tmp_path: Path) -> None:
    (tmp_path / "k8s" / "base").mkdir(parents=True)
    (tmp_path / "compose.yaml").write_text((DEPLOY / "compose.yaml").read_text())
    (tmp_path / "k8s" / "base" / "connectors.yaml").write_text("stale\n")
    (tmp_path / "k8s" / "base" / "worker-user.yaml").write_text("stale\n")
    check = ["deploy", "connectors", "--deploy-dir", str(tmp_path), "--check"]
    stale = CliRunner().invoke(cli, check)
    assert stale.exit_code == 1 and "midfield deploy connectors" in stale.output
    assert CliRunner().invoke(cli, check[:-1]).exit_code == 0
    assert CliRunner().invoke(cli, check).exit_code == 0
    assert (tmp_path / "k8s" / "base" / "connectors.yaml").read_text() == connectors_yaml(
        SOURCES.values()
    )


def test_a_source_without_a_deployment_has_no_service() -> None:
    docs = list(yaml.safe_load_all(connectors_yaml(SOURCES.values())))
    assert "task-sheet" not in {d["metadata"]["name"].removeprefix("midfield-") for d in docs}
    assert SOURCES["task-sheet"].deployment is None


def test_a_read_only_input_is_mounted_read_only_in_compose_and_kubernetes() -> None:
    compose = yaml.safe_load(deployment_files(DEPLOY, SOURCES.values())[DEPLOY / "compose.yaml"])
    assert (
        "${HYLAFAX_SPOOL:-/var/spool/hylafax}/etc:/var/spool/hylafax/etc:ro"
        in (compose["services"]["fax-log"]["volumes"])
    )
    docs = yaml.safe_load_all(connectors_yaml([FaxLogSource]))
    [pod] = [d["spec"]["template"]["spec"] for d in docs if d["kind"] == "Deployment"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "spool"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "spool"]
    assert mount["readOnly"] and volume["persistentVolumeClaim"]["readOnly"]


def test_http_intakes_keep_no_state_and_no_documents_in_compose() -> None:
    compose = yaml.safe_load(deployment_files(DEPLOY, SOURCES.values())[DEPLOY / "compose.yaml"])
    for name, cls in SOURCES.items():
        if cls.deployment is not None and cls.deployment.port is not None:
            volumes = compose["services"][name]["volumes"]
            assert not [v for v in volumes if v.startswith(("connector-state:", "documents:"))]
