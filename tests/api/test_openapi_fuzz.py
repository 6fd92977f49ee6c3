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

from tests.api.conftest import Api, headers_for

CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


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
        # Negative cases may drop the Authorization header on purpose; adding ours back would turn
        # them into valid requests. Junk behind a valid sign-in is tests/api/test_junk_input.py's job.
        signed_in = mode is schemathesis.GenerationMode.POSITIVE
        _fuzz(operation, mode, headers_for(credentials, operation.path) if signed_in else {})


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
