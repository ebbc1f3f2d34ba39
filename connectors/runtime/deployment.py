"""How a source runs in production, declared on its class (``deployment = Deployment(...)``).

``midfield deploy connectors`` turns every registered source's declaration into its compose
service (``deploy/compose.yaml``) and its Kubernetes objects (``deploy/k8s/base/connectors.yaml``:
KafkaUser, volumes, Deployment, Service), with what every connector gets whatever it declares:
its own Kafka identity, non-root, read-only root file system, no capabilities, resource limits,
probes on an HTTP port, and nothing mounted that it does not read (docs/deploy.md).

What the class itself says is used too: a :class:`connectors.runtime.source.Source` keeps a
position (a state volume), an HTTP source serves ``port``; ``keeps_documents`` mounts the
document store; ``needs_api_keys`` mounts the departments file with the keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.runtime.source import Connector

__all__ = ["Deployment", "Input", "SiteValue", "deployed_sources"]


@dataclass(frozen=True, slots=True)
class Input:
    """A folder the source reads that the site provides: a host folder in compose, a
    PersistentVolumeClaim in Kubernetes."""

    name: str
    """The volume's name in the pod: ``spool``."""
    path: str
    """Where the source sees it in its container: ``/var/spool/hylafax/etc``."""
    claim: str
    """The PersistentVolumeClaim the site provides: ``hylafax-spool``."""
    host: str
    """Compose: the host folder, a ``${VARIABLE:-default}`` the operator may set."""
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class SiteValue:
    """A command-line value each site sets (a mail server's URL): compose's
    ``${env:-default}``; in Kubernetes ``$(env)``, from the ``midfield-sources`` ConfigMap."""

    env: str
    key: str
    """Its key in the ``midfield-sources`` ConfigMap."""
    default: str


@dataclass(frozen=True, slots=True)
class Deployment:
    """A source's service: its command line, what it mounts and reads, what it may write."""

    note: str
    """One line on what it is; the comment above its service and its KafkaUser."""
    writes: tuple[str, ...]
    """The topics it produces to (dead letters are added; the audit trail for HTTP intakes)."""
    args: tuple[str | SiteValue, ...] = ()
    """Its options after ``midfield connect <name>`` (an HTTP intake's host and port are
    added)."""
    port: int | None = None
    """An HTTP intake's port, published on the host's loopback (compose), a Service (k8s)."""
    reads: tuple[str, ...] = ()
    """Topics it reads back, outside any consumer group."""
    inputs: tuple[Input, ...] = ()
    secrets: bool = False
    """It reads secrets: compose's ``secrets/<name>.env``, the Secret ``midfield-<name>-secrets``
    in Kubernetes; nothing else does."""
    directory: bool = False
    """It maps department names to codes: the directory (names only, no keys) is mounted."""


def deployed_sources(sources: Iterable[type[Connector]]) -> list[type[Connector]]:
    """The sources that run as a service: those reading files first, then the HTTP intakes,
    each in registry order (the order of the deployment files)."""
    deployed = [cls for cls in sources if cls.deployment is not None]
    return sorted(deployed, key=lambda cls: cls.deployment.port is not None)  # type: ignore[union-attr]
