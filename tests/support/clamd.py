"""A ClamAV daemon of the test's own: ``clamd`` in the foreground with a config and a signature
database in a temporary folder, listening on a local socket.

Signature downloads (freshclam) cannot reach the internet in tests and CI, so the database is one
hash signature (``.hdb``: MD5, size, name) that detects the EICAR test file. CI installs
``clamav-daemon`` (``.ci/run``); a missing ``clamd`` is an error, not a skip.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the EICAR anti-virus test file (harmless; every scanner reports it as a virus)
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Bizportal.Test.EICAR"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


@contextmanager
def running_clamd(folder: Path, extra_files: dict[str, bytes] | None = None) -> Iterator[str]:
    """Start clamd with a signature database that detects ``EICAR`` (and the bytes in
    ``extra_files``, name → content); yields its address (``unix:…``); stops it at the end."""
    if not Path(CLAMD).exists():
        raise RuntimeError("clamd is not installed: apt-get install clamav-daemon (.ci/run does)")
    database = folder / "db"
    database.mkdir(parents=True, exist_ok=True)
    lines = [f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}"]
    lines += [f"{hashlib.md5(c).hexdigest()}:{len(c)}:Bizportal.Test.{n}" for n, c in (extra_files or {}).items()]
    (database / "bizportal-test.hdb").write_text("\n".join(lines) + "\n")
    sock = folder / "clamd.sock"
    config = folder / "clamd.conf"
    config.write_text("\n".join([
        "Foreground yes", f"DatabaseDirectory {database}", f"LocalSocket {sock}", f"PidFile {folder / 'clamd.pid'}",
        f"TemporaryDirectory {folder}", f"LogFile {folder / 'clamd.log'}", "StreamMaxLength 30M",
        "SelfCheck 3600", "",
    ]))
    proc = subprocess.Popen([CLAMD, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not _answers(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr and proc.poll() is not None else ""
                raise RuntimeError(f"clamd did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield f"unix:{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


@contextmanager
def silent_listener() -> Iterator[str]:
    """A TCP port that accepts connections and reads what is sent, but never answers (a hung
    scanner); yields its address (``tcp:127.0.0.1:<port>``)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            conn.settimeout(0.1)
            threading.Thread(target=_drain, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp:127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def _drain(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue
        except OSError:
            return


def closed_port() -> str:
    """The address of a TCP port with nothing listening (a scanner that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp:127.0.0.1:{port}"
