"""What every registered source must offer (one contract, checked for each registry entry)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connectors.runtime.http import HttpSource
from connectors.runtime.source import ReadOnceOptions, Source, SourceOptions
from connectors.sources import SOURCES
from midfield.cli import cli


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_is_registered_under_its_own_name(name: str) -> None:
    assert SOURCES[name].name == name
    assert issubclass(SOURCES[name], Source | HttpSource)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_option_is_documented_on_the_command_line(name: str) -> None:
    options = SOURCES[name].options
    assert issubclass(options, SourceOptions)
    result = CliRunner().invoke(cli, ["connect", name, "--help"])
    assert result.exit_code == 0, result.output
    for field_name, field in options.model_fields.items():
        assert field.description, f"{name}: option {field_name} has no description"
        assert "--" + field_name.replace("_", "-") in result.output


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_missing_required_option_is_a_usage_error(name: str) -> None:
    required = [n for n, f in SOURCES[name].options.model_fields.items() if f.is_required()]
    if not required:
        pytest.skip("no required option")
    result = CliRunner().invoke(cli, ["connect", name])
    assert result.exit_code == 2
    assert "--" + required[0].replace("_", "-") in result.output


@pytest.mark.parametrize("name", ["fax-log", "task-sheet"])
def test_file_sources_take_once(name: str) -> None:
    assert issubclass(SOURCES[name].options, ReadOnceOptions)
