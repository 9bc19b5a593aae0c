"""Stored files: content-addressed, written durably, checked against their hash on every read.

One interface, two places:

- a local folder (the default): ``<root>/<first two hex digits>/<sha256>``, written to a temporary
  file, fsynced and renamed into place;
- S3-compatible object storage (``s3://bucket/prefix``; AWS, MinIO, SeaweedFS) through boto3: the
  same key layout under the prefix. The endpoint comes from ``endpoint_url`` (at the edge: the
  settings' ``mlflow_s3_endpoint_url``) or the environment (``AWS_ENDPOINT_URL``); credentials from
  the usual AWS variables.

A file is named by the SHA-256 of its bytes, so storing the same bytes twice is one file, and a
read that no longer matches its name raises :class:`DamagedFile` instead of handing out wrong bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

__all__ = ["DamagedFile", "LocalFiles", "S3Files", "StoredFiles", "open_stored_files", "sha256_of"]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DamagedFile(OSError):
    """A stored file whose bytes no longer match its SHA-256 (bit rot, a truncated copy, a hand edit)."""

    def __init__(self, digest: str, location: str, found: str) -> None:
        super().__init__(f"stored file {digest} at {location} is damaged: its content hashes to {found[:12]}..., "
                         "not to its name. Restore it from a backup or from the sender; it is not used as it is.")
        self.digest, self.location, self.found = digest, location, found


def _checked(digest: str, data: bytes, location: str) -> bytes:
    found = sha256_of(data)
    if found != digest:
        raise DamagedFile(digest, location, found)
    return data


def _check_digest(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return digest


class StoredFiles(ABC):
    """Content-addressed stored files; see the module docstring."""

    url: str

    @abstractmethod
    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data`` (idempotent); returns (digest, where it is) once the bytes are durable."""

    @abstractmethod
    def _read(self, digest: str) -> bytes:
        """The raw bytes (FileNotFoundError when absent)."""

    @abstractmethod
    def location(self, digest: str) -> str:
        """Where the file with ``digest`` is (a path or an s3:// URL)."""

    @abstractmethod
    def exists(self, digest: str) -> bool: ...

    @abstractmethod
    def digests(self) -> set[str]: ...

    @abstractmethod
    def delete(self, digest: str) -> bool:
        """Remove the file (erasure, retention); returns whether it was there."""

    def get(self, digest: str) -> bytes:
        """The bytes, checked against ``digest`` (:class:`DamagedFile` if they no longer match)."""
        return _checked(digest, self._read(_check_digest(digest)), self.location(digest))

    def local_path(self, digest: str) -> Path:
        """A local file holding the checked bytes (to show or hand to a program that wants a path)."""
        data = self.get(digest)
        cache = Path(tempfile.gettempdir()) / "inloop-stored-files" / digest[:2]
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / digest
        if not path.exists() or path.stat().st_size != len(data):
            tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return path

    def verify(self) -> tuple[int, list[str]]:
        """Read every file: (how many, the digests of the damaged or unreadable ones)."""
        bad = []
        every = sorted(self.digests())
        for digest in every:
            try:
                self.get(digest)
            except OSError:
                bad.append(digest)
        return len(every), bad


class LocalFiles(StoredFiles):
    """Stored files in a local folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def location(self, digest: str) -> str:
        return str(self.path_for(digest))

    def put_path(self, data: bytes) -> tuple[str, Path]:
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

    def put(self, data: bytes) -> tuple[str, str]:
        digest, path = self.put_path(data)
        return digest, str(path)

    def _read(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def local_path(self, digest: str) -> Path:
        self.get(digest)  # checked: a damaged file is never handed out
        return self.path_for(digest)

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).exists()

    def digests(self) -> set[str]:
        if not self.root.exists():
            return set()
        return {p.name for p in self.root.glob("??/*") if not p.name.startswith(".")}

    def delete(self, digest: str) -> bool:
        path = self.path_for(digest)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed


class S3Files(StoredFiles):
    """Stored files in an S3-compatible bucket (``s3://bucket/prefix``)."""

    def __init__(self, url: str, *, endpoint_url: str | None = None, client: Any = None) -> None:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        self.url = url.rstrip("/")
        self.bucket, _, prefix = self.url.removeprefix("s3://").partition("/")
        if not self.bucket:
            raise ValueError(f"{url!r} names no bucket (s3://bucket/prefix)")
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _s3_client(self.endpoint_url)
        return self._client

    def key_for(self, digest: str) -> str:
        return f"{self.prefix}/{digest[:2]}/{digest}" if self.prefix else f"{digest[:2]}/{digest}"

    def location(self, digest: str) -> str:
        return f"s3://{self.bucket}/{self.key_for(digest)}"

    def _head(self, digest: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_for(digest))  # type: ignore[no-any-return]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def put(self, data: bytes) -> tuple[str, str]:
        digest = sha256_of(data)
        head = self._head(digest)
        if head is None or int(head.get("ContentLength", -1)) != len(data):
            self.client.put_object(Bucket=self.bucket, Key=self.key_for(digest), Body=data,
                                   Metadata={"sha256": digest})
        return digest, self.location(digest)

    def _read(self, digest: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_for(digest))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise FileNotFoundError(f"no stored file {digest} at {self.location(digest)}") from None
            raise
        return body.read()  # type: ignore[no-any-return]

    def exists(self, digest: str) -> bool:
        return self._head(digest) is not None

    def digests(self) -> set[str]:
        out = set()
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if len(name) == 64:
                    out.add(name)
        return out

    def delete(self, digest: str) -> bool:
        existed = self.exists(digest)
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(digest))
        return existed


_clients: dict[tuple[int, str | None, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def _s3_client(endpoint_url: str | None) -> Any:
    """One boto3 client per process, endpoint and credentials (creating one costs tens of milliseconds;
    clients are thread-safe). A forked child makes its own."""
    key = (os.getpid(), endpoint_url, os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_PROFILE"))
    with _clients_lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            # Path-style addressing: S3-compatible servers on a plain host:port have no bucket subdomains.
            config = Config(s3={"addressing_style": "path"} if endpoint_url else {},
                            retries={"max_attempts": 5, "mode": "standard"})
            _clients[key] = boto3.client("s3", endpoint_url=endpoint_url, config=config)
        return _clients[key]


def open_stored_files(location: str | Path, *, endpoint_url: str | None = None) -> StoredFiles:
    """The stored files at ``location``: ``s3://bucket/prefix``, or a folder (a path or ``file://`` URL)."""
    text = str(location)
    if text.startswith("s3://"):
        return S3Files(text, endpoint_url=endpoint_url)
    if "://" in text and not text.startswith("file://"):
        raise ValueError(f"stored files go in a folder or at s3://bucket/prefix, not {text!r}")
    return LocalFiles(Path(text.removeprefix("file://")).expanduser())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
