"""deploy/k8s: each overlay rendered by kustomize (kubectl's, offline) and checked without a
cluster: every object against the vendored Kubernetes v1.33 and Strimzi 1.2 / Prometheus
Operator schemas, unknown fields refused; the KafkaTopics equal the catalog; every MIDFIELD_*
name is a setting; every command line parses; workers probe /ready and /health."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from functools import cache
from typing import Any

import pytest
import yaml

from midfield.deploy import kafka_topics
from midfield.settings import TopicSettings
from schemas.catalog import concrete
from tests.unit.deploy_support import DEPLOY, parse_command, schema_errors, unknown_env_names

OVERLAYS = ("county", "province")
pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl (with its kustomize) renders the overlays; it ships in the machine image",
)


@cache
def _rendered_text(overlay: str) -> str:
    return subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


def _rendered(overlay: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(_rendered_text(overlay)) if d]


def _of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _config(docs: list[dict[str, Any]]) -> dict[str, str]:
    [config] = [d for d in _of(docs, "ConfigMap") if d["metadata"]["name"] == "midfield-config"]
    return config["data"]  # type: ignore[no-any-return]


def _pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"]
            for d in docs if d["kind"] in ("Deployment", "StatefulSet")}  # fmt: skip


def _worker(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [worker] = [d for d in docs if d["metadata"]["name"] == "midfield-worker"
                and d["kind"] in ("Deployment", "StatefulSet")]  # fmt: skip
    return worker


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_its_schema(overlay: str) -> None:
    docs = _rendered(overlay)
    assert len(docs) > 20
    errors = {f"{d['kind']}/{d['metadata']['name']}": schema_errors(d) for d in docs}
    assert {name: e for name, e in errors.items() if e} == {}


def test_the_schemas_refuse_a_misspelt_field() -> None:
    """The strict schemas are what make the test above able to fail."""
    topic = _of(_rendered("county"), "KafkaTopic")[0]
    topic["spec"]["partitons"] = topic["spec"].pop("partitions")
    assert schema_errors(topic)
    worker = _worker(_rendered("county"))
    worker["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert schema_errors(worker)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_equal_the_catalog_with_the_overlays_settings(overlay: str) -> None:
    docs = _rendered(overlay)
    config = _config(docs)
    departments = tomllib.loads(
        (DEPLOY / "k8s" / "overlays" / overlay / "departments.toml").read_text()
    )["departments"]
    settings = TopicSettings(
        partitions=int(config["MIDFIELD_TOPICS_PARTITIONS"]),
        replication_factor=int(config["MIDFIELD_TOPICS_REPLICATION_FACTOR"]),
        retention_days=int(config["MIDFIELD_TOPICS_RETENTION_DAYS"]),
    )
    expected = kafka_topics(concrete(sorted(departments)), settings)
    for topic in expected:
        topic["metadata"]["namespace"] = "midfield"
    got = sorted(_of(docs, "KafkaTopic"), key=lambda t: t["metadata"]["name"])
    assert got == sorted(expected, key=lambda t: t["metadata"]["name"])
    assert {t["spec"]["replicas"] for t in got} == {3}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_midfield_name_is_a_setting(overlay: str) -> None:
    assert unknown_env_names(_rendered_text(overlay)) == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_command_parses_and_reads_config_and_secrets(overlay: str) -> None:
    for name, spec in _pod_specs(_rendered(overlay)).items():
        [container] = spec["containers"]
        args = [
            a.replace("$(FAXMAIL_IMAP_URL)", "imaps://fax@mail/INBOX") for a in container["args"]
        ]
        assert parse_command(args), name
        sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
        assert sources == ["midfield-config", "midfield-secrets"], name
        password = {e["name"]: e for e in container["env"]}["MIDFIELD_KAFKA_SASL_PASSWORD"]
        assert password["valueFrom"]["secretKeyRef"] == {"name": "midfield", "key": "password"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_clients_use_sasl_over_tls_against_the_strimzi_listener(overlay: str) -> None:
    docs = _rendered(overlay)
    config = _config(docs)
    [kafka] = _of(docs, "Kafka")
    [listener] = kafka["spec"]["kafka"]["listeners"]
    assert (
        config["KAFKA_BOOTSTRAP_SERVERS"]
        == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    )
    assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
    assert config["MIDFIELD_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["MIDFIELD_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    [user] = _of(docs, "KafkaUser")
    assert config["MIDFIELD_KAFKA_SASL_USERNAME"] == user["metadata"]["name"]
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kraft_node_pools_have_three_controllers(overlay: str) -> None:
    pools = _of(_rendered(overlay), "KafkaNodePool")
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    assert controllers == 3 and brokers >= 3


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_probe_ready_and_health_have_resources_and_a_disruption_budget(
    overlay: str,
) -> None:
    docs = _rendered(overlay)
    worker = _worker(docs)
    [container] = worker["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert str(port) == _config(docs)["MIDFIELD_WORKER_WEB_PORT"]
    [budget] = _of(docs, "PodDisruptionBudget")
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert worker["spec"]["replicas"] >= 2


def test_county_workers_are_a_deployment_on_memory_and_province_a_statefulset_on_rocksdb() -> None:
    county, province = _rendered("county"), _rendered("province")
    assert _worker(county)["kind"] == "Deployment"
    assert _config(county)["MIDFIELD_WORKER_STORE"] == "memory://"
    stateful = _worker(province)
    assert stateful["kind"] == "StatefulSet"
    assert _config(province)["MIDFIELD_WORKER_STORE"] == "rocksdb://"
    [claim] = stateful["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in
              stateful["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}  # fmt: skip
    assert mounts[claim["metadata"]["name"]] == "/var/lib/midfield/worker"  # the data dir
    assert stateful["spec"]["template"]["spec"]["containers"][0]["image"].endswith("-rocksdb")
    assert int(_config(province)["MIDFIELD_WORKER_STANDBY_REPLICAS"]) >= 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_monitor_scrapes_every_http_service(overlay: str) -> None:
    docs = _rendered(overlay)
    [monitor] = _of(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["endpoints"]
    http = [s for s in _of(docs, "Service") if any(p["name"] == endpoint["port"]
                                                   for p in s["spec"]["ports"])]  # fmt: skip
    assert {"midfield-worker", "midfield-tasks", "midfield-duty"} <= {
        s["metadata"]["name"] for s in http
    }
    for service in http:
        if service["spec"].get("clusterIP") != "None":
            assert selector.items() <= service["metadata"]["labels"].items(), service["metadata"]
