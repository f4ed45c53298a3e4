"""A real S3-compatible server on loopback (moto's server mode: the S3 HTTP protocol, not an
in-process mock), a bucket per test, and portal apps served over HTTP."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from werkzeug.serving import make_server

from bizportal.catalog.loader import load_definition_file
from tests.support.filing import REFERENCE_RE, path_of, post_step, start_draft
from tests.support.http import csrf_token

REGION = "eu-central-1"
CERTIFICATE = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n% Meisterbrief fuer die Sicherung\n"
BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
           "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}
PERSONEN = {"inhaber-family_name": "Becker", "inhaber-given_names": "Anna", "inhaber-birth_date": "1980-05-17",
            "geschaeftsfuehrer-0-name": "Anna Becker"}
CREDENTIALS = {"aws_access_key_id": "bizportal-test", "aws_secret_access_key": "bizportal-test-secret"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    """A boto3 client of the test's own view on the store (to look at what the portal put there)."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **CREDENTIALS)


@pytest.fixture
def bucket(s3) -> str:
    name = f"bizportal-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def s3_config(s3_endpoint, bucket) -> dict:
    """The settings of the S3 backend, as an operator sets them (``BIZPORTAL_STORAGE=s3`` …)."""
    return {"STORAGE": "s3", "S3_ENDPOINT": s3_endpoint, "S3_BUCKET": bucket, "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "S3_PREFIX": "portal/attachments/", "S3_SSE": "AES256", "S3_TIMEOUT": 2}


def objects(s3, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def with_test_definition(app):
    """The test service with a file field (``tests/data/testantrag.toml``) in the app's catalog."""
    definition = load_definition_file(Path(__file__).parent.parent / "data" / "testantrag.toml")
    app.extensions["bizportal"].catalog = {**app.extensions["bizportal"].catalog, "testantrag": definition}
    return app


@pytest.fixture
def serve():
    """Serve an app over real HTTP on a free loopback port; returns its base URL."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(5)


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
    done = client.post(review, data={"csrf_token": csrf_token(page), "declaration": "y"})
    assert done.status_code == 302
    match = REFERENCE_RE.search(done.headers["Location"])
    assert match, done.headers["Location"]
    return match.group(0)
