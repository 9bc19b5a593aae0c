"""Content-addressed storage of received files: the platform's stored files (:mod:`inloop.stored_files`).

A workspace's files are a local folder by default, or S3-compatible object storage by configuration
(``INLOOP_STORED_FILES_URL``); open them with ``Workspace.files()``. Every read is checked against the
file's SHA-256, and a damaged file raises :class:`DamagedFile`. ``ContentStore`` is the local folder
under the name the domain always used.
"""

from __future__ import annotations

from pathlib import Path

from inloop.stored_files import DamagedFile, LocalFiles, StoredFiles, open_stored_files, sha256_of

__all__ = ["ContentStore", "DamagedFile", "StoredFiles", "open_stored_files", "sha256_of"]


class ContentStore:
    """Stored files in a local folder, with the domain's original API (``put`` returns the path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files = LocalFiles(root)

    def path_for(self, digest: str) -> Path:
        return self._files.path_for(digest)

    def put(self, data: bytes) -> tuple[str, Path]:
        """Store ``data`` (idempotent); returns its digest and path once the bytes are on disk."""
        return self._files.put_path(data)

    def get(self, digest: str) -> bytes:
        """The bytes, hash-checked (:class:`DamagedFile` if they no longer match)."""
        return self._files.get(digest)

    def exists(self, digest: str) -> bool:
        return self._files.exists(digest)

    def digests(self) -> set[str]:
        return self._files.digests()
