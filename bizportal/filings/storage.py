"""Where attachment contents live. A small interface so a shared store can replace local disk."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol


class AttachmentStorage(Protocol):
    def save(self, content: bytes) -> str:
        """Store the content under a new server-chosen key and return the key."""

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in one directory, named by random keys (never by what the user called them)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def save(self, content: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
