"""Backup and restore: one archive with the database and the attachment files; after a wipe, the
same filings and files (same bytes) come back through the portal."""

from __future__ import annotations

import json
import shutil
import tarfile

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from bizportal import create_app
from bizportal.demo import ensure_chambers
from bizportal.extensions import db
from bizportal.filings.models import Attachment, Filing
from tests.support.http import login
from tests.support.storage import CERTIFICATE as PDF
from tests.support.storage import file_with_certificate, node_config, objects, with_test_definition


@pytest.fixture
def own_database(database_url, tmp_path):
    """A database of this test's own (the backup test drops its schema), built by the migrations."""
    from flask_migrate import upgrade

    if database_url.startswith("postgresql"):
        base = make_url(database_url)
        name = f"{base.database}_backup"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        admin, url = None, "sqlite:///" + str(tmp_path / "own.sqlite")
    migrating = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with migrating.app_context():
        upgrade(revision="head")
        db.engine.dispose()
    yield url
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["local", "s3"])
def storage_config(request, tmp_path) -> dict:
    if request.param == "s3":
        return request.getfixturevalue("s3_config")
    return {"STORAGE": "local"}


def node(url: str, issuer: str, tmp_path, storage: dict, seed: bool = True):
    """One portal process on the given database and storage."""
    app = create_app(node_config(url, issuer, tmp_path, **storage))
    if seed:
        with app.app_context():
            ensure_chambers()
    return with_test_definition(app)


def what_the_company_sees(app, reference: str) -> tuple[str, bytes, bytes]:
    """Through the portal, as the company: the filing page, the attachment's bytes, the receipt's."""
    client = app.test_client()
    assert login(client, "anna.becker").status_code == 302
    page = client.get(f"/antraege/{reference}")
    assert page.status_code == 200, page.status_code
    with app.app_context():
        attachment_id = db.session.scalars(select(Attachment.id)).one()
    download = client.get(f"/antraege/anhang/{attachment_id}")
    assert download.status_code == 200
    receipt = client.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    assert receipt.status_code == 200
    return reference, download.data, receipt.data


def wipe(app, storage: dict, tmp_path, s3=None) -> None:
    """What a lost server leaves: no schema, no files."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                for table in inspect(conn).get_table_names():
                    conn.execute(text(f'DROP TABLE "{table}"'))
        db.engine.dispose()
        assert inspect(db.engine).get_table_names() == []
    if storage["STORAGE"] == "s3":
        bucket = storage["S3_BUCKET"]
        for key in objects(s3, bucket):
            s3.delete_object(Bucket=bucket, Key=key)
        assert objects(s3, bucket) == []
    else:
        shutil.rmtree(tmp_path / "uploads")


def test_backup_wipe_restore_gives_back_the_same_filings_and_files(own_database, issuer, tmp_path, storage_config,
                                                                   request):
    s3 = request.getfixturevalue("s3") if storage_config["STORAGE"] == "s3" else None
    app = node(own_database, issuer, tmp_path, storage_config)
    company = app.test_client()
    assert login(company, "anna.becker").status_code == 302
    reference = file_with_certificate(company)
    before = what_the_company_sees(app, reference)
    assert before[1] == PDF and before[2].startswith(b"%PDF")

    archive = tmp_path / "sicherung" / "bizportal.tar"
    made = app.test_cli_runner().invoke(args=["backup", "create", str(archive)])
    assert made.exit_code == 0, made.output
    assert "1 attachment file(s)" in made.output
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: the portal's user only
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = tar.getnames()
        assert {oct(m.mode) for m in tar.getmembers()} == {oct(0o600)}
    assert manifest["database"]["tables"]["filing"] == 1 and manifest["database"]["tables"]["attachment"] == 1
    assert manifest["attachments"]["count"] == 1 and manifest["attachments"]["missing"] == []
    [entry] = manifest["attachments"]["files"]
    assert f"attachments/{entry['key']}" in names and manifest["database"]["file"] in names

    wipe(app, storage_config, tmp_path, s3)

    fresh = node(own_database, issuer, tmp_path, storage_config, seed=False)  # a new process, same settings
    restored = fresh.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert what_the_company_sees(fresh, reference) == before
    with fresh.app_context():
        assert db.session.scalars(select(Filing.reference)).all() == [reference]
    if s3 is not None:
        [key] = objects(s3, storage_config["S3_BUCKET"])
        assert s3.head_object(Bucket=storage_config["S3_BUCKET"], Key=key)["ServerSideEncryption"] == "AES256"

    again = fresh.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert again.exit_code != 0 and "--replace" in again.output  # a live database is not overwritten by accident
    replaced = fresh.test_cli_runner().invoke(args=["backup", "restore", "--replace", str(archive)])
    assert replaced.exit_code == 0, replaced.output
    assert what_the_company_sees(fresh, reference) == before
    for a in (app, fresh):
        with a.app_context():
            db.engine.dispose()


def test_a_damaged_archive_is_refused_before_anything_changes(own_database, issuer, tmp_path):
    storage = {"STORAGE": "local"}
    app = node(own_database, issuer, tmp_path, storage)
    company = app.test_client()
    assert login(company, "anna.becker").status_code == 302
    reference = file_with_certificate(company)
    archive = tmp_path / "b.tar"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(archive)]).exit_code == 0
    data = bytearray(archive.read_bytes())
    spot = data.find(PDF)
    data[spot + len(PDF) - 3] ^= 0xFF  # one flipped byte inside the stored attachment
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    before = what_the_company_sees(app, reference)

    result = app.test_cli_runner().invoke(args=["backup", "restore", "--replace", str(damaged)])
    assert result.exit_code != 0 and "damaged" in result.output and "nothing restored" in result.output
    assert what_the_company_sees(app, reference) == before
    not_an_archive = tmp_path / "x.tar"
    not_an_archive.write_bytes(b"no tar here")
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(not_an_archive)])
    assert result.exit_code != 0 and "not a backup archive" in result.output
    with app.app_context():
        db.engine.dispose()
