"""Property-based API testing with schemathesis against the service's own OpenAPI schema
(a bounded number of generated requests per operation): no answer may be a server error."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.library import Library
from tests.conftest import DATA, make_key
from web.app import create_app

EXAMPLES = 12


def test_no_operation_answers_with_a_server_error(tmp_path):
    config = Settings(data_dir=tmp_path / "index", embedder="hash")
    ingest_paths(Library(config), [DATA / "library"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(config))
    admin = {"Authorization": f"Bearer {make_key(config, 'admin')}"}  # every operation is open
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(headers=admin)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.text[:300],
            )

        check()
        checked.append(operation.label)
    assert len(checked) >= 20, checked
