"""How Midfield installs and how its test run reads (issue 19, item 11): no deprecation banner
from the package's own metadata, and no warning that is not ours drowning the ones that are."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.harness import REPO


def test_the_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"  # PEP 639; a table is deprecated
    setuptools = next(r for r in project["build-system"]["requires"] if "setuptools" in r)
    found = re.search(r">=\s*(\d+)", setuptools)
    assert found and int(found.group(1)) >= 77, "the SPDX form needs setuptools 77"


def test_a_test_that_uses_kafka_python_runs_without_warnings() -> None:
    """One module that imports kafka-python's protocol (and so loads its schemas) under the
    project's own pytest configuration: the summary names no warning."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "tests/unit/test_fetch_wait.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0 and " passed" in summary, done.stdout[-2000:]
    assert "warning" not in summary, summary
