"""schemathesis over every operation of the served OpenAPI document, with a staff token holding every scope, on a
demo-like world: no 5xx, and every answer's status code, content type and body as the document says.

One test walks every operation (schemathesis's Python API, with Hypothesis's @given per operation) instead of
`schema.parametrize()`'s one test per operation: the tables are emptied after each test, and building the world
(through the services) for each of a dozen operations would cost more than the whole walk. Half the cases take
the world's real ids for the path parameters, so lists and objects are answered with data, not only with 404s.
Bounded for CI: MAX_EXAMPLES per operation, no deadline, no example database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fellowship.extensions import db, limiter
from tests.api.world import World, put_world, token_header

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def known_ids(world: World) -> dict[str, int]:
    """A real object for each path parameter the API has."""
    return {"call_id": world.call.id, "application_id": world.applications[0].id, "fellow_id": world.fellows[0].id}


def test_every_api_operation_answers_as_its_openapi_document_says_for_a_staff_token(app, world_snapshot, report_proof):
    # No app context held during the walk: each request gets its own, with its own database session, as in a server.
    with app.app_context():
        world = put_world(world_snapshot)
        headers = token_header(world.admin)  # staff and admin: every scope there is
        ids = known_ids(world)
        db.session.remove()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, [op.label for op in operations]
    limiter.enabled = False  # a few hundred requests a minute from one token: the limit has its own test
    failures: list[str] = []
    calls = 0
    try:
        for operation in operations:
            path_names = {p.name for p in operation.path_parameters}
            real = {name: ids[name] for name in path_names if name in ids}
            strategy = st.one_of(operation.as_strategy(headers=headers),
                                 operation.as_strategy(headers=headers, path_parameters=real))

            @given(case=strategy)
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
            def conforms(case: Any) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(checks=CHECKS)

            try:
                conforms()
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                failures.append(f"{operation.label}: {exc}")
    finally:
        limiter.enabled = True
    report_proof("schemathesis", operations=len(operations), requests=calls, failing_operations=len(failures))
    if failures:
        pytest.fail("\n\n".join(failures))
