"""Numbers that must agree on the bundled corpus, through the API: every facet count equals the
total its filter gives, for every field, mode, view, viewer and page; nonsense finds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.library import Library
from tests.conftest import CORPUS, api_client

QUERIES = ["供应商交付不准时，库存太高怎么办", "门店人效低 排班", "项目复盘怎么做"]
SINGLE_VALUED = ["type", "industry", "service_type", "stage"]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """The corpus library behind clients for an anonymous user, a reader and an admin."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus") / "index", embedder="hash")
    report = ingest_paths(Library(settings), [CORPUS])
    assert not report.partial
    with ExitStack() as stack:
        yield {
            role or "anonymous": stack.enter_context(api_client(settings, role))
            for role in (None, "reader", "admin")
        }


def search(client: TestClient, q: str, filters: list[str] = (), **params: Any) -> dict:
    pairs = [("q", q), *(("filter", f) for f in filters), *params.items()]
    response = client.get("/api/search", params=pairs)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("viewer", ["anonymous", "reader", "admin"])
@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
@pytest.mark.parametrize("by_doc", ["true", "false"])
def test_every_facet_count_is_the_total_of_its_filter(
    clients: dict[str, TestClient], viewer: str, mode: str, by_doc: str
) -> None:
    client = clients[viewer]
    checked = 0
    for q in QUERIES:
        result = search(client, q, mode=mode, by_doc=by_doc)
        for field, counts in result["facets"].items():
            if field in SINGLE_VALUED:
                assert sum(counts.values()) <= result["total"]
            for value, count in counts.items():
                filtered = search(client, q, [f"{field}:{value}"], mode=mode, by_doc=by_doc, k=1)
                assert filtered["total"] == count, (q, field, value)
                assert filtered["facets"][field][value] == count
                checked += 1
        assert sum(result["facets"]["type"].values()) == result["total"]
    assert checked > 20


@pytest.mark.parametrize("by_doc", ["true", "false"])
def test_pages_add_up_to_the_total(clients: dict[str, TestClient], by_doc: str) -> None:
    client = clients["anonymous"]
    first = search(client, QUERIES[0], by_doc=by_doc, k=10)
    seen, offset = [], 0
    while offset < first["total"]:
        page = search(client, QUERIES[0], by_doc=by_doc, k=10, offset=offset)
        assert page["total"] == first["total"] and page["facets"] == first["facets"]
        seen += [(h["doc_id"], h["chunk_id"]) for h in page["hits"]]
        offset += 10
    assert len(seen) == len(set(seen)) == first["total"] > 10
    assert search(client, QUERIES[0], by_doc=by_doc, offset=offset)["hits"] == []


def test_the_page_shows_the_count_the_facet_promised(clients: dict[str, TestClient]) -> None:
    client = clients["anonymous"]
    result = search(client, QUERIES[0], by_doc="true")
    count = result["facets"]["type"]["case"]
    page = client.get("/search", params=[("q", QUERIES[0]), ("filter", "type=case")])
    assert f"共 {count} 条结果" in page.text


def test_a_nonsense_query_gets_no_hits_but_weak_matches(clients: dict[str, TestClient]) -> None:
    for mode in ("hybrid", "dense"):
        result = search(clients["anonymous"], "量子纠缠火星殖民xyzzy", mode=mode)
        assert result["total"] == 0 and result["hits"] == [] and result["facets"] == {}
        assert 0 < len(result["weak_hits"]) <= 5
    page = clients["anonymous"].get("/search", params={"q": "量子纠缠火星殖民xyzzy"})
    assert "没有足够相关的结果" in page.text and "共 0 条结果" in page.text
    assert '<details class="weak">' in page.text
    real = search(clients["anonymous"], QUERIES[0])
    assert real["total"] > 0 and real["weak_hits"] == []


@pytest.mark.parametrize("viewer", ["anonymous", "reader", "admin"])
def test_sources_are_relative_to_the_ingested_folder(
    clients: dict[str, TestClient], viewer: str
) -> None:
    client = clients[viewer]
    hits = search(client, QUERIES[0], k=20)["hits"]
    listed = client.get("/api/documents", params={"limit": 100}).json()["documents"]
    detail = client.get(f"/api/documents/{hits[0]['doc_id']}").json()
    sources = [h["source"] for h in hits] + [d["source"] for d in listed] + [detail["source"]]
    assert "cases/case-2023-017.md" in sources
    assert not [s for s in sources if s.startswith("/") or str(CORPUS) in s]
    assert str(CORPUS) not in client.get("/search", params={"q": QUERIES[0]}).text
