"""The document store: content-addressed, stored once, never by an input's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.runtime.documents import DocumentStore, digest_of
from midfield.errors import StoreError


def test_a_document_is_stored_once_under_its_digest(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    first = store.put(b"II*\x00tiff bytes")
    assert first == store.put(b"II*\x00tiff bytes") == digest_of(b"II*\x00tiff bytes")
    assert store.get(first) == b"II*\x00tiff bytes" and first in store
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize("digest", ["sha256:../../etc/passwd", "md5:abc", "sha256:" + "g" * 64])
def test_a_digest_that_is_not_one_is_refused(tmp_path: Path, digest: str) -> None:
    with pytest.raises(StoreError) as caught:
        DocumentStore(tmp_path).path_of(digest)
    assert caught.value.reason == "bad-digest"


def test_a_missing_document_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        DocumentStore(tmp_path).get(digest_of(b"never stored"))
    assert caught.value.reason == "no-document"
