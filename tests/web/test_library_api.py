"""Templates and packs over HTTP."""

import io

import docx
import pytest

from tests.conftest import EVERY_BACKEND, api_client

pytestmark = EVERY_BACKEND  # SQLite, a real PostgreSQL, and the indexes in Milvus


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


def test_template_from_a_query_uses_the_commonest_type_or_the_one_asked_for(client):
    body = client.post("/api/templates", json={"query": "项目 数据 门店 供应商"}).json()
    assert body["doc_type"] == "case" and body["types"]["case"] == 2
    assert sorted(body["sources"]) == ["CASE-T-001", "CASE-T-002"]
    assert body["front_matter"]["type"] == "case"
    too_few = client.post(
        "/api/templates", json={"query": "项目 数据 门店 供应商", "doc_type": "sop"}
    )
    assert too_few.status_code == 400 and "至少需要 2 篇" in too_few.json()["error"]["message"]


def test_pack_items_once_remove_sections_and_delete(settings, client):
    pack = client.post("/api/packs", json={"title": "新人培训"}).json()
    url = f"/api/packs/{pack['id']}"
    item = {"doc_id": "CASE-T-001", "section": "服务交付与成果输出"}
    first = client.post(f"{url}/items", json=item).json()
    assert first["added"] and first["message"] == "已加入《新人培训》的〈服务交付与成果输出〉"
    again = client.post(f"{url}/items", json={**item, "section": "团队建设与培训"}).json()
    assert not again["added"] and "已有这一条" in again["message"]
    assert [i["doc_id"] for i in again["items"]] == ["CASE-T-001"]
    added = client.post(f"{url}/sections", json={"name": "行业专题"}).json()
    assert added["outline"][-1] == "行业专题"
    assert client.post(f"{url}/sections", json={"name": "行业专题"}).status_code == 400
    renamed = client.patch(f"{url}/sections/4", json={"name": "成果交付"}).json()
    assert renamed["outline"][3] == "成果交付" and renamed["items"][0]["section"] == "成果交付"
    assert client.patch(f"{url}/sections/99", json={"name": "x"}).status_code == 404
    with api_client(settings, role="reader") as reader:
        assert reader.delete(f"{url}/items/{first['item']['id']}").status_code == 403
        assert reader.post(f"{url}/sections", json={"name": "y"}).status_code == 403
        assert reader.patch(f"{url}/sections/1", json={"name": "y"}).status_code == 403
        assert reader.delete(url).status_code == 403
    left = client.delete(f"{url}/items/{first['item']['id']}").json()
    assert left["items"] == []
    assert client.delete(f"{url}/items/{first['item']['id']}").status_code == 404
    assert client.delete(url).json() == {"deleted": pack["id"], "title": "新人培训"}
    assert client.get(url).status_code == 404 and client.delete(url).status_code == 404
