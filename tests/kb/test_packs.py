"""Onboarding packs: building, suggestion, DOCX export and redaction."""

import io
from pathlib import Path

import docx
import pytest

from ingest.pipeline import ingest_paths
from kb import packs, store
from kb.access import LOCAL
from kb.errors import InvalidQueryError, NotFoundError
from kb.search import SearchService

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus

SECRET_CASE = """---
id: CASE-R-001
type: case
title: 华东某精密机械有限公司交付周期压缩项目
client: 华东某精密机械有限公司（化名：精工）
industry: 制造业
stage: 交付
---

## 背景

华东某精密机械有限公司（下称“精工”）的总经理王建国委托我方压缩交付周期。
客户联系人李娜，电话 138-0000-2217，邮箱 li.na@example.com，身份证号 110101199003071234。

## 经验教训

精工的生产副总陈女士全程参与，王建国每周听取汇报。
"""
SECOND_CASE = """---
id: CASE-R-002
type: case
title: 华南某连锁药房集团门店运营项目
client: 华南某连锁药房集团
industry: 零售
stage: 复盘
---

## 背景

华南某连锁药房集团的营运总监赵敏（139-0000-5678，zhao.min@example.com）提出门店人效问题。
项目结束后，华南某连锁药房集团与华东某精密机械有限公司交流了经验。
"""
SECRETS = [
    "华东某精密机械有限公司",
    "精工",
    "王建国",
    "李娜",
    "陈女士",
    "138-0000-2217",
    "li.na@example.com",
    "110101199003071234",
    "华南某连锁药房集团",
    "赵敏",
    "139-0000-5678",
    "zhao.min@example.com",
]


@pytest.fixture
def pack_library(ingested, tmp_path: Path):
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "r1.md").write_text(SECRET_CASE, encoding="utf-8")
    (folder / "r2.md").write_text(SECOND_CASE, encoding="utf-8")
    ingest_paths(ingested, [folder])
    pack = packs.create_pack(ingested, title="新人培训：交付与复盘", audience="新入职顾问")
    packs.add_item(
        ingested,
        pack.id,
        doc_id="CASE-R-001",
        section="服务交付与成果输出",
        note="重点看联系人管理",
        viewer=LOCAL,
    )
    packs.add_item(
        ingested, pack.id, doc_id="CASE-R-002", section="案例分析与经验总结", viewer=LOCAL
    )
    packs.add_item(
        ingested, pack.id, doc_id="SOP-T-001", section="前期准备与客户沟通", viewer=LOCAL
    )
    return ingested, pack


def test_export_masks_every_secret_and_keeps_one_alias_per_client(pack_library):
    library, pack = pack_library
    markdown, report = packs.export_markdown(library, pack.id, viewer=LOCAL)
    for secret in SECRETS:
        assert secret not in markdown, secret
    client_aliases = {
        r["alias"] for r in report if r["original"].startswith("华东某精密机械有限公司")
    }
    assert len(client_aliases) == 1
    alias = client_aliases.pop()
    assert markdown.count(alias) >= 4  # title, body, alias name, and in the other case
    kinds = {r["kind"] for r in report}
    assert {"client", "person", "phone", "email", "id_card"} <= kinds
    plain, empty_report = packs.export_markdown(library, pack.id, redact=False, viewer=LOCAL)
    assert "王建国" in plain and empty_report == []


def test_docx_export_has_contents_sources_and_no_secrets(pack_library):
    library, pack = pack_library
    data, _ = packs.export_docx(library, pack.id, viewer=LOCAL)
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    assert "目录" in texts
    contents = texts[texts.index("目录") + 1 : texts.index("目录") + 4]
    assert contents == [
        "1. 前期准备与客户沟通（1 篇）",
        "2. 服务交付与成果输出（1 篇）",
        "3. 案例分析与经验总结（1 篇）",
    ]
    assert any(t.startswith("来源：CASE-R-001 · r1.md") for t in texts)
    assert "资料来源" in texts and any(t.startswith("SOP-T-001 · sop-kickoff.md") for t in texts)
    body = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in body, secret
    assert "培训说明：重点看联系人管理" in body


def test_reorder_and_errors(pack_library):
    library, pack = pack_library
    _, items = packs.load_pack(library, pack.id, viewer=LOCAL)
    packs.reorder(library, pack.id, [items[1].id, items[0].id], viewer=LOCAL)
    _, reordered = packs.load_pack(library, pack.id, viewer=LOCAL)
    assert [i.doc_id for i in reordered][:2] == ["CASE-R-002", "CASE-R-001"]
    with pytest.raises(InvalidQueryError):
        packs.reorder(library, pack.id, [99999], viewer=LOCAL)
    with pytest.raises(NotFoundError):
        packs.add_item(library, pack.id, doc_id="NOPE", section="团队建设与培训", viewer=LOCAL)
    with pytest.raises(InvalidQueryError):
        packs.create_pack(library, title=" ")


