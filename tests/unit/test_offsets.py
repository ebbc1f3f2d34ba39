"""The offset store: one JSON file per connector, replaced atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.runtime.offsets import OffsetStore
from midfield.errors import StoreError


def test_nothing_committed_loads_none(tmp_path: Path) -> None:
    assert OffsetStore(tmp_path, "fax-log", "main").load() is None


def test_committed_position_loads_back(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path, "fax-log", "main")
    store.commit({"inode": 12, "offset": 3456})
    assert OffsetStore(tmp_path, "fax-log", "main").load() == {"inode": 12, "offset": 3456}


def test_commit_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path, "fax-log", "main")
    for offset in range(5):
        store.commit({"offset": offset})
    assert [p.name for p in tmp_path.iterdir()] == [store.path.name]


def test_instances_do_not_share_a_file(tmp_path: Path) -> None:
    OffsetStore(tmp_path, "fax-log", "a").commit({"offset": 1})
    assert OffsetStore(tmp_path, "fax-log", "b").load() is None


def test_instance_name_cannot_escape_the_state_dir(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path / "state", "fax-log", "../../etc/passwd")
    assert store.path.parent == tmp_path / "state"


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path, "fax-log", "main")
    store.path.write_text("{not json")
    with pytest.raises(StoreError):
        store.load()
