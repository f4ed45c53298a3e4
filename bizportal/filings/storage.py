"""Where attachment contents live: a small interface with two backends, chosen by
``BIZPORTAL_STORAGE``.

- ``local`` (the embedded default): files in one folder on this machine's disk.
- ``s3``: objects in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, …) that every web
  node and worker shares, optionally encrypted by the store (``BIZPORTAL_S3_SSE``).

Both store under a server-chosen random key (never the name the user gave), only what the caller
has already checked (type by content, size), and read downloads as a stream of chunks. A store
that cannot be reached raises ``StorageUnavailable``: nothing is half-stored, the caller tells the
person and keeps the rest of their input.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..config import StorageSettings

log = logging.getLogger(__name__)

#: size of the pieces a download is sent in
CHUNK_BYTES = 256 * 1024


class StorageUnavailable(RuntimeError):
    """The store could not be reached or refused the operation; nothing was stored or read."""


class AttachmentStorage(Protocol):
    def save(self, content: bytes) -> str:
        """Store the content under a new server-chosen key and return the key."""

    def read(self, key: str) -> bytes:
        """The whole content; ``FileNotFoundError`` for an unknown key."""

    def stream(self, key: str) -> Iterator[bytes]:
        """The content in chunks, opened now (an unknown key or an unreachable store raises
        here, before a response has started)."""

    def delete(self, key: str) -> None:
        """Remove the content; an unknown key is no error."""

    def write(self, key: str, content: bytes) -> None:
        """Store the content under a given key (restoring a backup)."""


def check_key(key: str) -> str:
    """A storage key is what ``save`` makes: letters and digits only (no path can be smuggled in)."""
    if not key or not key.isalnum() or len(key) > 100:
        raise ValueError("invalid storage key")
    return key


def new_key() -> str:
    return secrets.token_hex(16)


class LocalStorage:
    """Files in one directory, named by random keys (never by what the user called them)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def save(self, content: bytes) -> str:
        key = new_key()
        self.write(key, content)
        return key

    def write(self, key: str, content: bytes) -> None:
        path = self._path(key)
        tmp = path.with_suffix(".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except OSError as exc:
            with suppress(OSError):  # the folder itself may be what is broken
                tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot write {path}: {exc}") from exc

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def stream(self, key: str) -> Iterator[bytes]:
        fh = open(self._path(key), "rb")  # noqa: SIM115  (closed by the generator)

        def chunks() -> Iterator[bytes]:
            with fh:
                while block := fh.read(CHUNK_BYTES):
                    yield block

        return chunks()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in one bucket of an S3-compatible store, under ``prefix`` + key.

    Every object is written with the configured server-side encryption (``AES256``: keys held by
    the store; ``aws:kms``: a KMS key, ``kms_key_id`` or the bucket's default). Timeouts are short
    and retries few, so an unreachable store is reported within seconds instead of holding the
    request.
    """

    def __init__(self, settings: StorageSettings):
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.sse = settings.s3_sse
        self.kms_key_id = settings.s3_kms_key_id
        self.client = _client(settings)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, content: bytes) -> str:
        key = new_key()
        self.write(key, content)
        return key

    def write(self, key: str, content: bytes) -> None:
        extra: dict[str, str] = {}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
            if self.sse == "aws:kms" and self.kms_key_id:
                extra["SSEKMSKeyId"] = self.kms_key_id
        with _translated(f"store {self._name(key)}"):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=content,
                                   ContentType="application/octet-stream", **extra)

    def _get(self, key: str) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(self._name(key)) from None
            raise StorageUnavailable(f"read {self._name(key)}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"read {self._name(key)}: {exc}") from exc

    def read(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        with _translated(f"read {self._name(key)}"), body:
            return body.read()

    def stream(self, key: str) -> Iterator[bytes]:
        body = self._get(key)["Body"]

        def chunks() -> Iterator[bytes]:
            with body:
                yield from body.iter_chunks(CHUNK_BYTES)

        return chunks()

    def delete(self, key: str) -> None:
        """Remove the object. Called after the database no longer refers to it, so a store that
        cannot be reached is logged, not raised: the object stays behind, unreferenced."""
        try:
            with _translated(f"delete {self._name(key)}"):
                self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except StorageUnavailable as exc:
            log.warning("attachment object left behind: %s", exc)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn the S3 client's connection and service errors into ``StorageUnavailable``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise StorageUnavailable(f"{what}: {exc}") from exc


def _client(settings: StorageSettings) -> Any:
    import boto3
    from botocore.config import Config

    s3: Any = {"addressing_style": settings.s3_addressing_style}
    config = Config(connect_timeout=settings.s3_timeout, read_timeout=settings.s3_timeout,
                    retries={"max_attempts": 2, "mode": "standard"}, s3=s3)
    return boto3.client(
        "s3", endpoint_url=settings.s3_endpoint or None, region_name=settings.s3_region or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key or None, config=config,
    )


def make_storage(settings: StorageSettings) -> LocalStorage | S3Storage:
    """The backend the settings choose (``config`` has checked the values)."""
    if settings.backend == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.local_dir)
