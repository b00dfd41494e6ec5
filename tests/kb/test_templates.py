"""Template extraction: skeleton alignment across wording, numbering and order; guidance, slots,
fixed text and the Markdown/JSON output."""

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.access import LOCAL
from kb.errors import InvalidQueryError, NotFoundError
from kb.slots import fill_slots
from kb.templates import bare_heading, extract_template, section_concept, to_markdown

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus

FIXED = "本项目严格遵守客户保密要求，所有访谈记录仅限项目组内部使用。"
DOCS = {
    "t1": (
        "华东某汽车零部件有限公司（化名：东锐）",
        [
            "一、项目背景",
            "二、需求与目标",
            "三、问题诊断",
            "四、解决方案",
            "五、实施过程",
            "六、项目成效",
            "七、经验教训",
        ],
    ),
    "t2": (
        "华南某连锁超市有限公司",
        ["1. 背景", "2. 项目目标", "3. 现状诊断", "4. 方案设计", "5. 推进与落地", "6. 成果与价值"],
    ),
    "t3": (
        "西南某城市商业银行",
        ["背景与现状", "诊断", "客户诉求", "咨询方案", "实施路径", "实施效果", "复盘与启示"],
    ),
    "t4": (
        "华北某三甲医院",
        [
            "项目背景介绍",
            "二、诊断发现",
            "三、解决方案",
            "四、实施过程",
            "五、阶段性成效",
            "附录：访谈名单",
        ],
    ),
}
BODY = {
    "背景": "{client}成立于 2005 年，年营收约 12 亿元，员工 2,800 人。{client}希望系统提升运营效率。",
    "目标": "项目目标是在 6 个月内把交付周期缩短 30%，并建立持续改进机制。",
    "诊断": "我们访谈了 25 人，发现审批节点过多、数据口径不一致、责任不清。" + FIXED,
    "方案": "方案包括流程分级审批、数据治理与绩效联动三部分，由总经理王磊牵头。",
    "实施": "项目历时 5 个月，分诊断、设计、试点、推广四个阶段推进。",
    "成效": "交付周期缩短 32%，年化节约成本约 680 万元，客户满意度提升 15%。",
    "经验": "高层持续参与是变革成功的关键，试点选择要有代表性。" + FIXED,
    "附录": "访谈名单见附件，共 25 人。",
}


UNIQUE = {
    "t1": "{client}在 2022 年启动了数字化工厂规划，计划投资 3.5 亿元。",
    "t2": "{client}在 2021 年关闭了 18 家亏损门店，营业额下降 6%。",
    "t3": "{client}于 2020 年完成增资扩股，对公贷款余额约 900 亿元。",
    "t4": "{client}在 2023 年门诊量达到 320 万人次，医保结算压力增大。",
}


def _concept(heading: str) -> str:
    return section_concept(heading) or bare_heading(heading)[:2]


@pytest.fixture
def library_with_cases(library, tmp_path: Path):
    folder = tmp_path / "cases"
    folder.mkdir()
    for doc_id, (client, headings) in DOCS.items():
        parts = [
            f"---\nid: {doc_id}\ntype: case\ntitle: 案例{doc_id}\nclient: {client}\n"
            f"service_type: 流程优化\n---\n"
        ]
        for heading in headings:
            short = client.split("（")[0]
            body = BODY[_concept(heading)]
            if _concept(heading) == "背景":
                body += UNIQUE[doc_id]
            parts.append(f"## {heading}\n\n{body.format(client=short)}\n")
        (folder / f"{doc_id}.md").write_text("\n".join(parts), encoding="utf-8")
    ingest_paths(library, [folder])
    return library


def test_skeleton_aligns_sections_with_different_wording_numbering_and_order(library_with_cases):
    template = extract_template(library_with_cases, list(DOCS), viewer=LOCAL)
    by_concept = {_concept(s.variants[0]): s for s in template.sections}
    assert list(by_concept) == ["背景", "目标", "诊断", "方案", "实施", "成效"]
    expected_support = {
        "背景": 1.0,
        "目标": 0.75,
        "诊断": 1.0,
        "方案": 1.0,
        "实施": 1.0,
        "成效": 1.0,
    }
    for concept, section in by_concept.items():
        assert section.support == expected_support[concept], concept
        assert {_concept(v) for v in section.variants} == {concept}
    assert set(by_concept["背景"].variants) == {
        "一、项目背景",
        "1. 背景",
        "背景与现状",
        "项目背景介绍",
    }
    assert set(by_concept["成效"].variants) == {
        "六、项目成效",
        "6. 成果与价值",
        "实施效果",
        "五、阶段性成效",
    }
    optional = {s.name: s.support for s in template.optional}
    assert optional == {"经验教训": 0.5, "附录：访谈名单": 0.25}


