"""What the deployment tests share: the names Midfield reads from the environment, command lines
checked against the real click tree, and JSON Schemas from vendored Kubernetes and CRD files."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import click
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from connectors.sources import source_settings
from midfield.deploy import settings_env_names

REPO = Path(__file__).resolve().parent.parent.parent
DEPLOY = REPO / "deploy"
VENDOR = REPO / "tests" / "vendor"
ENV_NAME = re.compile(r"\bMIDFIELD_[A-Z0-9_]+\b")


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Does a Kubernetes label selector (``matchLabels`` and ``matchExpressions``) select
    ``labels``? An empty selector selects everything, as in a NetworkPolicy's ``podSelector``."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        held = {"In": key in labels and labels[key] in values,
                "NotIn": key not in labels or labels[key] not in values,
                "Exists": key in labels, "DoesNotExist": key not in labels}  # fmt: skip
        if not held[operator]:
            return False
    return True


def secrets_read(pod: dict[str, Any]) -> set[str]:
    """The names of every Secret a pod spec reads: volumes (plain and projected), ``envFrom``
    and ``secretKeyRef``, in every container and init container."""
    names = set()
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        names |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
        names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                  if "secretKeyRef" in e.get("valueFrom", {})}  # fmt: skip
    return names


def _cli_envvars(command: click.Command) -> set[str]:
    names = {p.envvar for p in command.params if isinstance(p.envvar, str)}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= _cli_envvars(sub)
    return names


@cache
def valid_env_names() -> frozenset[str]:
    """Every variable Midfield reads: settings fields (midfield.settings) and the command
    line's own (MIDFIELD_LOG_LEVEL…). Fault injection (MIDFIELD_FAULTS) is for tests only."""
    from midfield.cli import cli

    return frozenset(settings_env_names(*source_settings()) | _cli_envvars(cli))


def unknown_env_names(text: str) -> set[str]:
    """The ``MIDFIELD_*`` names in ``text`` that Midfield does not read (typos, stale names)."""
    return set(ENV_NAME.findall(text)) - valid_env_names()


def parse_command(args: list[str]) -> list[str]:
    """Resolve ``midfield ARGS`` through the real click tree, options and their types checked,
    nothing run; the command path (["connect", "fax-log"]). Raises click's usage errors."""
    from midfield.cli import cli

    command: click.Command = cli
    ctx = cli.make_context("midfield", list(args))
    path = []
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None, args
        path.append(name)
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return path


# -- JSON Schemas ---------------------------------------------------------------------------------
_BUILTIN = {
    ("apps/v1", "Deployment"): "io.k8s.api.apps.v1.Deployment",
    ("apps/v1", "StatefulSet"): "io.k8s.api.apps.v1.StatefulSet",
    ("v1", "Service"): "io.k8s.api.core.v1.Service",
    ("v1", "ConfigMap"): "io.k8s.api.core.v1.ConfigMap",
    ("v1", "Secret"): "io.k8s.api.core.v1.Secret",
    ("v1", "PersistentVolumeClaim"): "io.k8s.api.core.v1.PersistentVolumeClaim",
    ("policy/v1", "PodDisruptionBudget"): "io.k8s.api.policy.v1.PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "io.k8s.api.networking.v1.NetworkPolicy",
}
_CRDS = (
    "strimzi/040-Crd-kafka.yaml",
    "strimzi/043-Crd-kafkatopic.yaml",
    "strimzi/044-Crd-kafkauser.yaml",
    "strimzi/045-Crd-kafkanodepool.yaml",
    "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
)


@cache
def _k8s_definitions() -> dict[str, Any]:
    path = VENDOR / "kubernetes" / "definitions-v1.33.0-strict.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _strict(schema: Any) -> Any:
    """An OpenAPI v3 structural schema (a CRD's) as JSON Schema that refuses unknown fields,
    as the API server prunes them and ``kubectl --validate=strict`` refuses them."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif not key.startswith("x-kubernetes-") and key != "nullable":
            out[key] = _strict(value)
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    open_object = (
        schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema
    )
    if schema.get("type") == "object" and "properties" in schema and not open_object:
        out["additionalProperties"] = False
    return out


@cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for name in _CRDS:
        crd = yaml.safe_load((VENDOR / name).read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            found[(f"{group}/{version['name']}", kind)] = schema
    return found


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Why ``document`` is not a valid object of its kind; [] when it is. Built-in kinds:
    Kubernetes v1.33's strict schemas; Strimzi and ServiceMonitor: their CRDs' schemas."""
    key = (document.get("apiVersion", ""), document.get("kind", ""))
    if key in _BUILTIN:
        definitions = _k8s_definitions()
        validator = Draft202012Validator({**definitions, "$ref": f"#/$defs/{_BUILTIN[key]}"})
    elif key in _crd_schemas():
        meta = {
            **_k8s_definitions(),
            "$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        }
        errors = [f"metadata: {e.message}" for e in Draft202012Validator(meta).iter_errors(
            document.get("metadata", {}))]  # fmt: skip
        validator = Draft202012Validator(_crd_schemas()[key])
        return errors + [_say(e) for e in validator.iter_errors(document)]
    else:
        return [f"no schema for {key}"]
    return [_say(e) for e in validator.iter_errors(document)]


def _say(error: Any) -> str:
    return f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"


@cache
def compose_validator() -> Draft7Validator:
    schema = json.loads((VENDOR / "compose-spec" / "compose-spec.json").read_text())
    return Draft7Validator(schema)
