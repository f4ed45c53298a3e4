"""Backup and restore of everything the portal keeps: the database and the attachment files, in
one archive (``flask backup create|restore``; documented in ``docs/storage.md``).

The archive is a plain tar file:

- ``database.dump`` (PostgreSQL: ``pg_dump --format=custom``) or ``database.sqlite`` (SQLite: a
  copy made with SQLite's online backup API);
- ``attachments/<key>``: every file an ``attachment`` row of that database refers to, read
  through the configured storage (local folder or S3 prefix);
- ``manifest.json`` (last): format, time, schema revision, row counts per table, and the size
  and SHA-256 of the database file and of every attachment.

On PostgreSQL the dump and the list of attachments come from one exported snapshot, so the
archive holds exactly the files the dumped rows refer to, while the portal keeps running. A file
refused by the storage is recorded as ``missing`` (and the command says so); a file whose bytes do
not match the row's SHA-256 stops the backup.

A restore checks every member against the manifest before it changes anything, refuses a
database that already holds tables unless asked to replace it, restores the database, then writes
the files back under their keys.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from .common.time import utcnow
from .extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments/"


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why. A failed restore changed
    nothing (checks) or, past the database step, says what is restored and what not."""


def create_backup(app: Flask, target: Path) -> dict[str, Any]:
    """Write the archive to ``target`` (written beside it under a temporary name, renamed when
    complete, so a broken run never leaves a file that looks like a backup). Returns the manifest."""
    target = Path(target)
    storage = app.extensions["bizportal"].storage
    with app.app_context(), tempfile.TemporaryDirectory(prefix="bizportal-backup-") as work:
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with _pg_snapshot(engine) as (conn, snapshot):
                db_name = "database.dump"
                _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                      f"--file={Path(work) / db_name}", f"--dbname={_libpq_url(engine.url)}"], engine.url)
                rows, counts, revision = _contents(conn)
        elif engine.dialect.name == "sqlite":
            db_name = "database.sqlite"
            _sqlite_copy(_sqlite_path(engine.url), Path(work) / db_name)
            copy = create_engine(f"sqlite:///{Path(work) / db_name}")
            with copy.connect() as conn:
                rows, counts, revision = _contents(conn)
            copy.dispose()
        else:
            raise BackupError(f"no backup for the database dialect {engine.dialect.name!r}")

        db_file = Path(work) / db_name
        manifest: dict[str, Any] = {
            "format": FORMAT, "created_at": utcnow().isoformat(), "storage": storage.__class__.__name__,
            "database": {"dialect": engine.dialect.name, "file": db_name, "size": db_file.stat().st_size,
                         "sha256": _sha256_file(db_file), "revision": revision, "tables": counts},
            "attachments": {"count": 0, "bytes": 0, "files": [], "missing": []},
        }
        part = target.with_name(target.name + ".part")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            part.unlink(missing_ok=True)
            part.touch(mode=0o600)  # personal data: readable by the portal's user only, from the first byte
            with tarfile.open(part, "w") as tar:
                tar.add(db_file, arcname=db_name, filter=_private)
                for key, size, sha256 in rows:
                    try:
                        content = storage.read(key)
                    except FileNotFoundError:
                        manifest["attachments"]["missing"].append(key)
                        continue
                    if len(content) != size or hashlib.sha256(content).hexdigest() != sha256:
                        raise BackupError(f"attachment {key}: the stored bytes do not match the database "
                                          "(size or SHA-256); the backup was not written")
                    _add_bytes(tar, ATTACHMENTS + key, content)
                    manifest["attachments"]["files"].append({"key": key, "size": size, "sha256": sha256})
                    manifest["attachments"]["count"] += 1
                    manifest["attachments"]["bytes"] += size
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
            with open(part, "rb") as fh:
                os.fsync(fh.fileno())
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)
    return manifest