def test_guidance_slots_and_fixed_text(library_with_cases):
    template = extract_template(library_with_cases, list(DOCS), viewer=LOCAL)
    background = template.sections[0]
    assert any("成立于" in text for text in background.fixed_text)
    texts = [g["text"] for g in background.guidance]
    assert texts and all("{{客户名称}}" in t or "{{机构名称}}" in t for t in texts)
    assert any("{{金额}}" in t and "{{日期}}" in t for t in texts)
    assert {g["source"] for g in background.guidance} <= set(DOCS)
    diagnosis = next(s for s in template.sections if _concept(s.name) == "诊断")
    assert any("保密" in text for text in diagnosis.fixed_text)
    assert {"客户名称", "金额", "百分比", "日期", "项目名称"} <= set(template.slots)
    assert template.front_matter["service_type"] == "流程优化"
    assert template.front_matter["client"] == "{{客户名称}}"


def test_markdown_and_json_output(library_with_cases):
    template = extract_template(library_with_cases, list(DOCS), viewer=LOCAL)
    markdown = to_markdown(template)
    assert markdown.startswith("---\n") and 'client: "{{客户名称}}"' in markdown
    assert "## 一、背景" in markdown or "## 一、项目背景" in markdown
    assert "出现在 4/4 篇来源中（100%）" in markdown and "## 可选章节" in markdown
    data = template.to_json()
    assert data["sources"] == list(DOCS) and len(data["sections"]) == 6


def test_slots_of_a_sentence():
    text, names = fill_slots(
        "2023 年 9 月，华东某汽车零部件有限公司历时 5 个月投入 680 万元，准时率提升 11%。"
    )
    assert text == "{{日期}}，{{机构名称}}{{项目周期}}投入 {{金额}}，准时率提升 {{百分比}}。"
    assert names == ["日期", "机构名称", "项目周期", "金额", "百分比"]


def test_at_least_two_documents(library_with_cases):
    with pytest.raises(InvalidQueryError, match="至少需要 2 篇"):
        extract_template(library_with_cases, ["t1"], viewer=LOCAL)


def test_saved_templates_are_versioned_fetched_and_prefilled(library_with_cases):
    from kb import store, templates

    template = extract_template(library_with_cases, list(DOCS), viewer=LOCAL)
    first = templates.save(library_with_cases, "流程优化模板", template)
    second = templates.save(library_with_cases, "流程优化模板", template)
    assert (first.version, second.version) == (1, 2) and second.sources == list(DOCS)
    assert templates.fetch(library_with_cases, "流程优化模板", viewer=LOCAL).version == 2
    assert templates.fetch(library_with_cases, "流程优化模板", 1, viewer=LOCAL).id == first.id
    draft = templates.new_document(second, {"客户名称": "西北某能源集团", "项目名称": "流程再造"})
    assert (
        'client: "西北某能源集团"' in draft
        and "# 流程再造" in draft
        and "{{客户名称}}" not in draft
    )
    with library_with_cases.session() as session:
        assert store.delete_template(session, name="流程优化模板") == 2
        session.commit()
    with pytest.raises(NotFoundError):
        templates.fetch(library_with_cases, "流程优化模板", viewer=LOCAL)


def test_auto_proposes_a_family_per_service_type(library_with_cases):
    from kb.templates import propose_families

    [family] = propose_families(
        library_with_cases, viewer=LOCAL
    )  # no two sources share one structure
    assert family["name"] == "流程优化案例模板" and sorted(family["documents"]) == sorted(DOCS)
    assert len(family["sections"]) == 6


def test_structure_signature_and_families_by_structure(library_with_cases, tmp_path):
    from kb.templates import propose_families, source_sections, structure_signature

    sections = source_sections(library_with_cases, ["t1", "t3"])
    assert structure_signature(sections["t1"]) == "背景-目标-诊断-方案-实施-成效-经验"
    assert structure_signature(sections["t3"]) == "背景-诊断-目标-方案-实施-成效-经验"
    folder = tmp_path / "more"
    folder.mkdir()
    for n in range(3):
        body = "".join(
            f"## {h}\n\n{BODY[_concept(h)].format(client='某客户')}\n\n" for h in DOCS["t2"][1]
        )
        (folder / f"s{n}.md").write_text(
            f"---\nid: S{n}\ntitle: 案例S{n}\ntype: case\nservice_type: 运营优化\n---\n\n{body}",
            encoding="utf-8",
        )
    ingest_paths(library_with_cases, [folder])
    families = propose_families(library_with_cases, viewer=LOCAL)
    structural = [f for f in families if f["grouped_by"].startswith("structure=")]
    assert structural and set(structural[0]["documents"]) >= {"S0", "S1", "S2", "t2"}


