"""Several `kb serve` processes (one of them with two uvicorn workers) share one library in
PostgreSQL and one data directory, with the indexes in files or in a Milvus server: a change
made through one is seen through the others."""

from __future__ import annotations

import httpx
import pytest

from kb.indexfiles import MANIFEST
from tests.conftest import DATA
from tests.web.conftest import running_server

NEW_CASE = (
    "---\nid: CASE-W-001\ntype: case\ntitle: 西北某风电场运维排班优化\nindustry: 能源\n"
    "confidentiality: internal\n---\n## 背景\n\n风机巡检排班依赖经验，备件库存积压。\n\n"
    "## 方案\n\n按风速预测安排巡检窗口，备件按故障率分级储备。\n"
).encode()


def _ids(client: httpx.Client, query: str) -> set[str]:
    response = client.get("/api/search", params={"q": query, "k": 10})
    assert response.status_code == 200, response.text
    return {hit["doc_id"] for hit in response.json()["hits"]}


@pytest.mark.parametrize("engine", ["local", "milvus"])
def test_servers_and_workers_share_a_postgresql_library(tmp_path, postgres, request, engine):
    data_dir = tmp_path / "index"
    env = {"KB_DATABASE_URL": postgres.new_database()}
    if engine == "milvus":
        milvus = request.getfixturevalue("milvus")
        env |= {"KB_ENGINE": "milvus", "KB_MILVUS_URI": milvus.uri}
        env["KB_MILVUS_PREFIX"] = milvus.new_prefix()
    with (
        running_server(data_dir, DATA / "library", "--workers", "2", env=env) as first,
        running_server(data_dir, DATA / "library", env=env) as second,
    ):
        auth = {"Authorization": f"Bearer {first.admin_key}"}
        with (
            httpx.Client(base_url=first, timeout=60, headers=auth) as one,
            httpx.Client(base_url=second, timeout=60, headers=auth) as two,
        ):
            assert two.get("/api/stats").json()["documents"] == 4
            assert one.get("/api/health").json()["engine"]["engine"] == engine
            assert (data_dir / MANIFEST).exists() == (engine == "local")  # else all in Milvus
            uploaded = one.post(
                "/api/documents", files=[("files", ("wind.md", NEW_CASE, "text/markdown"))]
            )
            assert uploaded.json()["results"][0]["status"] == "added", uploaded.text
            for _ in range(6):  # requests to the first server land on either of its workers
                assert "CASE-W-001" in _ids(one, "风机巡检排班")
            assert "CASE-W-001" in _ids(two, "风机巡检排班")
            assert two.get("/api/stats").json()["documents"] == 5
            assert two.delete("/api/documents/CASE-W-001").status_code == 200
            for _ in range(6):
                assert "CASE-W-001" not in _ids(one, "风机巡检排班")
            assert one.get("/api/documents/CASE-W-001").status_code == 404
