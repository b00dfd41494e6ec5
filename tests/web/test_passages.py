"""Passage text as HTML: stored tables back as tables, Markdown rendered with raw HTML and unsafe
links shown as text, query terms marked."""

from __future__ import annotations

from web.passages import render_passage, restore_tables


def test_stored_table_rows_become_a_markdown_table() -> None:
    text = "前言\n\n诊断项 | 现状\n模具费用 | 计入当期\n之后的段落"
    assert restore_tables(text) == (
        "前言\n\n\n| 诊断项 | 现状 |\n| --- | --- |\n| 模具费用 | 计入当期 |\n\n之后的段落"
    )


def test_a_single_line_with_a_bar_stays_text() -> None:
    assert restore_tables("甲 | 乙") == "甲 | 乙"
    assert "<table>" not in render_passage("甲 | 乙", [])


def test_tables_lists_and_emphasis_are_rendered() -> None:
    html = render_passage("诊断项 | 现状\n模具费用 | 计入当期\n\n- 第一\n- **第二**", [])
    assert "<thead>\n<tr>\n<th>诊断项</th>" in html
    assert "<td>模具费用</td>" in html
    assert "<li>第一</li>" in html and "<li><strong>第二</strong></li>" in html


def test_raw_html_images_and_unsafe_links_are_not_rendered() -> None:
    html = render_passage(
        '<script>alert(1)</script>\n\n<img src="x" onerror="alert(2)">\n\n'
        "[点我](javascript:alert(3)) ![图](http://example.com/a.png) [正常](https://example.com/)",
        [],
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.com/">正常</a>' in html


def test_terms_are_marked_in_cells_and_list_items() -> None:
    html = render_passage("库存周转 | 天数\n75 | 48\n\n- 降低库存", ["库存"], "库存")
    assert "<th><mark>库存</mark>周转</th>" in html
    assert "<li>降低<mark>库存</mark></li>" in html
    assert "<mark>" not in render_passage("降低库存", [])
