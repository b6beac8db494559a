"""Property-based fuzzing of every operation in the OpenAPI schema (bounded examples):
whatever the body, query or path, the API never answers 5xx.

Requests are made as the city administrator, who reaches every write path, against the
small world of tests/web/conftest.py. Each operation gets ``EXAMPLES`` generated cases."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 30

pytestmark = pytest.mark.slow  # generated cases for every operation


def test_no_server_errors(app, world):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = world.auth("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):  # type: ignore[no-untyped-def]
            # logging out would revoke the admin token the other operations are fuzzed with
            response = case.call(headers=None if operation.path.endswith("/auth/logout") else headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