def test_suggest_places_sops_lessons_and_cases_in_the_outline(ingested):
    suggested = packs.suggest(SearchService(ingested), "项目启动 数据口径 供应链", viewer=LOCAL)
    types = {s.type for s in suggested}
    assert types == {"sop", "lesson", "case"}
    assert all(s.section in packs.DEFAULT_OUTLINE for s in suggested)
    sections = [packs.DEFAULT_OUTLINE.index(s.section) for s in suggested]
    assert sections == sorted(sections)
    lesson = next(s for s in suggested if s.type == "lesson")
    assert lesson.section == "案例分析与经验总结"


@pytest.mark.parametrize(
    ("stage", "section"),
    [
        ("售前", "前期准备与客户沟通"),
        ("诊断", "前期准备与客户沟通"),
        ("診斷", "前期准备与客户沟通"),
        ("方案设计", "服务流程设计与实施"),
        ("实施", "服务流程设计与实施"),
        ("评估", "服务质量控制与评估"),
        ("交付", "服务交付与成果输出"),
        ("运维", "后续支持与持续改进"),
        ("复盘", "案例分析与经验总结"),
        ("", None),
        (None, None),
        ("其他", None),
    ],
)
def test_stage_picks_the_lifecycle_section(stage, section):
    assert packs.stage_section(stage, packs.DEFAULT_OUTLINE) == section


def test_stage_follows_a_renamed_section_by_its_place():
    outline = ["售前与沟通", *packs.DEFAULT_OUTLINE[1:]]
    assert packs.stage_section("诊断", outline) == "售前与沟通"
    assert packs.stage_section("交付", outline) == "服务交付与成果输出"


def test_an_item_is_not_added_twice(pack_library):
    library, pack = pack_library
    again = packs.add_item(
        library, pack.id, doc_id="CASE-R-001", section="团队建设与培训", viewer=LOCAL
    )
    assert not again.added and again.item.section == "服务交付与成果输出"
    assert (
        again.message()
        == "《新人培训：交付与复盘》的〈服务交付与成果输出〉里已有这一条，没有重复加入"
    )
    _, items = packs.load_pack(library, pack.id, viewer=LOCAL)
    assert [i.doc_id for i in items].count("CASE-R-001") == 1
    passage = packs.add_item(
        library, pack.id, doc_id="CASE-R-001", section="团队建设与培训", chunk_id=1, viewer=LOCAL
    )
    assert (
        passage.added and passage.message() == "已加入《新人培训：交付与复盘》的〈团队建设与培训〉"
    )


def test_remove_item_rename_and_add_section_delete_pack(pack_library):
    library, pack = pack_library
    _, items = packs.load_pack(library, pack.id, viewer=LOCAL)
    removed = packs.remove_item(library, pack.id, items[0].id, viewer=LOCAL)
    _, left = packs.load_pack(library, pack.id, viewer=LOCAL)
    assert removed.id not in {i.id for i in left} and len(left) == len(items) - 1
    with pytest.raises(NotFoundError):
        packs.remove_item(library, pack.id, removed.id, viewer=LOCAL)
    number = pack.outline.index("案例分析与经验总结") + 1
    renamed = packs.rename_section(library, pack.id, number, "复盘案例")
    assert renamed.outline[number - 1] == "复盘案例" and len(renamed.outline) == 8
    _, after = packs.load_pack(library, pack.id, viewer=LOCAL)
    assert {i.section for i in after if i.doc_id == "CASE-R-002"} == {"复盘案例"}
    with pytest.raises(InvalidQueryError, match="已有章节"):
        packs.rename_section(library, pack.id, 1, "复盘案例")
    with pytest.raises(NotFoundError):
        packs.rename_section(library, pack.id, 99, "不存在的章节")
    grown = packs.add_section(library, pack.id, "行业专题")
    assert grown.outline[-1] == "行业专题" and len(grown.outline) == 9
    with pytest.raises(InvalidQueryError):
        packs.add_section(library, pack.id, "  ")
    assert packs.delete_pack(library, pack.id) == "新人培训：交付与复盘"
    with pytest.raises(NotFoundError):
        packs.load_pack(library, pack.id, viewer=LOCAL)
    with library.session() as session:
        assert list(store.pack_items(session, pack_id=pack.id)) == []
