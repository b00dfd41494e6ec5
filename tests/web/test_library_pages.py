"""Trainer pages: template from the current search, pack builder with add, move and export."""

import re
from urllib.parse import quote

import pytest

from ingest.pipeline import ingest_paths
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
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/templates/{quote('案例模板')}?version=1&saved=1"
    page = client.get(saved.headers["location"])
    assert "模板：案例模板" in page.text and "已保存模板 案例模板 第 1 版" in page.text
    assert "CASE-T-001" in page.text and "{{客户名称}}" in page.text
    listed = client.get("/packs").text
    assert f'href="/templates/{quote("案例模板")}?version=1"' in listed


MORE_LESSONS = """---
id: LES-T-00{n}
type: lesson
title: 门店数据口径没有统一（{n}）
stage: 复盘
---

## 发生了什么

门店销售数据与供应商交付数据口径不一致，项目复盘时才发现。

## 教训与建议

项目启动时统一门店与供应商的数据口径。
"""


@pytest.fixture
def more_lessons(ingested, tmp_path):
    """Three lessons in all, two cases, one SOP."""
    folder = tmp_path / "more"
    folder.mkdir()
    for n in (2, 3):
        (folder / f"lesson-{n}.md").write_text(MORE_LESSONS.format(n=n), encoding="utf-8")
    ingest_paths(ingested, [folder])


def test_template_page_names_the_type_used_and_offers_the_others(more_lessons, client):
    query = "项目 数据 门店 供应商"
    page = client.get("/templates/new", params={"q": query}).text
    assert "来源类型：<strong>经验教训</strong>" in page and "来源 3 篇" in page
    assert "检索结果中的类型：经验教训 3、案例 2、SOP 1" in page
    assert "CASE-T-001" not in page and "SOP-T-001" not in page
    assert "&amp;type=case" in page and "&amp;type=sop" not in page  # one SOP is too few
    cases = client.get("/templates/new", params={"q": query, "type": "case"}).text
    assert "来源类型：<strong>案例</strong>" in cases and "&amp;type=lesson" in cases
    assert "来源 2 篇" in cases and "LES-T-00" not in cases