def restore_backup(app: Flask, source: Path, replace: bool = False) -> dict[str, Any]:
    """Restore the database and the attachment files of an archive made by ``create_backup``
    into the configured database and storage. Raises ``BackupError`` (nothing changed) for a
    damaged archive, another database dialect, or a database that holds tables without
    ``replace``. Returns the manifest."""
    storage = app.extensions["bizportal"].storage
    with tempfile.TemporaryDirectory(prefix="bizportal-restore-") as work:
        try:
            tar = tarfile.open(source, "r:")  # noqa: SIM115  (closed by the with below)
        except (OSError, tarfile.TarError) as exc:
            raise BackupError(f"{source}: not a backup archive ({exc})") from None
        with tar:
            manifest = _checked_manifest(tar)
            db_info = manifest["database"]
            db_file = Path(work) / db_info["file"]
            _extract_checked(tar, db_info["file"], db_file, db_info["sha256"])
            files = manifest["attachments"]["files"]
            for f in files:  # every file checked before anything is changed
                if _sha256_bytes(_member_bytes(tar, ATTACHMENTS + f["key"])) != f["sha256"]:
                    raise BackupError(f"{source}: attachment {f['key']} is damaged (SHA-256 differs); nothing restored")
            with app.app_context():
                engine = db.engine
                if engine.dialect.name != db_info["dialect"]:
                    raise BackupError(f"the archive holds a {db_info['dialect']} database; this portal uses "
                                      f"{engine.dialect.name}")
                with engine.connect() as conn:
                    tables = inspect(conn).get_table_names()
                if tables and not replace:
                    raise BackupError(f"the database already holds {len(tables)} table(s); restore with --replace "
                                      "to overwrite it")
                db.session.remove()
                engine.dispose()
                if engine.dialect.name == "postgresql":
                    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                          "--single-transaction", "--exit-on-error", f"--dbname={_libpq_url(engine.url)}",
                          str(db_file)], engine.url)
                else:
                    _sqlite_copy(db_file, _sqlite_path(engine.url))
                engine.dispose()
            for f in files:
                storage.write(f["key"], _member_bytes(tar, ATTACHMENTS + f["key"]))
    return manifest


# --- helpers ---------------------------------------------------------------------------------------

@contextmanager
def _pg_snapshot(engine: Any) -> Iterator[tuple[Connection, str]]:
    """A repeatable-read transaction and its exported snapshot id (valid while it is open)."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn, conn.scalar(text("SELECT pg_export_snapshot()"))


def _contents(conn: Connection) -> tuple[list[tuple[str, int, str]], dict[str, int], str | None]:
    """The attachment rows (key, size, SHA-256), the row count of every table and the schema
    revision, as ``conn`` sees them."""
    names = sorted(inspect(conn).get_table_names())
    counts = {name: int(conn.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0) for name in names}
    rows = []
    if "attachment" in names:
        rows = [(r[0], int(r[1]), r[2]) for r in
                conn.execute(text("SELECT storage_key, size, sha256 FROM attachment ORDER BY storage_key"))]
    revision = conn.scalar(text("SELECT version_num FROM alembic_version")) if "alembic_version" in names else None
    return rows, counts, revision


def _libpq_url(url: Any) -> str:
    """The database URL as libpq reads it, without the password (that goes by environment)."""
    plain = make_url(url).set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(args: list[str], url: Any) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (the PostgreSQL client tools of the server's version)")
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _sqlite_path(url: Any) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with SQLite's online backup API (consistent while others write)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode = 0o600
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(utcnow().timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(content))


def _open_member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        fh = tar.extractfile(name)
    except KeyError:
        fh = None
    if fh is None:
        raise BackupError(f"the archive lacks {name}; nothing restored")
    return fh


def _member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    with _open_member(tar, name) as fh:
        return fh.read()


def _checked_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        manifest = json.loads(_member_bytes(tar, MANIFEST))
    except ValueError:
        raise BackupError("the archive's manifest is not readable; nothing restored") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"archive format {manifest.get('format')!r} is not {FORMAT}; nothing restored")
    return manifest


def _extract_checked(tar: tarfile.TarFile, name: str, target: Path, sha256: str) -> None:
    """Copy a member out in chunks (a dump can be large), checking its SHA-256 on the way."""
    fh = _open_member(tar, name)
    digest = hashlib.sha256()
    with fh, open(target, "wb") as out:
        while block := fh.read(1024 * 1024):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != sha256:
        raise BackupError(f"the archive's {name} is damaged (SHA-256 differs); nothing restored")


def _sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
