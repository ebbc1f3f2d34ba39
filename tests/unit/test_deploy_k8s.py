"""deploy/k8s: each overlay rendered by kustomize (kubectl's, offline) and checked without a
cluster: every object against the vendored Kubernetes v1.33 and Strimzi 1.2 / Prometheus
Operator schemas, unknown fields refused; the KafkaTopics equal the catalog; every MIDFIELD_*
name is a setting; every command line parses; workers probe /ready and /health. Least privilege
from tables here: the Secrets each component reads, the peers NetworkPolicies let in and out,
the ACLs of each component's KafkaUser."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from collections.abc import Iterable
from functools import cache
from itertools import product
from typing import Any

import pytest
import yaml

from midfield.deploy import kafka_topics
from midfield.settings import TopicSettings, WorkerSettings
from schemas.catalog import DEADLETTER, concrete, outbox
from schemas.events.alert import AlertRaised
from schemas.events.duty import DutyEntryRecorded, DutyReportIssued
from schemas.events.fax import FaxReceived
from schemas.events.info import InfoEvent
from schemas.events.message import PublicMessageReceived
from schemas.events.quarantine import ItemQuarantined
from schemas.events.task import TaskEvent
from schemas.events.telegram import TelegramReceived
from schemas.events.workorder import WorkOrderStepped
from streams.books.registry import PROCESSED
from tests.unit.deploy_support import (
    DEPLOY,
    parse_command,
    schema_errors,
    secrets_read,
    selects,
    unknown_env_names,
)

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
def test_every_container_command_parses(overlay: str) -> None:
    for name, spec in _pod_specs(_rendered(overlay)).items():
        [container] = spec["containers"]
        args = [a.replace("$(FAXMAIL_IMAP_URL)", "imaps://fax@mail/INBOX")
                .replace("$(POD_IP)", "10.0.0.7") for a in container["args"]]  # fmt: skip
        assert parse_command(args), name
        assert container["envFrom"][0] == {"configMapRef": {"name": "midfield-config"}}, name


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
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_component_signs_in_to_kafka_as_its_own_user(overlay: str) -> None:
    """The user name is the component's name, the password the Secret the User Operator
    writes for the KafkaUser of that name; no shared identity in the ConfigMap."""
    docs = _rendered(overlay)
    users = {u["metadata"]["name"]: u for u in _of(docs, "KafkaUser")}
    assert "MIDFIELD_KAFKA_SASL_USERNAME" not in _config(docs)
    for name, spec in _pod_specs(docs).items():
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["MIDFIELD_KAFKA_SASL_USERNAME"]["value"] == name
        assert env["MIDFIELD_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": name, "key": "password"}  # fmt: skip
        assert users[name]["spec"]["authentication"]["type"] == "scram-sha-512"
    assert set(users) == set(_pod_specs(docs))


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
    worker = _worker(docs)["spec"]["template"]["spec"]["containers"][0]
    token = {e["name"]: e for e in worker["env"]}["MIDFIELD_ACCESS_SCRAPE_TOKEN"]
    assert endpoint["authorization"]["credentials"] == token["valueFrom"]["secretKeyRef"]
    http = [s for s in _of(docs, "Service") if any(p["name"] == endpoint["port"]
                                                   for p in s["spec"]["ports"])]  # fmt: skip
    assert {"midfield-worker", "midfield-tasks", "midfield-duty"} <= {
        s["metadata"]["name"] for s in http
    }
    for service in http:
        if service["spec"].get("clusterIP") != "None":
            assert selector.items() <= service["metadata"]["labels"].items(), service["metadata"]


# -- least privilege: secrets -----------------------------------------------------------------
CA = "midfield-cluster-ca-cert"
SECRETS = {
    # readers' keys and sign-in (DESIGN §6); the session key; the token Prometheus presents
    "midfield-worker": {"midfield-departments", "midfield-worker-secrets", "midfield-scrape-token"},
    "midfield-fax-log": set(),
    "midfield-fax-mail": {"midfield-fax-mail-secrets"},  # MIDFIELD_CONNECT_IMAP_PASSWORD
    "midfield-telegram": set(),
    "midfield-tasks": {"midfield-departments"},  # the departments' API keys
    "midfield-duty": {"midfield-departments"},  # the office's keys (duty officers)
    "midfield-info": {"midfield-departments"},  # the office's and the departments' keys
    "midfield-wechat": {"midfield-wechat-secrets"},  # MIDFIELD_WECHAT_*
    "midfield-board": {"midfield-board-secrets"},  # MIDFIELD_BOARD_SECRET
    "midfield-hotline": {"midfield-hotline-secrets"},  # MIDFIELD_HOTLINE_SECRET
    "midfield-sink-edu": {"midfield-sink-edu-webhook"},  # edu's webhook URL and secret only
}
"""Component -> the Secrets it reads beyond its own Kafka password (the Secret named as it and
its KafkaUser) and the cluster CA. From what each reads: settings, ``from_options``,
``create_app`` (MIDFIELD_DEPARTMENTS_FILE: worker, tasks, duty, info, the sink; board: names
only)."""

DEPARTMENTS_FILE = {
    "midfield-worker": ("secret", "midfield-departments"),
    "midfield-tasks": ("secret", "midfield-departments"),
    "midfield-duty": ("secret", "midfield-departments"),
    "midfield-info": ("secret", "midfield-departments"),
    "midfield-board": ("configMap", "midfield-directory"),  # codes and names, no keys
    "midfield-sink-edu": ("secret", "midfield-sink-edu-webhook"),
}
"""Component -> where its MIDFIELD_DEPARTMENTS_FILE comes from; the others set none."""


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_component_reads_only_the_secrets_it_needs(overlay: str) -> None:
    pods = _pod_specs(_rendered(overlay))
    assert set(pods) == set(SECRETS)
    got = {name: secrets_read(spec) for name, spec in pods.items()}
    assert got == {name: allowed | {name, CA} for name, allowed in SECRETS.items()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_departments_file_is_mounted_only_where_it_is_read(overlay: str) -> None:
    docs = _rendered(overlay)
    assert "MIDFIELD_DEPARTMENTS_FILE" not in _config(docs)
    got = {}
    for name, spec in _pod_specs(docs).items():
        [container] = spec["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if "MIDFIELD_DEPARTMENTS_FILE" not in env:
            continue
        path = env["MIDFIELD_DEPARTMENTS_FILE"]
        [mount] = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
        [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        if "secret" in volume:
            got[name] = ("secret", volume["secret"]["secretName"])
        else:  # generated: the name ends in the content's hash
            got[name] = ("configMap", volume["configMap"]["name"].rsplit("-", 1)[0])
    assert got == DEPARTMENTS_FILE


def test_the_board_directory_holds_codes_and_names_and_no_secret() -> None:
    [directory] = [c for c in _of(_rendered("county"), "ConfigMap")
                   if c["metadata"]["name"].startswith("midfield-directory")]  # fmt: skip
    departments = tomllib.loads(directory["data"]["departments.toml"])
    assert set(departments) == {"departments"}
    for department in departments["departments"].values():
        assert set(department) == {"name"}


# -- least privilege: the network -------------------------------------------------------------
INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
}
PROMETHEUS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}
DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
BROKERS = {"podSelector": {"matchLabels": {
    "strimzi.io/cluster": "midfield", "strimzi.io/kind": "Kafka",
    "strimzi.io/name": "midfield-kafka"}}}  # fmt: skip
ANYWHERE = {"ipBlock": {"cidr": "0.0.0.0/0"}}
EXTRA_EGRESS = {
    "midfield-sink-edu": [(ANYWHERE, "443/TCP")],  # the department's webhook, HTTPS
    "midfield-fax-mail": [(ANYWHERE, "993/TCP")],  # the fax gateway's IMAP folder, IMAPS
}
"""Component -> where it may connect beyond the brokers and DNS."""


def _pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in docs if d["kind"] in ("Deployment", "StatefulSet")}  # fmt: skip


def _policies(docs: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in _of(docs, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]


def _allowed(docs: list[dict[str, Any]], labels: dict[str, str], way: str) -> set[tuple[str, str]]:
    """(peer, port/protocol) pairs the NetworkPolicies selecting ``labels`` allow ``way``
    (Ingress or Egress); "any" where a rule leaves peers or ports out."""
    found = set()
    for policy in _policies(docs, labels):
        if way not in policy["spec"]["policyTypes"]:
            continue
        for rule in policy["spec"].get(way.lower(), []):
            peers = rule.get("from" if way == "Ingress" else "to") or ["any"]
            for peer, port in product(peers, rule.get("ports") or [None]):
                where = "any" if port is None else f"{port['port']}/{port.get('protocol', 'TCP')}"
                found.add((json.dumps(peer, sort_keys=True), where))
    return found


def _pairs(pairs: Iterable[tuple[Any, str]]) -> set[tuple[str, str]]:
    return {(json.dumps(peer, sort_keys=True), port) for peer, port in pairs}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_component_is_under_a_default_deny_network_policy(overlay: str) -> None:
    docs = _rendered(overlay)
    deny = [p for p in _of(docs, "NetworkPolicy")
            if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]  # fmt: skip
    assert deny
    for name, labels in _pods(docs).items():
        assert any(selects(p["spec"]["podSelector"], labels) for p in deny), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_ingress_controller_and_prometheus_reach_an_http_port(overlay: str) -> None:
    docs = _rendered(overlay)
    pods = _pod_specs(docs)
    for name, labels in _pods(docs).items():
        ports = {p["name"] for p in pods[name]["containers"][0].get("ports", [])}
        expected = [(INGRESS_CONTROLLER, "http/TCP"), (PROMETHEUS, "http/TCP")]
        assert _allowed(docs, labels, "Ingress") == (_pairs(expected) if ports else set()), name
        assert ports <= {"http"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_components_connect_only_to_the_brokers_dns_and_what_they_call(overlay: str) -> None:
    docs = _rendered(overlay)
    [kafka] = _of(docs, "Kafka")
    [listener] = kafka["spec"]["kafka"]["listeners"]
    base = [(BROKERS, f"{listener['port']}/TCP"), (DNS, "53/UDP"), (DNS, "53/TCP")]
    for name, labels in _pods(docs).items():
        expected = base + EXTRA_EGRESS.get(name, [])
        assert _allowed(docs, labels, "Egress") == _pairs(expected), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_kafka_listener_admits_only_midfield_pods(overlay: str) -> None:
    """Strimzi makes the listener's NetworkPolicy from ``networkPolicyPeers``; without them
    every pod in the cluster may connect."""
    [kafka] = _of(_rendered(overlay), "Kafka")
    [listener] = kafka["spec"]["kafka"]["listeners"]
    assert listener["networkPolicyPeers"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "midfield"}}}
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_http_servers_bind_the_pod_address_not_every_interface(overlay: str) -> None:
    docs = _rendered(overlay)
    assert "MIDFIELD_WORKER_WEB_HOST" not in _config(docs)
    pod_ip = {"fieldRef": {"fieldPath": "status.podIP"}}
    for name, spec in _pod_specs(docs).items():
        [container] = spec["containers"]
        env = {e["name"]: e for e in container["env"]}
        args = container["args"]
        if args[0] == "worker":
            assert env["MIDFIELD_WORKER_WEB_HOST"]["valueFrom"] == pod_ip, name
        elif "--host" in args:
            assert args[args.index("--host") + 1] == "$(POD_IP)", name
            assert env["POD_IP"]["valueFrom"] == pod_ip, name
        assert "0.0.0.0" not in json.dumps(container), name


# -- least privilege: Kafka ACLs --------------------------------------------------------------
AUDIT = "office.audit.v1"  # schemas/catalog.py: who, what, when, from where, outcome


def _topic(name: str, *operations: str, prefix: bool = False) -> set[tuple[str, str, str, str]]:
    return {("topic", name, "prefix" if prefix else "literal", op) for op in operations}


def _produces(*topics: str) -> set[tuple[str, str, str, str]]:
    """A connector's writes: its topics and the dead letters."""
    return set().union(*(_topic(t, "Write") for t in (*topics, DEADLETTER)))


