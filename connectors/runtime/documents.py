"""The document store: received files (fax TIFFs, telegram PDFs) kept by content, in a directory.

A document's name is its SHA-256 (``sha256:<hex>``), stored at ``<root>/<hex[:2]>/<hex>``: the
same bytes are stored once, whoever sends them how often, and events reference a document by
digest, never by a path from the input (no traversal). Writes go to a temporary file in the same
directory, are fsynced and renamed, so a reader never sees half a document.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from midfield.errors import StoreError

__all__ = ["DocumentStore", "digest_of"]


def digest_of(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64 or not _is_hex(hexdigest):
            raise StoreError(f"not a document digest: {digest!r}", reason="bad-digest")
        return self.root / hexdigest[:2] / hexdigest

    def put(self, content: bytes) -> str:
        """Store ``content`` (once) and answer its digest."""
        digest = digest_of(content)
        path = self.path_of(digest)
        if path.exists():
            return digest
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(content)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            raise StoreError(
                f"cannot store document in {self.root}: {exc.strerror}", reason="document-store"
            ) from exc
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path_of(digest).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"no document {digest}", reason="no-document") from exc

    def __contains__(self, digest: str) -> bool:
        return self.path_of(digest).exists()


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
