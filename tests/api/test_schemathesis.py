"""Property-based run of schemathesis against the served OpenAPI document: no server error and no
response that the document does not describe (status, media type, headers, body schema).

The operations are driven one by one with hypothesis (schemathesis' own pytest plugin does not
run under this pytest version); examples are bounded and derandomized, so a run is repeatable.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.extensions import db
from tests.support.api import ApiCaller

MAX_EXAMPLES = 12


def test_every_operation_keeps_the_served_document(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            case.call_and_validate(headers=dict(office.headers))

        run()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) == 9, tested
    with app.app_context():  # the run reached the endpoints with the token, not only the refusals
        answered = set(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "api.call")))
    assert {"200", "404"} <= answered