def _expected_acls(app_id: str) -> dict[str, set[tuple[str, str, str, str]]]:
    """(resource type, name, pattern, operation) per KafkaUser, from what the code produces and
    consumes: each source's event types, PROCESSED, the sink's group name. Read and Write imply
    Describe in Kafka's authorizer; no component creates a catalog topic (the Topic Operator
    does), the worker only its changelogs and faust's leader topic (``<app id>-`` prefix)."""
    alerts, task, duty = AlertRaised.topic, TaskEvent.topic, DutyEntryRecorded.topic
    info = InfoEvent.topic
    http = _topic(AUDIT, "Write")
    # the dead letters too: the dashboard's waiting letters (streams/waiting_letters.py)
    worker_reads = set().union(*(_topic(t, "Read") for t in (*PROCESSED, AUDIT, DEADLETTER)))
    worker_writes = _produces(alerts, task, DutyReportIssued.topic, AUDIT)
    worker_own = _topic(f"{app_id}-", "Read", "Write", "Create", prefix=True)
    worker_own |= _topic("office.outbox.", "Write", prefix=True)
    worker_own.add(("group", app_id, "literal", "Read"))
    sink_group = {("group", "midfield-sink-edu", "literal", "Read")}
    return {
        "midfield-worker": worker_reads | worker_writes | worker_own,
        "midfield-fax-log": _produces(FaxReceived.topic),
        "midfield-fax-mail": _produces(FaxReceived.topic),
        "midfield-telegram": _produces(TelegramReceived.topic, ItemQuarantined.topic, alerts),
        "midfield-tasks": _produces(task, alerts) | http | _topic(task, "Read"),  # its task view
        "midfield-duty": _produces(duty, alerts) | http | _topic(duty, "Read"),  # acks; open items
        "midfield-info": _produces(info) | http | _topic(info, "Read"),  # its report view
        "midfield-wechat": _produces(PublicMessageReceived.topic) | http,
        "midfield-board": _produces(PublicMessageReceived.topic) | http,
        "midfield-hotline": _produces(WorkOrderStepped.topic) | http,
        "midfield-sink-edu": _topic(outbox("edu"), "Read") | _produces() | sink_group,
    }


