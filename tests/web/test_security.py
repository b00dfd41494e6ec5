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


def test_api_docs_still_load(client):
    response = client.get("/docs")
    assert response.status_code == 200 and "content-security-policy" not in response.headers
