"""End to end over HTTP: the real `kb serve` uvicorn process of the `live_server` fixture (four
fixture documents, hash embedder): upload, search, read back, home page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.web.conftest import ServerURL

NEW_DOC = (
    "---\n"
    "id: E2E-001\n"
    "type: case\n"
    "title: 西南某物流园区氢能重卡换电站选址项目\n"
    "industry: 物流\n"
    "service_type: 战略规划\n"
    "tags: [氢能, 选址]\n"
    "---\n\n"
    "## 项目背景\n\n客户计划在物流园区建设氢能重卡换电站，需要在三个候选地块之间做选址决策。\n\n"
    "## 分析方法\n\n结合车流热力、加氢半径与电网容量，对候选地块逐一打分。\n"
).encode()
CORRUPT_PDF = b"%PDF-1.7\nthis file was cut off in transit"


@pytest.fixture(scope="module")
def http(live_server: ServerURL) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_server.admin_key}"}
    with httpx.Client(base_url=live_server, timeout=60, headers=headers) as client:
        yield client


def test_upload_then_search_and_read_back(http: httpx.Client) -> None:
    response = http.post(
        "/api/documents",
        files=[
            ("files", ("hydrogen-site.md", NEW_DOC, "text/markdown")),
            ("files", ("truncated.pdf", CORRUPT_PDF, "application/pdf")),
        ],
    )
    assert response.status_code == 200, response.text
    good, bad = response.json()["results"]
    assert (good["filename"], good["status"], good["doc_id"]) == (
        "hydrogen-site.md",
        "added",
        "E2E-001",
    )
    assert good["chunks"] >= 1
    assert bad["filename"] == "truncated.pdf" and bad["status"] == "failed"
    assert "truncated.pdf" in bad["message"] and bad["doc_id"] is None

    found = http.get("/api/search", params={"q": "氢能重卡换电站选址"})
    assert found.status_code == 200
    first = found.json()["hits"][0]
    assert first["doc_id"] == "E2E-001"
    assert first["metadata"]["industry"] == "物流"
    assert "<mark>" in first["snippet"]

    doc = http.get("/api/documents/E2E-001")
    assert doc.status_code == 200
    detail = doc.json()
    assert detail["title"] == "西南某物流园区氢能重卡换电站选址项目"
    assert [s["heading"] for s in detail["sections"]] == ["项目背景", "分析方法"]
    assert "三个候选地块" in detail["sections"][0]["chunks"][0]["text"]
    assert "加氢半径" in detail["sections"][1]["chunks"][0]["text"]


def test_home_page_is_html(http: httpx.Client) -> None:
    response = http.get("/", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    assert 'class="facet-link' in response.text
    assert "篇文档" in response.text