def _acls(user: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (acl["resource"]["type"], acl["resource"].get("name", ""),
         acl["resource"].get("patternType", "literal"), op)
        for acl in user["spec"]["authorization"]["acls"] for op in acl["operations"]
    }  # fmt: skip


def _app_id(docs: list[dict[str, Any]]) -> str:
    default: str = WorkerSettings.model_fields["app_id"].default
    return _config(docs).get("MIDFIELD_WORKER_APP_ID", default)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_authorizes_with_acls(overlay: str) -> None:
    [kafka] = _of(_rendered(overlay), "Kafka")
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_kafka_user_is_granted_exactly_what_its_component_does(overlay: str) -> None:
    docs = _rendered(overlay)
    users = {u["metadata"]["name"]: u for u in _of(docs, "KafkaUser")}
    for user in users.values():
        assert user["spec"]["authorization"]["type"] == "simple"
    assert {name: _acls(u) for name, u in users.items()} == _expected_acls(_app_id(docs))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_acl_grants_all_a_wildcard_or_the_cluster(overlay: str) -> None:
    for user in _of(_rendered(overlay), "KafkaUser"):
        for acl in user["spec"]["authorization"]["acls"]:
            where = f"{user['metadata']['name']}: {acl}"
            assert "All" not in acl["operations"], where
            assert acl["resource"]["type"] != "cluster", where
            assert acl["resource"].get("name", "*") not in ("*", ""), where
            assert acl.get("type", "allow") == "allow" and acl.get("host", "*") == "*", where
            if acl["resource"].get("patternType") == "prefix":
                assert len(acl["resource"]["name"]) > len("office."), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_in_an_acl_is_in_the_catalog(overlay: str) -> None:
    """Literal names are KafkaTopics of the overlay; a prefix names outboxes that exist, or the
    worker's application id (its changelogs)."""
    docs = _rendered(overlay)
    topics = {t["spec"]["topicName"] for t in _of(docs, "KafkaTopic")}
    for user in _of(docs, "KafkaUser"):
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            if resource["type"] != "topic":
                continue
            name = resource["name"]
            if resource.get("patternType") == "prefix":
                matched = {t for t in topics if t.startswith(name)}
                assert name == f"{_app_id(docs)}-" or (
                    matched and all(t.startswith("office.outbox.") for t in matched)
                ), name
            else:
                assert name in topics, name
