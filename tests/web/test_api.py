"""The FastAPI service in-process: `api_client(settings)` (an admin key, lifespan included) over the
four fixture documents, hash embedder. JSON API, error shape, uploads, OpenAPI and the
server-rendered pages."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.embed import HashEmbedder
from kb.library import Library
from tests.conftest import EVERY_BACKEND, api_client
from tests.web.conftest import HIT_FIELDS

pytestmark = EVERY_BACKEND  # SQLite, a real PostgreSQL, and the indexes in Milvus

ALL_DOCS = {"CASE-T-001", "CASE-T-002", "SOP-T-001", "LES-T-001"}
AUTO_TITLE = "华东某汽车零部件企业供应链降本项目"
AUTO_HEADINGS = ["一、项目背景", "二、问题诊断", "三、解决方案", "四、项目成效"]

GOOD_MD = (
    "---\n"
    "id: CASE-U-001\n"
    "type: case\n"
    "title: 西北某光伏电站运维降本项目\n"
    "industry: 能源\n"
    "service_type: 运营优化\n"
    "date: 2024-04-01\n"
    "tags: [光伏, 运维]\n"
    "---\n\n"
    "## 背景\n\n某光伏电站运维成本过高，组件巡检完全依靠人工，故障发现平均滞后九天。\n\n"
    "## 方案\n\n引入无人机巡检与红外热斑识别，按故障等级派单。\n"
).encode()
GBK_TXT = "某三甲医院门诊排队时间过长，挂号流程繁琐，患者满意度持续下降。".encode("gbk")
CORRUPT_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a real pdf"
XSS_TXT = "危险内容测试：<script>alert(1)</script> 页面必须转义。".encode()
MD = "text/markdown"
LONG_QUERY = "a" * 10_000  # ASCII: 10,000 Chinese characters would be a 90 KB URL


# --- helpers ---------------------------------------------------------------------------------


def open_client(settings: Settings) -> TestClient:
    """A client whose lifespan runs on `with`; server errors come back as 500 answers."""
    return api_client(settings, raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings, library: Library, docs_dir: Path) -> Iterator[TestClient]:
    report = ingest_paths(library, [docs_dir])
    assert report.summary() == {"added": 4}, report.results
    with open_client(settings) as test_client:
        yield test_client


@pytest.fixture
def uploads(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def files_in(folder: Path) -> list[str]:
    """Every name in a folder, hidden ones included ([] when it does not exist)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, str]:
    """The `{"error": {"code", "message"}}` body of an error answer, checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, body
    assert isinstance(error["message"], str) and error["message"].strip()
    if code is not None:
        assert error["code"] == code, body
    return error


def search(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def upload(client: TestClient, *files: tuple[str, bytes, str], path: str = "/api/documents"):
    return client.post(path, files=[("files", f) for f in files])


def upload_results(client: TestClient, *files: tuple[str, bytes, str]) -> list[dict[str, Any]]:
    response = upload(client, *files)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def snapshot(client: TestClient) -> dict[str, Any]:
    """What a user can observe of the library: sizes, index generation, listing, a search."""
    stats = client.get("/api/stats").json()
    found = search(client, "供应商 库存 门店")
    return {
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "generation": stats["index"]["generation"],
        "listing": client.get("/api/documents").json(),
        "hits": [(h["chunk_id"], h["score"], h["doc_id"]) for h in found["hits"]],
        "total": found["total"],
        "facets": found["facets"],
    }


def doc_ids(result: dict[str, Any]) -> list[str]:
    return [hit["doc_id"] for hit in result["hits"]]


# --- search ----------------------------------------------------------------------------------


def test_search_returns_hits_with_every_field_facets_and_timing(client: TestClient) -> None:
    result = search(client, "供应链")
    assert result["query"] == "供应链"
    assert result["mode"] == "hybrid"
    assert result["offset"] == 0
    assert isinstance(result["took_ms"], float) and result["took_ms"] >= 0
    assert result["total"] >= len(result["hits"]) > 0
    first = result["hits"][0]
    assert set(first) >= HIT_FIELDS
    assert first["doc_id"] == "CASE-T-001"
    assert first["title"] == AUTO_TITLE
    assert first["type"] == "case"
    assert first["source"].endswith("case-auto.md")
    assert first["heading"] in AUTO_HEADINGS
    assert isinstance(first["chunk_id"], int)
    assert isinstance(first["score"], float)
    assert "<mark>" in first["snippet"] and "</mark>" in first["snippet"]
    assert re.sub(r"</?mark>", "", first["snippet"]).strip("…") in first["text"]
    assert first["metadata"]["industry"] == "制造业"
    assert first["metadata"]["tags"] == ["供应链", "成本控制"]
    by_doc = search(client, "供应链", by_doc="true")
    assert by_doc["facets"]["industry"]["制造业"] == 1
    assert sum(result["facets"]["type"].values()) == result["total"]
    assert set(result["facets"]) <= {"type", "industry", "service_type", "stage", "tags"}
    assert result["facets"]["type"]["case"] >= 1


def test_repeated_industry_filter_restricts_hits_and_facets(client: TestClient) -> None:
    only = search(client, "供应链 门店", filter="industry:制造业")
    assert only["hits"] and set(doc_ids(only)) == {"CASE-T-001"}
    assert only["facets"]["industry"] == {"制造业": only["total"]}
    # the same field twice is OR-ed (facet style) ...
    either = client.get(
        "/api/search",
        params=[("q", "供应链 门店"), ("filter", "industry:制造业"), ("filter", "industry:零售")],
    ).json()
    assert set(doc_ids(either)) == {"CASE-T-001", "CASE-T-002"}
    # ... different fields are AND-ed
    neither = client.get(
        "/api/search",
        params=[("q", "供应链"), ("filter", "industry:制造业"), ("filter", "type:sop")],
    ).json()
    assert neither["hits"] == [] and neither["total"] == 0


def test_date_filter_keeps_documents_from_that_date_on(client: TestClient) -> None:
    result = search(client, "项目 客户 门店", filter="date>=2022-01-01", k=20)
    assert result["hits"]
    assert all(hit["metadata"]["date"] >= "2022-01-01" for hit in result["hits"])
    assert set(doc_ids(result)) == {"CASE-T-001", "SOP-T-001"}


def test_by_doc_groups_passages_under_unique_documents(client: TestClient) -> None:
    result = search(client, "供应商 库存", by_doc="true")
    ids = doc_ids(result)
    assert len(ids) == len(set(ids)) and ids[0] == "CASE-T-001"
    assert result["total"] == len(ids)
    first = result["hits"][0]
    assert 1 < len(first["passages"]) <= 3
    assert first["passages"][0]["chunk_id"] == first["chunk_id"]
    assert {"chunk_id", "heading", "score", "snippet"} <= set(first["passages"][0])
    assert "<mark>" in first["passages"][0]["snippet"]
    passage_ids = [p["chunk_id"] for hit in result["hits"] for p in hit["passages"]]
    assert len(passage_ids) == len(set(passage_ids))
    # without by_doc there are no grouped passages
    assert search(client, "供应商 库存")["hits"][0]["passages"] is None


def test_lexical_mode_only_returns_passages_sharing_a_term(client: TestClient) -> None:
    result = search(client, "供应商", mode="lexical")
    assert result["mode"] == "lexical"
    assert result["hits"] and set(doc_ids(result)) == {"CASE-T-001"}
    # a passage matches through its own text or its document's title (供应链降本项目)
    assert all("供应" in hit["text"] + hit["title"] for hit in result["hits"])
    assert sum("<mark>供应商</mark>" in hit["snippet"] for hit in result["hits"]) == 3
    assert result["total"] <= search(client, "供应商")["total"]


def test_dense_mode_ranks_by_vectors(client: TestClient) -> None:
    result = search(client, "供应链", mode="dense", k=20)
    assert result["mode"] == "dense"
    assert result["hits"][0]["doc_id"] == "CASE-T-001"
    scores = [hit["score"] for hit in result["hits"]]
    assert scores == sorted(scores, reverse=True)
    # a hit shares a term with the query or reaches the relevance floor; other neighbours are
    # no hits, however many are asked for
    assert len(result["hits"]) == result["total"] < 20
    sharing = {h["chunk_id"] for h in search(client, "供应链", mode="lexical", k=100)["hits"]}
    assert all(
        h["chunk_id"] in sharing or h["score"] >= HashEmbedder.relevance_floor
        for h in result["hits"]
    )


def test_offset_pages_are_disjoint_and_follow_the_ranking(client: TestClient) -> None:
    whole = search(client, "项目", k=9)
    pages = [search(client, "项目", k=3, offset=offset) for offset in (0, 3, 6)]
    assert [p["offset"] for p in pages] == [0, 3, 6]
    ids = [hit["chunk_id"] for page in pages for hit in page["hits"]]
    assert len(ids) == 9 and len(set(ids)) == 9
    assert ids == [hit["chunk_id"] for hit in whole["hits"]]
    assert {p["total"] for p in pages} == {whole["total"]}


def test_pages_do_not_overlap_when_the_candidate_pool_is_small(
    settings: Settings, library: Library, docs_dir: Path
) -> None:
    ingest_paths(library, [docs_dir])
    settings.candidates_factor = 1
    with open_client(settings) as client:
        pages = [search(client, "项目", k=3, offset=offset) for offset in (0, 3, 6)]
    ids = [hit["chunk_id"] for page in pages for hit in page["hits"]]
    assert len(ids) == len(set(ids)), ids
    assert len({page["total"] for page in pages}) == 1


def test_total_does_not_depend_on_the_page(client: TestClient) -> None:
    totals = [search(client, "供应链", k=1, offset=offset)["total"] for offset in (0, 1, 5)]
    assert len(set(totals)) == 1, totals


def test_simplified_query_finds_the_traditional_document(client: TestClient) -> None:
    result = search(client, "门店人效 排队")
    first = result["hits"][0]
    assert first["doc_id"] == "CASE-T-002"
    assert first["title"] == "華南某連鎖零售企業門店運營優化項目"
    assert "<mark>門店" in first["snippet"]  # the original script is kept and marked
    assert search(client, "门店", mode="lexical")["hits"][0]["doc_id"] == "CASE-T-002"


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"q": ""}, 400, "invalid_query"),
        ({"q": "   "}, 400, "invalid_query"),
        ({}, 422, "invalid_request"),
        ({"q": "供应链", "k": 0}, 422, "invalid_request"),
        ({"q": "供应链", "k": 1000}, 422, "invalid_request"),
        ({"q": "供应链", "k": "abc"}, 422, "invalid_request"),
        ({"q": "供应链", "offset": -1}, 422, "invalid_request"),
        ({"q": "供应链", "mode": "bogus"}, 422, "invalid_request"),
        ({"q": "供应链", "by_doc": "maybe"}, 422, "invalid_request"),
        ({"q": "供应链", "filter": "industry"}, 400, "invalid_filter"),
        ({"q": "供应链", "filter": "industry:"}, 400, "invalid_filter"),
    ],
)
def test_bad_search_requests_answer_one_error_shape(
    client: TestClient, params: dict[str, Any], status: int, code: str
) -> None:
    error = error_of(client.get("/api/search", params=params), status, code)
    if status == 422:
        name = next((p for p in ("k", "offset", "mode", "by_doc") if p in params), "q")
        assert name in error["message"]


def test_overlong_query_is_refused_with_the_limit(client: TestClient, settings: Settings) -> None:
    error = error_of(client.get("/api/search", params={"q": LONG_QUERY}), 400, "invalid_query")
    assert str(settings.max_query_chars) in error["message"]
    assert "10000" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/documents/NOPE-404"),
        ("GET", "/api/documents/NOPE-404/file"),
        ("GET", "/api/documents/NOPE-404/similar"),
        ("DELETE", "/api/documents/NOPE-404"),
    ],
)
def test_unknown_document_is_404(client: TestClient, method: str, path: str) -> None:
    error = error_of(client.request(method, path), 404, "not_found")
    assert "NOPE-404" in error["message"]


def test_unknown_route_and_wrong_method_use_the_same_shape(client: TestClient) -> None:
    error_of(client.get("/api/nope"), 404, "not_found")
    error_of(client.get("/api/documents/CASE-T-001/nope"), 404, "not_found")
    error_of(client.put("/api/search", params={"q": "x"}), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"files": [', "application/json"),
        (b"not json at all", "application/json"),
        (b"--xx\r\ngarbage without headers", "multipart/form-data; boundary=xx"),
        (b"", "multipart/form-data"),
    ],
)
def test_malformed_upload_bodies_are_4xx_never_500(
    client: TestClient, uploads: Path, content: bytes, content_type: str
) -> None:
    response = client.post(
        "/api/documents", content=content, headers={"content-type": content_type}
    )
    assert 400 <= response.status_code < 500, response.text
    error_of(response, response.status_code)
    assert files_in(uploads) == []


def test_upload_without_files_is_422(client: TestClient) -> None:
    error = error_of(client.post("/api/documents"), 422, "invalid_request")
    assert "files" in error["message"]


def test_unusable_filename_is_a_client_error(client: TestClient, uploads: Path) -> None:
    error_of(upload(client, ("..", b"# x\n\ntext", MD)), 422, "document_error")
    assert files_in(uploads) == []


# --- documents -------------------------------------------------------------------------------


def test_document_list_pages_with_total(client: TestClient) -> None:
    first = client.get("/api/documents", params={"limit": 3}).json()
    second = client.get("/api/documents", params={"limit": 3, "offset": 3}).json()
    assert (first["total"], first["offset"], first["limit"]) == (4, 0, 3)
    assert (second["total"], second["offset"], second["limit"]) == (4, 3, 3)
    assert len(first["documents"]) == 3 and len(second["documents"]) == 1
    ids = [d["doc_id"] for d in first["documents"] + second["documents"]]
    assert set(ids) == ALL_DOCS and len(ids) == 4
    doc = next(d for d in first["documents"] + second["documents"] if d["doc_id"] == "CASE-T-001")
    assert doc["title"] == AUTO_TITLE and doc["format"] and doc["chunk_count"] == 4
    assert doc["metadata"]["industry"] == "制造业"
    empty = client.get("/api/documents", params={"offset": 10}).json()
    assert empty["total"] == 4 and empty["documents"] == []


def test_document_list_filters(client: TestClient) -> None:
    cases = client.get("/api/documents", params={"filter": "type:case"}).json()
    assert cases["total"] == 2
    assert {d["doc_id"] for d in cases["documents"]} == {"CASE-T-001", "CASE-T-002"}
    recent = client.get("/api/documents", params={"filter": "date>=2022-01-01"}).json()
    assert {d["doc_id"] for d in recent["documents"]} == {"CASE-T-001", "SOP-T-001"}
    error_of(client.get("/api/documents", params={"filter": "???"}), 400, "invalid_filter")
    error_of(client.get("/api/documents", params={"limit": 0}), 422, "invalid_request")
    error_of(client.get("/api/documents", params={"limit": 101}), 422, "invalid_request")


def test_document_detail_has_sections_with_chunks(client: TestClient) -> None:
    response = client.get("/api/documents/CASE-T-001")
    assert response.status_code == 200
    doc = response.json()
    assert doc["doc_id"] == "CASE-T-001" and doc["title"] == AUTO_TITLE
    assert doc["type"] == "case"
    assert doc["metadata"]["client"] == "华东某汽车零部件有限公司"
    assert doc["metadata"]["date"] == "2023-09-30"
    assert doc["content_hash"] and doc["created_at"] and doc["updated_at"]
    assert [s["heading"] for s in doc["sections"]] == AUTO_HEADINGS
    chunks = [c for s in doc["sections"] for c in s["chunks"]]
    assert len(chunks) == doc["chunk_count"] == 4
    assert [c["ordinal"] for c in chunks] == sorted(c["ordinal"] for c in chunks)
    assert all(c["heading"] == s["heading"] for s in doc["sections"] for c in s["chunks"])
    assert all(c["end"] > c["start"] for c in chunks)
    assert "供应商交付准时率只有 82%" in doc["sections"][1]["chunks"][0]["text"]


def test_document_file_is_the_original_bytes(client: TestClient, docs_dir: Path) -> None:
    response = client.get("/api/documents/CASE-T-002/file")
    assert response.status_code == 200
    assert response.content == (docs_dir / "case-retail.md").read_bytes()
    assert "case-retail.md" in response.headers["content-disposition"]


def test_similar_documents_explain_why(client: TestClient) -> None:
    response = client.get("/api/documents/CASE-T-001/similar")
    assert response.status_code == 200
    similar = response.json()
    assert similar and "CASE-T-001" not in [s["doc_id"] for s in similar]
    assert len(similar) <= 5
    scores = [s["score"] for s in similar]
    assert scores == sorted(scores, reverse=True)
    retail = next(s for s in similar if s["doc_id"] == "CASE-T-002")
    assert retail["shared_labels"]["type"] == "case"
    assert retail["shared_labels"]["service_type"] == "运营优化"
    assert "industry" not in retail["shared_labels"]
    own = {
        c["chunk_id"]
        for s in client.get("/api/documents/CASE-T-001").json()["sections"]
        for c in s["chunks"]
    }
    theirs = {
        c["chunk_id"]
        for s in client.get("/api/documents/CASE-T-002").json()["sections"]
        for c in s["chunks"]
    }
    assert retail["passage_pairs"]
    for pair in retail["passage_pairs"]:
        assert pair["source"]["chunk_id"] in own and pair["target"]["chunk_id"] in theirs
        assert pair["source"]["text"] and pair["target"]["text"]
        assert -1.0 <= pair["similarity"] <= 1.0
    one = client.get("/api/documents/CASE-T-001/similar", params={"k": 1}).json()
    assert len(one) == 1 and one[0]["doc_id"] == similar[0]["doc_id"]
    error_of(client.get("/api/documents/CASE-T-001/similar", params={"k": 0}), 422)


def test_deleted_document_is_gone_everywhere(client: TestClient) -> None:
    assert "CASE-T-001" in doc_ids(search(client, "供应链"))
    response = client.delete("/api/documents/CASE-T-001")
    assert response.status_code == 200 and response.json() == {"deleted": "CASE-T-001"}
    result = search(client, "供应链 库存 供应商", k=50)
    assert result["hits"] and "CASE-T-001" not in doc_ids(result)
    assert "制造业" not in result["facets"].get("industry", {})
    listing = client.get("/api/documents").json()
    assert listing["total"] == 3
    assert "CASE-T-001" not in {d["doc_id"] for d in listing["documents"]}
    facets = client.get("/api/facets").json()
    assert facets["industry"] == {"零售": 1, "金融": 1}
    assert facets["type"] == {"case": 1, "sop": 1, "lesson": 1}
    assert client.get("/api/stats").json()["documents"] == 3
    error_of(client.get("/api/documents/CASE-T-001"), 404, "not_found")
    error_of(client.delete("/api/documents/CASE-T-001"), 404, "not_found")


# --- uploads ---------------------------------------------------------------------------------


def test_uploaded_markdown_is_added_and_searchable(client: TestClient, uploads: Path) -> None:
    [result] = upload_results(client, ("pv-station.md", GOOD_MD, MD))
    assert result["status"] == "added"
    assert result["doc_id"] == "CASE-U-001"
    assert result["filename"] == "pv-station.md"
    assert result["chunks"] >= 1
    assert files_in(uploads) == ["pv-station.md"]
    found = search(client, "光伏电站 无人机巡检")
    assert found["hits"][0]["doc_id"] == "CASE-U-001"
    assert "<mark>" in found["hits"][0]["snippet"]
    doc = client.get("/api/documents/CASE-U-001").json()
    assert doc["title"] == "西北某光伏电站运维降本项目"
    assert doc["metadata"]["industry"] == "能源"
    assert doc["metadata"]["tags"] == ["光伏", "运维"]
    assert [s["heading"] for s in doc["sections"]] == ["背景", "方案"]
    assert client.get("/api/documents/CASE-U-001/file").content == GOOD_MD
    assert client.get("/api/facets").json()["industry"]["能源"] == 1
    assert client.get("/api/stats").json()["documents"] == 5


def test_several_files_get_one_result_each(client: TestClient, uploads: Path) -> None:
    results = upload_results(
        client,
        ("pv-station.md", GOOD_MD, MD),
        ("hospital.txt", GBK_TXT, "text/plain"),
        ("broken.pdf", CORRUPT_PDF, "application/pdf"),
    )
    assert [r["filename"] for r in results] == ["pv-station.md", "hospital.txt", "broken.pdf"]
    assert [r["status"] for r in results] == ["added", "added", "failed"]
    assert results[2]["doc_id"] is None and results[2]["chunks"] == 0
    assert "broken.pdf" in results[2]["message"]
    assert files_in(uploads) == ["hospital.txt", "pv-station.md"]
    gbk_id = results[1]["doc_id"]
    found = search(client, "医院门诊 挂号")
    assert found["hits"][0]["doc_id"] == gbk_id
    text = "".join(
        c["text"]
        for s in client.get(f"/api/documents/{gbk_id}").json()["sections"]
        for c in s["chunks"]
    )
    assert "挂号流程繁琐" in text  # decoded from GBK, not mojibake
    assert client.get("/api/stats").json()["documents"] == 6


def test_corrupt_upload_leaves_the_library_as_it_was(client: TestClient, uploads: Path) -> None:
    before = snapshot(client)
    [result] = upload_results(client, ("broken.pdf", CORRUPT_PDF, "application/pdf"))
    assert result["status"] == "failed" and "broken.pdf" in result["message"]
    assert snapshot(client) == before
    assert files_in(uploads) == []


def test_reuploading_the_same_file_is_unchanged(client: TestClient, uploads: Path) -> None:
    [first] = upload_results(client, ("pv-station.md", GOOD_MD, MD))
    stats = client.get("/api/stats").json()
    [again] = upload_results(client, ("pv-station.md", GOOD_MD, MD))
    assert first["status"] == "added"
    assert again["status"] == "unchanged" and again["doc_id"] == "CASE-U-001"
    after = client.get("/api/stats").json()
    assert (after["documents"], after["chunks"]) == (stats["documents"], stats["chunks"])
    assert after["index"]["generation"] == stats["index"]["generation"]
    assert files_in(uploads) == ["pv-station.md"]


def test_reuploading_a_changed_file_updates_the_document(client: TestClient) -> None:
    upload_results(client, ("pv-station.md", GOOD_MD, MD))
    changed = GOOD_MD.replace("无人机巡检".encode(), "机器人清扫".encode())
    [result] = upload_results(client, ("pv-station.md", changed, MD))
    assert result["status"] == "updated" and result["doc_id"] == "CASE-U-001"
    assert search(client, "机器人清扫")["hits"][0]["doc_id"] == "CASE-U-001"
    assert search(client, "无人机", mode="lexical")["hits"] == []
    assert client.get("/api/stats").json()["documents"] == 5


def test_failed_replacement_puts_the_previous_file_back(client: TestClient, uploads: Path) -> None:
    upload_results(client, ("pv-station.md", GOOD_MD, MD))
    before = snapshot(client)
    taken = GOOD_MD.replace(b"id: CASE-U-001", b"id: CASE-T-001")  # id of another document
    [result] = upload_results(client, ("pv-station.md", taken, MD))
    assert result["status"] == "failed" and "CASE-T-001" in result["message"]
    assert (uploads / "pv-station.md").read_bytes() == GOOD_MD
    assert files_in(uploads) == ["pv-station.md"]
    assert snapshot(client) == before
    assert client.get("/api/documents/CASE-U-001/file").content == GOOD_MD


def test_duplicate_content_is_not_imported_twice(
    client: TestClient, uploads: Path, docs_dir: Path
) -> None:
    before = snapshot(client)
    content = (docs_dir / "case-auto.md").read_bytes()
    [result] = upload_results(client, ("copy-of-auto.md", content, MD))
    assert result["status"] == "duplicate" and "case-auto.md" in result["message"]
    assert files_in(uploads) == []
    assert snapshot(client) == before


def test_file_over_the_size_limit_is_413(settings: Settings, ingested: Library) -> None:
    settings.max_file_mb = 0.01
    uploads = settings.data_dir / "uploads"
    big = "# 大文件\n\n".encode() + "很长的正文。".encode() * 2000
    assert len(big) > 0.01 * 1024 * 1024
    with open_client(settings) as client:
        before = snapshot(client)
        error = error_of(upload(client, ("big.md", big, MD)), 413, "too_large")
        assert "big.md" in error["message"]
        # a small file sent along with it is not kept either
        response = upload(client, ("small.md", GOOD_MD, MD), ("big.md", big, MD))
        error_of(response, 413, "too_large")
        assert snapshot(client) == before
    assert files_in(uploads) == []


@pytest.mark.parametrize(
    "filename", ["../../evil.md", "../../../../tmp/evil.md", "/etc/evil.md", r"..\..\evil.md"]
)
def test_path_traversal_filename_stays_inside_uploads(
    client: TestClient, tmp_path: Path, uploads: Path, filename: str
) -> None:
    content = "# 路径穿越\n\n这是一份检查上传路径穿越的测试文档。".encode()
    [result] = upload_results(client, (filename, content, MD))
    assert result["status"] == "added"
    assert result["filename"] == "evil.md"
    assert files_in(uploads) == ["evil.md"]
    assert (uploads / "evil.md").read_bytes() == content
    written = [*tmp_path.rglob("evil*"), *Path("/tmp").glob("evil.md")]
    assert written == [uploads / "evil.md"]
    assert not (Path("/etc") / "evil.md").exists()
    doc = client.get(f"/api/documents/{result['doc_id']}").json()
    assert doc["source"] == "evil.md"
    assert search(client, "路径穿越")["hits"][0]["doc_id"] == result["doc_id"]


def test_unsupported_extension_is_skipped(client: TestClient, uploads: Path) -> None:
    before = snapshot(client)
    [result] = upload_results(client, ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream"))
    assert result["status"] == "skipped" and result["doc_id"] is None
    assert ".exe" in result["message"]
    assert files_in(uploads) == []
    assert snapshot(client) == before


def test_long_chinese_filename_is_accepted(client: TestClient) -> None:
    response = upload(
        client, ("长" * 100 + ".md", "# 长文件名\n\n长文件名的上传测试。".encode(), MD)
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "added"


def test_long_filename_keeps_its_extension(client: TestClient) -> None:
    [result] = upload_results(client, ("a" * 130 + ".md", "# 长\n\n扩展名保留测试。".encode(), MD))
    assert result["filename"].endswith(".md")
    assert result["status"] == "added"


def test_two_files_with_the_same_name_in_one_request(client: TestClient, uploads: Path) -> None:
    [first] = upload_results(client, ("same.md", "# 一\n\n第一份同名文件。".encode(), MD))
    assert first["status"] == "added"
    response = upload(
        client,
        ("same.md", "# 二\n\n第二份同名文件。".encode(), MD),
        ("same.md", "# 三\n\n第三份同名文件。".encode(), MD),
    )
    assert response.status_code < 500, response.text
    assert client.get(f"/api/documents/{first['doc_id']}/file").status_code == 200
    assert not [name for name in files_in(uploads) if name.endswith((".part", ".previous"))]


# --- facets, stats, health -------------------------------------------------------------------


def test_facets_of_the_whole_library_and_filtered(client: TestClient) -> None:
    facets = client.get("/api/facets").json()
    assert facets["type"] == {"case": 2, "sop": 1, "lesson": 1}
    assert facets["industry"] == {"制造业": 1, "零售": 1, "金融": 1}
    assert facets["stage"]["诊断"] == 2
    assert facets["tags"]["供应链"] == 1
    cases = client.get("/api/facets", params={"filter": "type:case"}).json()
    assert cases["type"] == {"case": 2}
    assert cases["industry"] == {"制造业": 1, "零售": 1}
    assert cases["service_type"] == {"运营优化": 2}
    error_of(client.get("/api/facets", params={"filter": "bad"}), 400, "invalid_filter")


def test_stats_describe_the_library_and_index(client: TestClient) -> None:
    stats = client.get("/api/stats").json()
    listing = client.get("/api/documents").json()["documents"]
    assert stats["documents"] == 4
    assert stats["chunks"] == sum(d["chunk_count"] for d in listing)
    assert stats["by_type"] == {"case": 2, "sop": 1, "lesson": 1}
    assert stats["embedder"] == "hash"
    assert stats["index"]["documents"] == 4 and stats["index"]["chunks"] == stats["chunks"]
    assert stats["index"]["embedder"].startswith("hash")


def test_health(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    health = response.json()
    engine = health.pop("engine")
    assert health == {"status": "ok", "documents": 4, "index": True, "embedder": "hash"}
    assert engine["engine"] == settings.engine and engine["ok"] is True


def test_empty_library_is_healthy_but_says_so(settings: Settings) -> None:
    with open_client(settings) as client:
        health = client.get("/api/health").json()
        assert health.pop("engine")["ok"] is True
        assert health == {"status": "empty", "documents": 0, "index": False, "embedder": "hash"}
        error_of(client.get("/api/search", params={"q": "供应链"}), 503, "index_missing")
        page = client.get("/")
        assert page.status_code == 200 and "库里还没有文档" in page.text


# --- OpenAPI ---------------------------------------------------------------------------------

ROUTES = {
    ("get", "/api/search"): {"q", "k", "mode", "offset", "filter", "by_doc"},
    ("get", "/api/documents"): {"filter", "offset", "limit"},
    ("post", "/api/documents"): set(),
    ("get", "/api/documents/{doc_id}"): {"doc_id"},
    ("delete", "/api/documents/{doc_id}"): {"doc_id"},
    ("post", "/api/admin/compact"): set(),
    ("get", "/api/documents/{doc_id}/file"): {"doc_id"},
    ("get", "/api/documents/{doc_id}/similar"): {"doc_id", "k"},
    ("get", "/api/facets"): {"filter"},
    ("get", "/api/stats"): set(),
    ("get", "/api/health"): set(),
    ("get", "/api/labels"): set(),
    ("post", "/api/classify"): set(),
    ("get", "/api/suggestions"): {"status", "field"},
    ("get", "/api/suggestions/status"): set(),
    ("post", "/api/suggestions/{suggestion_id}/{decision}"): {"suggestion_id", "decision"},
    ("post", "/api/templates"): set(),
    ("get", "/api/templates"): set(),
    ("get", "/api/templates/{name}"): {"name", "version"},
    ("post", "/api/templates/{name}/render"): {"name"},
    ("delete", "/api/templates/{name}"): {"name"},
    ("get", "/api/packs/suggest"): {"topic"},
    ("post", "/api/packs"): set(),
    ("get", "/api/packs"): set(),
    ("get", "/api/packs/{pack_id}"): {"pack_id"},
    ("patch", "/api/packs/{pack_id}"): {"pack_id"},
    ("delete", "/api/packs/{pack_id}"): {"pack_id"},
    ("post", "/api/packs/{pack_id}/items"): {"pack_id"},
    ("delete", "/api/packs/{pack_id}/items/{item_id}"): {"pack_id", "item_id"},
    ("post", "/api/packs/{pack_id}/sections"): {"pack_id"},
    ("patch", "/api/packs/{pack_id}/sections/{number}"): {"pack_id", "number"},
    ("post", "/api/packs/{pack_id}/order"): {"pack_id"},
    ("get", "/api/packs/{pack_id}/export"): {"pack_id", "format", "redact"},
    ("post", "/api/brief"): set(),
    ("post", "/api/brief/export"): {"format", "redact"},
}


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_lists_every_route_with_its_parameters(openapi: dict[str, Any]) -> None:
    listed = {(method, path) for path, ops in openapi["paths"].items() for method in ops}
    assert {route for route in listed if route[1].startswith("/api")} == set(ROUTES)
    for (method, path), names in ROUTES.items():
        operation = openapi["paths"][path][method]
        assert operation.get("summary"), (method, path)
        assert {p["name"] for p in operation.get("parameters", [])} == names, (method, path)
    search_params = {p["name"]: p for p in openapi["paths"]["/api/search"]["get"]["parameters"]}
    assert search_params["q"]["required"] is True
    assert search_params["k"]["schema"]["maximum"] == 100
    assert search_params["mode"]["schema"]["enum"] == ["hybrid", "lexical", "dense"]
    body = openapi["paths"]["/api/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    # pages are not part of the API description
    assert not {path for _, path in listed} & {"/", "/search", "/upload"}


@pytest.mark.parametrize(
    "route",
    [
        r
        for r in ROUTES
        if r[1]
        not in ("/api/documents/{doc_id}/file", "/api/packs/{pack_id}/export", "/api/brief/export")
    ],
    ids=str,
)
def test_openapi_documents_a_200_response_schema(
    openapi: dict[str, Any], route: tuple[str, str]
) -> None:
    method, path = route
    ok = openapi["paths"][path][method]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    assert "$ref" in schema or "type" in schema
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    if ref:
        assert ref.rsplit("/", 1)[1] in openapi["components"]["schemas"]
    if path == "/api/search":
        fields = openapi["components"]["schemas"]["SearchResponse"]["properties"]
        assert {"hits", "facets", "total", "offset", "took_ms"} <= set(fields)


def test_openapi_documents_the_file_download(openapi: dict[str, Any]) -> None:
    ok = openapi["paths"]["/api/documents/{doc_id}/file"]["get"]["responses"]["200"]
    assert ok.get("content"), ok


def test_openapi_error_schema_matches_the_answers(openapi: dict[str, Any]) -> None:
    bad = openapi["paths"]["/api/search"]["get"]["responses"]["422"]
    ref = bad["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "error" in openapi["components"]["schemas"][ref]["properties"]


def test_swagger_ui_answers(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "swagger" in response.text.lower() and "/openapi.json" in response.text


def test_swagger_ui_loads_nothing_from_outside_and_keeps_a_strict_csp(client: TestClient) -> None:
    response = client.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) == 3 and all(a.startswith("/") for a in assets), assets  # no CDN
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    [script] = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in policy  # only this inline script
    assert "unsafe" not in policy and "default-src 'self'" in policy
    assert "sha256" not in client.get("/").headers["content-security-policy"]


def test_favicon_answers(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/x-icon"


# --- pages -----------------------------------------------------------------------------------

HTML = {"accept": "text/html,application/xhtml+xml"}


def page(client: TestClient, path: str, **params: Any) -> str:
    response = client.get(path, params=params, headers=HTML)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_home_page_shows_the_library_and_facet_links(client: TestClient) -> None:
    html = page(client, "/")
    assert "库中有 4 篇文档" in html
    assert 'class="facet-link' in html
    assert 'href="/search?view=doc&amp;filter=industry%3A%E5%88%B6%E9%80%A0%E4%B8%9A"' in html
    assert 'name="q"' in html


def test_search_page_shows_marked_snippets_and_facets(client: TestClient) -> None:
    html = page(client, "/search", q="供应链")
    assert "<mark>供应</mark>" in html
    assert AUTO_TITLE in html
    assert 'data-doc="CASE-T-001"' in html
    assert 'href="/documents/CASE-T-001?q=%E4%BE%9B%E5%BA%94%E9%93%BE' in html
    links = re.findall(r'class="facet-link[^"]*" href="([^"]+)"', html)
    assert any("filter=industry%3A%E5%88%B6%E9%80%A0%E4%B8%9A" in link for link in links)
    assert all("q=%E4%BE%9B%E5%BA%94%E9%93%BE" in link for link in links)
    assert "没有找到相关内容" not in html


def test_search_page_shows_the_empty_state(client: TestClient) -> None:
    lexical = page(client, "/search", q="供应链", filter="industry:零售", mode="lexical")
    assert "没有找到相关内容" in lexical
    assert "行业：零售 ✕" in lexical  # a way to drop the filter
    nothing = page(client, "/search", q="供应链", filter="industry:不存在")
    assert "没有找到相关内容" in nothing and 'class="hit"' not in nothing


def test_search_page_empty_state_for_a_query_outside_the_filter(client: TestClient) -> None:
    html = page(client, "/search", q="供应链", filter="industry:零售")
    assert "没有找到相关内容" in html


def test_document_page_shows_sections_marks_and_similar_cases(client: TestClient) -> None:
    html = page(client, "/documents/CASE-T-001", q="供应链")
    assert f"<h1>{AUTO_TITLE}</h1>" in html
    assert html.count('class="doc-section"') == 4
    for heading in AUTO_HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert "<mark>供应</mark>" in html
    assert "相似案例" in html
    assert 'class="similar-link" href="/documents/CASE-T-002"' in html
    assert 'href="/api/documents/CASE-T-001/file"' in html


def test_uploaded_script_is_escaped_on_every_page(client: TestClient) -> None:
    [result] = upload_results(client, ("xss.txt", XSS_TXT, "text/plain"))
    assert result["status"] == "added"
    stored = client.get(f"/api/documents/{result['doc_id']}").json()
    assert "<script>alert(1)</script>" in stored["sections"][0]["chunks"][0]["text"]
    document = page(client, f"/documents/{result['doc_id']}", q="危险内容")
    results = page(client, "/search", q="危险内容 alert")
    for html in (document, results):
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>危险内容</mark>" in document


def test_script_in_a_title_is_escaped(client: TestClient) -> None:
    content = '---\ntitle: "<script>alert(2)</script>标题"\n---\n\n# 正文\n\n标题注入测试。\n'
    [result] = upload_results(client, ("title.md", content.encode(), MD))
    assert result["status"] == "added"
    for html in (
        page(client, f"/documents/{result['doc_id']}"),
        page(client, "/search", q="标题注入测试"),
    ):
        assert "<script>alert(2)" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_html_error_page_for_an_overlong_query(client: TestClient) -> None:
    response = client.get("/search", params={"q": LONG_QUERY}, headers=HTML)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text and "请求有误" in response.text
    assert "1000" in response.text
    # the same request without text/html gets the JSON shape
    error_of(client.get("/search", params={"q": LONG_QUERY}), 400, "invalid_query")


def test_html_404_page_for_an_unknown_document(client: TestClient) -> None:
    response = client.get("/documents/NOPE-404", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "找不到" in response.text and "NOPE-404" in response.text


def test_upload_form_shows_a_result_row_per_file(client: TestClient, uploads: Path) -> None:
    form = page(client, "/upload")
    assert 'enctype="multipart/form-data"' in form and 'name="files"' in form
    response = client.post(
        "/upload",
        files=[
            ("files", ("pv-station.md", GOOD_MD, MD)),
            ("files", ("broken.pdf", CORRUPT_PDF, "application/pdf")),
        ],
        headers=HTML,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    table = response.text.split('<table class="upload-results">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="status-(\w+)">(.*?)</tr>', table, re.S)
    assert [status for status, _ in rows] == ["added", "failed"]
    assert "pv-station.md" in rows[0][1] and "已导入" in rows[0][1]
    assert 'href="/documents/CASE-U-001"' in rows[0][1]
    assert "broken.pdf" in rows[1][1] and "失败" in rows[1][1]
    assert files_in(uploads) == ["pv-station.md"]
    assert search(client, "光伏电站")["hits"][0]["doc_id"] == "CASE-U-001"
