"""Virus scanning of uploads through a ClamAV daemon (``clamd``), spoken to over its socket.

The protocol (clamd(8), command ``INSTREAM``): the client sends ``zINSTREAM\\0``, then the content
in chunks, each prefixed with its length as a 4-byte big-endian number, then a zero length; clamd
answers one line ending in NUL: ``stream: OK``, ``stream: <signature> FOUND`` or
``<reason> ERROR``. One connection per scan.

The scanner fails closed: ``scan`` returns a verdict only when clamd answered; everything else
(nothing listening, no answer within the timeout, an error answer, a connection dropped midway)
raises ``ScannerUnavailable``, and the caller must not store the file.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

#: bytes per INSTREAM chunk (clamd's default StreamMaxLength is far larger than one chunk)
CHUNK = 64 * 1024
#: the longest answer line read from clamd (a signature name is short)
MAX_ANSWER = 4096


class ScannerUnavailable(Exception):
    """clamd could not give a verdict (not reachable, no answer in time, an error answer)."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None = None  #: the name of the signature that matched, when not clean


@dataclass(frozen=True)
class ClamdScanner:
    """A clamd at ``address``: ``unix:/path/to/clamd.ctl`` (or an absolute path) or ``tcp:host:port``.

    ``timeout`` bounds connecting and every wait for clamd, in seconds.
    """

    address: str
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self._target()  # refuse a malformed address when the app starts, not at the first upload

    def _target(self) -> tuple[int, str | tuple[str, int]]:
        text = self.address.strip()
        if text.startswith("unix:"):
            text = text[len("unix:"):]
        if text.startswith("/"):
            return socket.AF_UNIX, text
        if text.startswith("tcp:"):
            host, sep, port = text[len("tcp:"):].lstrip("/").rpartition(":")
            if sep and host and port.isdigit():
                return socket.AF_INET if ":" not in host.strip("[]") else socket.AF_INET6, (host.strip("[]"),
                                                                                             int(port))
        raise ValueError(f"clamd address must be 'unix:/path' or 'tcp:host:port', not {self.address!r}")

    def _connect(self) -> socket.socket:
        """A socket connected to clamd, with the timeout set (closed by the caller's ``with``)."""
        family, target = self._target()
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(target)
        except BaseException:
            sock.close()
            raise
        return sock

    def scan(self, content: bytes) -> Verdict:
        """Scan ``content``; a ``Verdict`` when clamd answered, else ``ScannerUnavailable``."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                view = memoryview(content)
                for start in range(0, len(content), CHUNK):
                    piece = view[start:start + CHUNK]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
                sock.sendall(struct.pack(">I", 0))
                answer = _read_answer(sock)
        except TimeoutError as exc:
            raise ScannerUnavailable(f"clamd at {self.address} did not answer within {self.timeout:g} s") from exc
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {self.address} is not reachable: {type(exc).__name__}") from exc
        return _verdict(answer, self.address)

    def ping(self) -> bool:
        """Whether clamd answers ``PING`` with ``PONG`` (for health checks)."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zPING\0")
                return _read_answer(sock) == "PONG"
        except OSError:
            return False


def _read_answer(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(MAX_ANSWER)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_ANSWER:
            break
    if not data.endswith(b"\0"):
        raise ConnectionError("clamd closed the connection without a complete answer")
    return data[:-1].decode("utf-8", errors="replace").strip()


def _verdict(answer: str, address: str) -> Verdict:
    _, _, result = answer.partition(": ")
    result = result or answer
    if result == "OK":
        return Verdict(clean=True)
    if result.endswith(" FOUND"):
        return Verdict(clean=False, signature=result[: -len(" FOUND")].strip() or "unknown")
    raise ScannerUnavailable(f"clamd at {address} answered with an error: {answer[:200]}")
