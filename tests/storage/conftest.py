"""Fixtures of the storage tests: a real S3-compatible server on loopback (moto's server mode: the
S3 HTTP protocol, not an in-process mock), a bucket per test, and portal apps served over HTTP."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest
from werkzeug.serving import make_server

from tests.support.storage import CREDENTIALS, REGION


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
