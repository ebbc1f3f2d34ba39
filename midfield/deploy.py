"""Kubernetes manifests made from the topic catalog: one Strimzi ``KafkaTopic`` per topic.

Pure: catalog rows and topic settings in, plain dicts out; ``midfield deploy k8s-topics``
writes them as YAML into ``deploy/k8s/overlays/<site>/topics.yaml``. Partitions, replicas and
topic configs are the ones ``midfield topics create`` uses
(:func:`midfield.bus.topics.topic_configs`), so a cluster made either way holds the same topics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from midfield import settings as settings_module
from midfield.bus.topics import topic_configs
from midfield.errors import ConfigError
from midfield.settings import TopicSettings
from schemas.catalog import TopicSpec

__all__ = ["STRIMZI_API", "kafka_topic", "kafka_topics", "settings_env_names"]

STRIMZI_API = "kafka.strimzi.io/v1"
"""Strimzi 1.x serves only v1 (v1beta2 was removed in 1.0)."""

# A Kubernetes object name: a DNS-1123 subdomain (lower case, digits, '-' and '.').
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def kafka_topic(spec: TopicSpec, topics: TopicSettings, *, cluster: str) -> dict[str, Any]:
    """The ``KafkaTopic`` of one concrete catalog row, for the Strimzi cluster ``cluster``."""
    if spec.per_department:
        raise ConfigError(f"{spec.name} is a template: make it concrete first",
                          reason="template-topic")  # fmt: skip
    if len(spec.name) > 253 or not _K8S_NAME.match(spec.name):
        raise ConfigError(f"{spec.name!r} is not a valid Kubernetes object name",
                          reason="topic-name")  # fmt: skip
    return {
        "apiVersion": STRIMZI_API,
        "kind": "KafkaTopic",
        "metadata": {
            "name": spec.name,
            "labels": {
                "strimzi.io/cluster": cluster,
                "app.kubernetes.io/part-of": "midfield",
            },
            "annotations": {"midfield/description": spec.description},
        },
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions or topics.partitions,
            "replicas": topics.replication_factor,
            "config": topic_configs(spec, topics),
        },
    }


def kafka_topics(
    specs: Iterable[TopicSpec], topics: TopicSettings, *, cluster: str = "midfield"
) -> list[dict[str, Any]]:
    """One ``KafkaTopic`` per concrete catalog row, in catalog order."""
    return [kafka_topic(spec, topics, cluster=cluster) for spec in specs]


def settings_env_names(*more: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class of :mod:`midfield.settings` (and ``more``:
    the sources' own) reads: its prefix plus the field name, or the field's aliases where it
    has them (``KAFKA_BOOTSTRAP_SERVERS``). Deployment files are checked against this list."""
    names: set[str] = set()
    classes = [getattr(settings_module, name) for name in settings_module.__all__]
    for cls in [*classes, *more]:
        if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
            continue
        prefix = cls.model_config.get("env_prefix", "")
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(choice for choice in alias.choices if isinstance(choice, str))
            elif isinstance(alias, str):
                names.add(alias)
            else:
                names.add(f"{prefix}{field_name}".upper())
    return names
