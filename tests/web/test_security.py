"""Security headers and HTML escaping of document text."""

import pytest

from tests.conftest import api_client


@pytest.fixture
def client(settings, ingested):
    with api_client(settings) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "path", ["/", "/search?q=供应链", "/api/search?q=供应链", "/documents/CASE-T-001", "/nope"]
)
def test_every_answer_carries_security_headers(client, path):
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_api_docs_load_under_their_own_csp(client):
    response = client.get("/docs")
    policy = response.headers["content-security-policy"]
    assert response.status_code == 200 and "'sha256-" in policy and "default-src 'self'" in policy
