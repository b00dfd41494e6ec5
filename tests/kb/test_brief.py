"""The case brief: labels, similar cases, SOP steps, pitfalls and draft from one text, for one
viewer; the exported document; what a viewer without a grant can learn from it."""

from __future__ import annotations

import io
import json

import docx
import pytest

from kb.access import LOCAL, principal_for
from kb.brief import MAX_BRIEF_CHARS, make_brief
from kb.brief_export import brief_docx, brief_markdown, plain
from kb.classify import Classifier
from kb.errors import InvalidQueryError
from kb.search import SearchService

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus
SECRET_ID = "CASE-T-002"  # the fixture library's only confidential document, the only 零售 one
SECRET_MARKERS = (SECRET_ID, "華南", "門店", "零售", "门店运营", "連鎖")
CLIENT = "华南某连锁药房企业"
PHONE = "13812345678"
TEXT = (
    f"客户是{CLIENT}，约 320 家门店，2024 年营收约 18 亿元。近两年门店排班混乱、人效下降，"
    "顾客排队时间长，供应链降本的压力也很大，库存周转从 45 天升到 62 天。\n"
    f"客户希望 6 个月内改善门店经营。联系人王经理，电话 {PHONE}。"
)


@pytest.fixture
def classifier(ingested) -> Classifier:
    return Classifier(ingested)


def brief_for(service: SearchService, classifier: Classifier, viewer=LOCAL, **options):
    return make_brief(service, classifier, TEXT, viewer=viewer, **options)


def test_each_part_draws_on_its_kind_of_document(service, classifier):
    brief = brief_for(service, classifier)
    fields = {label.field: label for label in brief.labels}
    assert {"industry", "service_type", "stage"} <= set(fields)
    for label in fields.values():
        assert 0 < label.probability <= 1
        assert label.confident == (label.probability >= 0.5)
        assert label.label == label.candidates[0]["label"]
        assert all(e["doc_id"] in service.snapshot().docs for e in label.evidence)
    meta = service.snapshot().meta
    assert {item.case.doc_id for item in brief.cases} == {"CASE-T-001", SECRET_ID}
    assert all(meta[item.case.doc_id]["type"] == "case" for item in brief.cases)
    assert [meta[s.doc_id]["type"] for s in brief.steps] == ["sop"] * len(brief.steps)
    assert brief.steps and all(s.section == "前期准备与客户沟通" for s in brief.steps)  # 诊断
    assert [p.doc_id for p in brief.pitfalls] == ["LES-T-001"]
    assert brief.pitfalls[0].remedy_heading.endswith("教训与建议")
    assert brief.client == CLIENT
    assert brief.took_ms > 0


def test_a_case_is_explained_by_marked_sentence_pairs_and_its_outcome(service, classifier):
    brief = brief_for(service, classifier)
    case = next(item for item in brief.cases if item.case.doc_id == "CASE-T-001")
    assert case.case.reasons and case.pairs
    for pair in case.pairs:
        assert plain(pair["sentence"]) in TEXT  # one sentence of the brief itself
        for word in pair["shared_words"]:
            assert f"<mark>{word}</mark>" in pair["sentence"] or word in plain(pair["sentence"])
    assert case.outcome is not None and "成效" in case.outcome.heading


def test_the_draft_fills_the_slots_the_text_gives(service, classifier):
    draft = brief_for(service, classifier).draft
    assert draft is not None and draft.origin == "extracted"
    assert set(draft.sources) == {"CASE-T-001", SECRET_ID}
    assert draft.filled["客户名称"] == CLIENT
    assert f"client: {CLIENT}" in draft.markdown
    assert "18 亿元" in draft.found["金额"] and "2024 年" in draft.found["日期"]
    assert "简报原文中的信息" in draft.markdown


def test_a_left_out_document_shapes_nothing(service, classifier):
    brief = brief_for(service, classifier, exclude=frozenset({SECRET_ID}))
    dumped = json.dumps(brief.model_dump(), ensure_ascii=False)
    assert SECRET_ID not in dumped


def test_a_reader_without_the_grant_learns_nothing_of_the_confidential_case(service, classifier):
    reader = principal_for("reader", "reader")
    brief = brief_for(service, classifier, viewer=reader)
    dumped = json.dumps(brief.model_dump(), ensure_ascii=False).replace(TEXT, "")
    leaked = [marker for marker in SECRET_MARKERS if marker in dumped]
    assert not leaked, f"the confidential case shaped the brief through {leaked}"
    for label in brief.labels:
        assert "零售" not in {c["label"] for c in label.candidates}
    assert brief.draft is None  # one visible case: nothing to draw a skeleton from
    granted = brief_for(service, classifier, viewer=principal_for("g", "reader", [SECRET_ID]))
    assert SECRET_ID in {item.case.doc_id for item in granted.cases}


def test_the_gap_line_counts_only_visible_cases(service, classifier):
    brief = brief_for(service, classifier, viewer=principal_for("reader", "reader"))
    industry = next(label.label for label in brief.labels if label.field == "industry")
    service_type = next(label.label for label in brief.labels if label.field == "service_type")
    assert brief.gaps is not None and f"「{industry} × {service_type}」" in brief.gaps
    meta = service.snapshot().meta
    seen = [m for d, m in meta.items() if d != SECRET_ID and m.get("type") == "case"]
    both = sum(
        m.get("industry") == industry and m.get("service_type") == service_type for m in seen
    )
    assert f"只有 {both} 个" in brief.gaps


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (MAX_BRIEF_CHARS + 1)])
def test_an_empty_or_overlong_text_is_refused_with_what_to_do(service, classifier, text):
    with pytest.raises(InvalidQueryError) as error:
        make_brief(service, classifier, text, viewer=LOCAL)
    assert "简报" in error.value.message or "太长" in error.value.message


def docx_text(data: bytes) -> tuple[list[str], str]:
    document = docx.Document(io.BytesIO(data))
    headings = [
        p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))
    ]
    return headings, "\n".join(p.text for p in document.paragraphs)


def test_the_word_export_has_every_part_and_its_sources_and_masks_the_client(service, classifier):
    brief = brief_for(service, classifier)
    data, report = brief_docx(brief, TEXT, client=brief.client)
    headings, text = docx_text(data)
    for part in ("客户情况（原文）", "一、项目判断", "二、相似案例", "三、怎么做（SOP）"):
        assert part in headings
    assert {"四、以前踩过的坑", "五、方案骨架", "资料来源"} <= set(headings)
    assert "CASE-T-001" in text and "SOP-T-001" in text and "LES-T-001" in text
    assert CLIENT not in text and PHONE not in text and "王经理" not in text
    assert "门店" in text and "排队" in text  # ordinary words stay
    masked = {row["original"] for row in report}
    assert {CLIENT, PHONE} <= masked


def test_the_markdown_export_unredacted_keeps_the_names(service, classifier):
    brief = brief_for(service, classifier)
    page, report = brief_markdown(brief, TEXT, client=brief.client, redact=False)
    assert report == []
    assert CLIENT in page and PHONE in page
    assert page.startswith(f"# 案例简报：{CLIENT}")


def test_control_characters_in_the_text_do_not_break_the_word_export(service, classifier):
    text = TEXT + "\x00\x07\x1b"
    brief = make_brief(service, classifier, text, viewer=LOCAL)
    headings, body = docx_text(brief_docx(brief, text, client=brief.client)[0])
    assert "一、项目判断" in headings and "\x07" not in body
