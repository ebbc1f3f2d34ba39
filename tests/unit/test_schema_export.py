"""Exports for integrators: the AsyncAPI document is valid AsyncAPI 3.0, every example is valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource

from midfield.cli import cli
from schemas.catalog import CATALOG
from schemas.envelope import event_types
from schemas.export import asyncapi, json_schemas

VENDORED = Path(__file__).parent.parent / "vendor" / "asyncapi" / "asyncapi-3.0.0.schema.json"


def test_asyncapi_document_is_valid_against_the_published_schema() -> None:
    validator = Draft7Validator(json.loads(VENDORED.read_text()))
    errors = sorted(validator.iter_errors(asyncapi("1.0")), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_every_catalog_topic_is_a_channel() -> None:
    addresses = {c["address"] for c in asyncapi()["channels"].values()}
    assert addresses == {spec.name.replace("<department>", "{department}") for spec in CATALOG}


def test_every_event_type_is_a_message_with_its_cloudevents_type() -> None:
    messages = asyncapi()["components"]["messages"]
    for name in event_types():
        assert messages[name]["headers"]["properties"]["ce_type"]["const"] == name


def _payload_validator(document: dict[str, Any], name: str) -> Draft7Validator:
    """The message's payload schema, its $refs resolved inside the AsyncAPI document."""
    registry = Registry().with_resource("urn:asyncapi", Resource.opaque(document))
    payload = {**document["components"]["messages"][name]["payload"]}
    text = json.dumps(payload).replace('"#/components/', '"urn:asyncapi#/components/')
    return Draft7Validator(json.loads(text), registry=registry)


@pytest.mark.parametrize("name", sorted(event_types()))
def test_message_examples_match_their_schema_and_their_model(name: str) -> None:
    document = asyncapi()
    examples = document["components"]["messages"][name]["examples"]
    assert examples, f"{name} has no example"
    for example in examples:
        _payload_validator(document, name).validate(example["payload"])
        event_types()[name].model_validate(example["payload"])


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_json_schemas_are_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(json_schemas()[name])


def test_export_command_writes_the_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schemas", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "json-schema").iterdir())
    assert written == sorted(f"{name}.json" for name in json_schemas())
    assert json.loads((tmp_path / "asyncapi.json").read_text())["asyncapi"] == "3.0.0"


def test_the_validator_rejects_a_broken_document() -> None:
    broken = asyncapi()
    del broken["info"]
    broken["channels"]["officeIntakeFaxV1"]["address"] = 42
    assert len(list(Draft7Validator(json.loads(VENDORED.read_text())).iter_errors(broken))) >= 2
