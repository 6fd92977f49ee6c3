"""Schemathesis against the service's own OpenAPI description (bounded, deterministic, both
databases): no input gives a server error, and every answer matches what the description says
(status codes, content types, bodies). Junk (negative) inputs must be refused with a 4xx.

Each operation is called signed in as whoever may use it (a consumer on /me, an admin on /staff, an
agent key on /agent), so the fuzzing reaches the routes' own checks, not only the sign-in gate."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.api.conftest import Api

CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@pytest.fixture
def credentials(api: Api, consumer: Any) -> dict[str, dict[str, str]]:
    service_no, mobile = consumer(1)
    found = {
        "/api/v1/me": {"Authorization": f"Bearer {api.consumer_token(service_no, mobile)}"},
        "/api/v1/staff": {"Authorization": f"Bearer {api.staff_token('admin')}"},
    }
    agent_key = getattr(api, "agent_key", None)
    if callable(agent_key):
        found["/api/v1/agent"] = {"X-API-Key": agent_key()}
    return found


EXAMPLES_PER_MODE = 25


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_input_breaks_the_service_or_its_description(
    api: Api, credentials: dict[str, dict[str, str]], mode: schemathesis.GenerationMode
) -> None:
    # schemathesis' own pytest fixture loader does not run under pytest 9; its engine does.
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    for operation in operations:
        _fuzz(operation, mode, next((h for p, h in credentials.items() if operation.path.startswith(p)), {}))


def _fuzz(operation: Any, mode: schemathesis.GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers={**headers, **(case.headers or {})}, checks=CHECKS)

    run()
