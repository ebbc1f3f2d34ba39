"""The README's "Using it by hand" block, run as a newcomer would paste it (issue 19, item 12):
the same lines, in bash, at the top of this checkout; it must end with the sample faxes in the
duty log. The block starts its own embedded broker and worker on the README's port (6066) and
stops both; if it fails half-way, everything it started is killed with its process group."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from tests.harness import REPO

pytestmark = pytest.mark.xdist_group("readme")  # port 6066 and .midfield/ of the checkout


def by_hand_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it by hand", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "the README has no sh block under 'Using it by hand'"
    return found.group(1)


def test_the_readme_by_hand_steps_give_a_duty_log_entry() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIDFIELD_", "KAFKA_"))}
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", by_hand_block()],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(
            f"the README's steps did not finish:\n{out[-2000:]}\n{err[-3000:]}"
        ) from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        # the broker runs detached (midfield broker start): stop it if the block did not
        subprocess.run(
            [str(REPO / ".venv/bin/midfield"), "broker", "stop"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(REPO / ".midfield" / "by-hand", ignore_errors=True)
    assert proc.returncode == 0, f"{out[-2000:]}\n{err[-3000:]}"
    start = out.rindex('{"date"')  # the last curl's answer (curl adds no newline after it)
    answer, _ = json.JSONDecoder().raw_decode(out[start:])
    faxes = [e for e in answer["entries"] if e["channel"] == "fax"]
    assert answer["date"] == "2025-03-14" and faxes, answer
