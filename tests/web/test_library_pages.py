"""Trainer pages: template from the current search, pack builder with add, move and export."""

import pytest

from tests.conftest import api_client


@pytest.fixture
def client(settings, ingested):
    with api_client(settings) as test_client:
        yield test_client


def test_template_from_the_current_facet_and_saving_it(client):
    page = client.get("/search", params={"q": "项目", "filter": "type:case"})
    assert "提炼模板" in page.text and "/templates/new?q=" in page.text
    template = client.get("/templates/new", params={"filter": "type=case"})
    assert template.status_code == 200 and "提炼的模板" in template.text
    assert "CASE-T-001" in template.text and "{{客户名称}}" in template.text
    saved = client.post(
        "/templates/save",
        data={"name": "案例模板", "sources": "CASE-T-001,CASE-T-002"},
        follow_redirects=True,
    )
    assert "已保存模板 案例模板 第 1 版" in saved.text


def test_pack_builder_add_from_results_move_and_export(client):
    created = client.post(
        "/packs", data={"title": "新人包", "audience": "新顾问"}, follow_redirects=False
    )
    assert created.status_code == 303
    pack_url = created.headers["location"]
    results = client.get("/search", params={"q": "门店"})
    assert "加入培训包" in results.text
    for doc_id, section in (
        ("CASE-T-002", "案例分析与经验总结"),
        ("LES-T-001", "案例分析与经验总结"),
    ):
        added = client.post(
            "/packs/add",
            data={
                "pack_id": pack_url.rsplit("/", 1)[1],
                "doc_id": doc_id,
                "section": section,
                "note": "必读",
                "back": "/search?q=门店",
            },
            follow_redirects=False,
        )
        assert added.status_code == 303 and added.headers["location"].startswith("/search?q=")
    page = client.get(pack_url).text
    assert page.index("華南某連鎖零售企業門店運營優化項目") < page.index(
        "数据口径不一致导致诊断返工"
    )
    item_id = client.get(f"/api{pack_url}").json()["items"][1]["id"]
    client.post(f"{pack_url}/move/{item_id}/up")
    page = client.get(pack_url).text
    assert page.index("数据口径不一致导致诊断返工") < page.index(
        "華南某連鎖零售企業門店運營優化項目"
    )
    assert "导出 Word" in page and "必读" in page