def test_pack_builder_add_from_results_move_and_export(client):
    created = client.post(
        "/packs", data={"title": "新人包", "audience": "新顾问"}, follow_redirects=False
    )
    assert created.status_code == 303
    pack_url = created.headers["location"]
    results = client.get("/search", params={"q": "门店"})
    assert "加入培训包" in results.text
    for doc_id in ("CASE-T-002", "LES-T-001"):
        added = client.post(
            "/packs/add",
            data={
                "target": f"{pack_url.rsplit('/', 1)[1]}:案例分析与经验总结",
                "doc_id": doc_id,
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


def _new_pack(client, title: str = "新人包") -> str:
    created = client.post("/packs", data={"title": title}, follow_redirects=False)
    return created.headers["location"].rsplit("/", 1)[1]


def test_adding_to_a_pack_confirms_where_and_links_to_it_once(client):
    pack_id = _new_pack(client)
    hits = client.get("/api/search", params={"q": "供应商", "by_doc": "true"}).json()["hits"]
    chunk_id = next(h["chunk_id"] for h in hits if h["doc_id"] == "CASE-T-001")
    form = {
        "target": f"{pack_id}:服务交付与成果输出",
        "doc_id": "CASE-T-001",
        "chunk_id": str(chunk_id),
        "back": "/search?q=供应商&added=77",
    }
    added = client.post("/packs/add", data=form, follow_redirects=False)
    location = added.headers["location"]
    assert location.startswith("/search?q=") and location.endswith(f"#add-{chunk_id}")
    assert location.count("added=") == 1 and "added=77" not in location
    page = client.get(location).text
    assert "已加入《新人包》的〈服务交付与成果输出〉" in page
    assert f'href="/packs/{pack_id}?added=' in page and "查看培训包" in page
    again = client.post("/packs/add", data=form, follow_redirects=False)
    assert "kept=" in again.headers["location"]
    assert "《新人包》的〈服务交付与成果输出〉里已有这一条，没有重复加入" in (
        client.get(again.headers["location"]).text
    )
    assert len(client.get(f"/api/packs/{pack_id}").json()["items"]) == 1
    direct = client.post(
        "/packs/add",
        data={"target": f"{pack_id}:团队建设与培训", "doc_id": "SOP-T-001"},
        follow_redirects=True,
    )
    assert "已加入《新人包》的〈团队建设与培训〉" in direct.text and "移出" in direct.text


def test_add_to_pack_preselects_the_section_of_the_documents_stage(client):
    _new_pack(client)
    page = client.get("/search", params={"q": "供应商 交付 库存 项目启动"}).text
    forms = re.findall(
        r'class="add-to-pack".*?name="doc_id" value="([^"]+)"(.*?)</form>', page, re.S
    )
    selected = {doc: re.findall(r'value="\d+:([^"]+)" selected', form) for doc, form in forms}
    selected = {doc: found[0] for doc, found in selected.items() if found}
    assert selected["CASE-T-001"] == "服务交付与成果输出"  # stage 交付
    assert selected["CASE-T-002"] == "服务流程设计与实施"  # stage 实施
    assert selected["SOP-T-001"] == "前期准备与客户沟通"  # stage 诊断


def test_pack_page_removes_items_renames_and_adds_sections_and_deletes_the_pack(client):
    pack_id = _new_pack(client, "交付培训")
    client.post(
        "/packs/add", data={"target": f"{pack_id}:服务交付与成果输出", "doc_id": "CASE-T-001"}
    )
    page = client.get(f"/packs/{pack_id}").text
    assert "删除培训包" in page and "加一个章节" in page and "改名" in page
    item_id = client.get(f"/api/packs/{pack_id}").json()["items"][0]["id"]
    renamed = client.post(
        f"/packs/{pack_id}/sections/4/rename", data={"name": "成果交付"}, follow_redirects=True
    )
    assert "<h2>成果交付</h2>" in renamed.text and "服务交付与成果输出" not in renamed.text
    grown = client.post(
        f"/packs/{pack_id}/sections", data={"name": "行业专题"}, follow_redirects=True
    )
    assert "<h2>行业专题</h2>" in grown.text
    removed = client.post(f"/packs/{pack_id}/items/{item_id}/remove", follow_redirects=True)
    assert (
        "已从培训包移出 1 条" in removed.text
        and "华东某汽车零部件企业供应链降本项目" not in removed.text
    )
    unconfirmed = client.post(f"/packs/{pack_id}/delete", data={})
    assert unconfirmed.status_code == 422 and client.get(f"/packs/{pack_id}").status_code == 200
    deleted = client.post(
        f"/packs/{pack_id}/delete", data={"confirm": "yes"}, follow_redirects=True
    )
    assert "已删除培训包《交付培训》" in deleted.text
    assert client.get(f"/packs/{pack_id}").status_code == 404


@pytest.mark.parametrize("role", [None, "reader"])
def test_viewers_who_may_not_edit_packs_see_no_pack_actions(settings, client, role):
    pack_id = _new_pack(client)
    client.post("/packs/add", data={"target": f"{pack_id}:团队建设与培训", "doc_id": "SOP-T-001"})
    assert "加入培训包" in client.get("/search", params={"q": "门店"}).text
    with api_client(settings, role=role) as viewer:
        assert "加入培训包" not in viewer.get("/search", params={"q": "门店"}).text
        assert "新建培训包" not in viewer.get("/packs").text
        pack_page = viewer.get(f"/packs/{pack_id}").text
        assert "项目启动会组织规范" in pack_page
        for action in ("移出", "删除培训包", "加一个章节", "改名", "保存模板"):
            assert action not in pack_page
        assert "保存模板" not in viewer.get("/templates/new", params={"filter": "type=case"}).text
