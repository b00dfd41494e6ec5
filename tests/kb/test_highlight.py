"""Snippets and highlights, also across scripts."""

from kb.highlight import find_spans, snippet
from kb.text import TextPipeline


def test_simplified_query_marks_traditional_text():
    terms = TextPipeline().highlight_terms("服务成果归档")
    text = "服務成果的整理應遵循四分法原則，成果資料需按項目階段歸檔。"
    marked = snippet(text, terms)
    assert "<mark>服務</mark>" in marked or "<mark>服務成果</mark>" in marked
    assert "<mark>歸檔</mark>" in marked
    assert marked.replace("<mark>", "").replace("</mark>", "") == text


def test_match_extends_over_what_text_shares_with_query():
    text = "建議採用“成果包”形式進行歸檔"
    spans = find_spans(text, ["成果"], "成果包包括哪些内容")
    assert [text[s:e] for s, e in spans] == ["成果包"]


def test_snippet_window_escapes_html_and_centres_on_matches():
    text = (
        "<script>alert(1)</script>"
        + "无关内容。" * 60
        + "供应链降本是本项目的核心。"
        + "其他。" * 40
    )
    result = snippet(text, ["供应链"], width=80)
    assert "<mark>供应链</mark>" in result
    assert "<script>" not in result
    assert result.startswith("…") and result.endswith("…")


def test_snippet_without_match_is_the_start():
    assert snippet("短文本。", ["不存在"]) == "短文本。"
