"""Content-addressed storage: every received file kept under its SHA-256, written durably, never deleted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["ContentStore", "sha256_of"]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> tuple[str, Path]:
        """Store ``data`` (idempotent); returns its digest and path once the bytes are on disk."""
        digest = sha256_of(data)
        path = self.path_for(digest)
        if path.exists() and path.stat().st_size == len(data):
            return digest, path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        return digest, path

    def get(self, digest: str) -> bytes:
        data = self.path_for(digest).read_bytes()
        if sha256_of(data) != digest:
            raise OSError(f"stored file {digest} is damaged (its content no longer matches its hash)")
        return data

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).exists()

    def digests(self) -> set[str]:
        if not self.root.exists():
            return set()
        return {p.name for p in self.root.glob("??/*") if not p.name.startswith(".")}


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
