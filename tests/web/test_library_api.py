"""Templates and packs over HTTP."""

import io

import docx
import pytest

from tests.conftest import BOTH_DATABASES, api_client

pytestmark = BOTH_DATABASES  # the API suite runs on SQLite and on a real PostgreSQL


@pytest.fixture
def client(settings, ingested):
    with api_client(settings) as test_client:
        yield test_client


def test_templates_extract_save_list_get_render_delete(client):
    response = client.post("/api/templates", json={"filters": ["type=case"], "save_as": "案例模板"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["sources"]) == ["CASE-T-001", "CASE-T-002"]
    assert body["markdown"].startswith("---") and body["saved"]["version"] == 1
    assert [t["name"] for t in client.get("/api/templates").json()] == ["案例模板"]
    assert client.get("/api/templates/案例模板").json()["version"] == 1
    rendered = client.post(
        "/api/templates/案例模板/render", json={"values": {"客户名称": "某新客户"}}
    )
    assert 'client: "某新客户"' in rendered.json()["markdown"]
    assert client.delete("/api/templates/案例模板").json() == {"deleted_versions": 1}
    assert client.get("/api/templates/案例模板").status_code == 404
    too_few = client.post("/api/templates", json={"doc_ids": ["CASE-T-001"]})
    assert too_few.status_code == 400 and "至少需要 2 篇" in too_few.json()["error"]["message"]


def test_packs_create_add_reorder_suggest_export(client):
    pack = client.post("/api/packs", json={"title": "新人培训", "audience": "新顾问"}).json()
    assert pack["outline"][0] == "前期准备与客户沟通" and pack["items"] == []
    for doc_id, section in (
        ("CASE-T-002", "案例分析与经验总结"),
        ("SOP-T-001", "前期准备与客户沟通"),
    ):
        added = client.post(
            f"/api/packs/{pack['id']}/items",
            json={"doc_id": doc_id, "section": section, "note": "带教：吴先生 139-0000-5821"},
        )
        assert added.status_code == 200
    items = client.get(f"/api/packs/{pack['id']}").json()["items"]
    reordered = client.post(
        f"/api/packs/{pack['id']}/order", json={"item_ids": [items[1]["id"], items[0]["id"]]}
    )
    assert [i["doc_id"] for i in reordered.json()["items"]] == ["SOP-T-001", "CASE-T-002"]
    suggested = client.get("/api/packs/suggest", params={"topic": "项目启动"}).json()
    assert {s["type"] for s in suggested} == {"sop", "lesson", "case"}
    exported = client.get(f"/api/packs/{pack['id']}/export")
    assert exported.status_code == 200 and int(exported.headers["x-redacted-items"]) >= 1
    texts = [p.text for p in docx.Document(io.BytesIO(exported.content)).paragraphs]
    assert "目录" in texts and "吴先生" not in "\n".join(texts)
    assert "139-0000-5821" not in "\n".join(texts)
    markdown = client.get(
        f"/api/packs/{pack['id']}/export", params={"format": "md", "redact": "false"}
    )
    assert markdown.headers["x-redacted-items"] == "0" and "## 目录" in markdown.text
    assert (
        client.post(
            f"/api/packs/{pack['id']}/items", json={"doc_id": "NOPE", "section": "x"}
        ).status_code
        == 404
    )
    assert client.get("/api/packs/999").status_code == 404
    updated = client.patch(
        f"/api/packs/{pack['id']}", json={"title": "新人培训（二期）", "redact": False}
    )
    assert updated.json()["title"] == "新人培训（二期）" and updated.json()["redact"] is False
    assert client.post("/api/packs", json={"title": ""}).status_code == 422
