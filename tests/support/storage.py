"""Attachment storage in tests: the S3 settings of a test bucket, what is in a bucket, the test
service with a file field, filing it with a certificate, and a port nothing listens on."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from bizportal.catalog.loader import load_definition_file
from tests.support.filing import REFERENCE_RE, path_of, post_step, start_draft
from tests.support.http import submit_form
from tests.support.pdfs import minimal_pdf

REGION = "eu-central-1"
CERTIFICATE = minimal_pdf("Meisterbrief fuer die Sicherung")
BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
           "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}
PERSONEN = {"inhaber-family_name": "Becker", "inhaber-given_names": "Anna", "inhaber-birth_date": "1980-05-17",
            "geschaeftsfuehrer-0-name": "Anna Becker"}
CREDENTIALS = {"aws_access_key_id": "bizportal-test", "aws_secret_access_key": "bizportal-test-secret"}


def objects(s3, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def with_test_definition(app):
    """The test service with a file field (``tests/data/testantrag.toml``) in the app's catalog."""
    definition = load_definition_file(Path(__file__).parent.parent / "data" / "testantrag.toml")
    portal = app.extensions["bizportal"]
    portal.snapshot = dataclasses.replace(portal.snapshot, services={**portal.catalog, "testantrag": definition})
    return app


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_with_certificate(client) -> str:
    """File the test service with the certificate (``CERTIFICATE``) as a signed-in company; the reference."""
    path = start_draft(client, "testantrag")
    post_step(client, path, BETRIEB)
    crafts = path.rsplit("/", 1)[0] + "/handwerk"
    assert post_step(client, crafts, {}, files={"meisterbrief": (CERTIFICATE, "meisterbrief.pdf")}).status_code == 302
    resp = post_step(client, path.rsplit("/", 1)[0] + "/personen", PERSONEN)
    review = path_of(resp.headers["Location"])
    page = client.get(review).get_data(as_text=True)
    done = client.post(review, data=submit_form(page))
    assert done.status_code == 302
    match = REFERENCE_RE.search(done.headers["Location"])
    assert match, done.headers["Location"]
    return match.group(0)


def node_config(database_url: str, issuer: str, folder: Path, **extra) -> dict:
    """The settings of one portal process on its own database and folders (as the suite's apps)."""
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "COMPANY_OIDC_ISSUER": issuer,
            "STAFF_OIDC_ISSUER": issuer, "SECRET_KEY": "test-secret", "UPLOAD_DIR": str(folder / "uploads"),
            "MAIL_BACKEND": "folder", "MAIL_FOLDER": str(folder / "mail"), **extra}