LESSON = """---
id: {id}
type: lesson
title: 教训{id}
---

## 背景

{id} 项目的客户是一家制造企业，供应商交付经常延迟，库存积压严重。

## 发生了什么

项目中期发现 {id} 的数据口径不一致，诊断结论需要返工两周。

## 原因分析

启动阶段没有确认数据口径，访谈与系统数据对不上，导致返工。

## 教训与建议

启动会上就确认数据口径和责任人，每周复核一次交付与库存数据。
"""
SOP = """---
id: {id}
type: sop
title: 规范{id}
---

## 1. 目的

规范 {id} 的供应商交付与库存盘点流程，保证数据口径一致。

## 2. 操作步骤

每周盘点库存，核对供应商交付记录，发现异常当天上报。
"""


@pytest.fixture
def mixed_library(library_with_cases, tmp_path: Path):
    """The four cases, two lessons and two SOPs."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for doc_id in ("L1", "L2"):
        (folder / f"{doc_id}.md").write_text(LESSON.format(id=doc_id), encoding="utf-8")
    for doc_id in ("S1", "S2"):
        (folder / f"{doc_id}.md").write_text(SOP.format(id=doc_id), encoding="utf-8")
    ingest_paths(library_with_cases, [folder])
    return library_with_cases


@pytest.mark.parametrize(
    ("heading", "concept"),
    [
        ("解决方案", "方案"),
        ("四、方案设计", "方案"),
        ("教训与建议", "经验"),
        ("七、问题与教训", "经验"),
        ("现状诊断", "诊断"),
        ("三、问题诊断与主要发现", "诊断"),
        ("原因分析", "原因"),
        ("发生了什么", "经过"),
        ("6. 项目成效（阶段性）", "成效"),
        ("六、常见问题", "注意"),
    ],
)
def test_section_concepts_keep_their_own_meaning(heading, concept):
    assert section_concept(heading) == concept


def test_mixed_sources_never_put_a_solution_under_lessons_or_diagnosis_under_causes(
    mixed_library,
):
    ids = [*DOCS, "L1", "L2", "S1", "S2"]
    template = extract_template(mixed_library, ids, viewer=LOCAL)
    rows = template.sections + template.optional
    names = [s.name for s in rows]
    assert len(names) == len(set(names)), names
    for row in rows:
        concepts = {section_concept(v) for v in row.variants} - {None}
        assert len(concepts) <= 1, (row.name, row.variants)
        assert section_concept(row.name) in concepts | {None}, (row.name, row.variants)
    concepts = [c for c in (section_concept(s.name) for s in rows) if c]
    assert {"诊断", "原因", "方案", "经验"} <= set(concepts), names
    assert len(concepts) == len(set(concepts)), names  # one row per concept
    assert section_concept(by_concept(rows, "经验").name) == "经验"
    assert "原因分析" in by_concept(rows, "原因").variants
    assert "原因分析" not in by_concept(rows, "诊断").variants


def by_concept(rows, concept):
    return next(s for s in rows if section_concept(s.name) == concept)


def test_a_template_from_a_search_uses_one_type_and_says_which(mixed_library):
    from kb.search import SearchService
    from kb.templates import select_documents

    service = SearchService(mixed_library)
    query = "供应商交付 库存 数据口径 项目"
    chosen = select_documents(service, viewer=LOCAL, query=query)
    assert chosen.types == {"case": 4, "lesson": 2, "sop": 2}
    assert chosen.doc_type == "case" and sorted(chosen.doc_ids) == sorted(DOCS)
    lessons = select_documents(service, viewer=LOCAL, query=query, doc_type="lesson")
    assert lessons.doc_type == "lesson" and sorted(lessons.doc_ids) == ["L1", "L2"]
    assert lessons.types == chosen.types
    by_filter = select_documents(service, viewer=LOCAL, query=query, filters=["type:sop"])
    both = select_documents(service, viewer=LOCAL, query=query, filters=["type=sop", "type=lesson"])
    assert both.doc_type in ("sop", "lesson") and len(both.doc_ids) == 2
    assert by_filter.doc_type == "sop" and sorted(by_filter.doc_ids) == ["S1", "S2"]
    listed = select_documents(service, viewer=LOCAL, filters=["service_type=流程优化"])
    assert listed.doc_type == "case" and listed.types == {"case": 4}
    template = extract_template(mixed_library, lessons.doc_ids, viewer=LOCAL)
    assert template.front_matter["type"] == "lesson"
    assert [s.name for s in template.sections] == ["背景", "发生了什么", "原因分析", "教训与建议"]
