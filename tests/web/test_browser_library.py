"""Browser tests of the trainer pages: a template from a search (one document type, switch to
another, saving lands on it) and the pack builder (add with a confirmation, no duplicates, the
stage's section pre-selected, remove, rename and add sections, delete), and that viewers who
may not edit packs are not offered to. Chromium via Playwright against a real `kb serve`."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import DATA
from tests.web.conftest import ServerURL, running_server
from tests.web.test_browser import DESKTOP, browser, page, png_size, search_path

__all__ = ["browser", "page"]  # fixtures shared with the search-page tests

QUERY = "项目 数据 门店 供应商"
AUTO = "华东某汽车零部件企业供应链降本项目"  # CASE-T-001, stage 交付
SOP = """---
id: SOP-T-00{n}
type: sop
title: 供应商交付数据核对规范（{n}）
---

## 1. 目的

每周核对供应商交付与门店库存数据，保证项目数据口径一致。

## 2. 步骤

导出交付记录，与库存台账逐项比对，差异当天上报。
"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    """A server over the fixture library and two more SOPs: three SOPs, two cases, a lesson."""
    root = tmp_path_factory.mktemp("library-pages")
    corpus = root / "corpus"
    shutil.copytree(DATA / "library", corpus)
    for n in (2, 3):
        (corpus / f"sop-{n}.md").write_text(SOP.format(n=n), encoding="utf-8")
    with running_server(root / "index", corpus) as base:
        yield base


def test_template_from_a_search_names_its_type_switches_and_saves(page: Page, tmp_path: Path):
    page.goto(search_path(QUERY))
    page.get_by_role("link", name="提炼模板").click()
    page.wait_for_url("**/templates/new?*")
    kind = page.locator("p.template-type")
    expect(kind).to_contain_text("来源类型：SOP（检索结果中的类型：SOP 3、案例 2、经验教训 1）")
    expect(page.locator("p.muted", has_text="来源 3 篇")).not_to_contain_text("CASE-T-")
    expect(kind.get_by_role("link")).to_have_count(1)  # one lesson is too few for a template
    shot = tmp_path / "template.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == DESKTOP["width"]
    kind.get_by_role("link", name="案例（2）").click()
    page.wait_for_url("**type=case")
    expect(kind).to_contain_text("来源类型：案例")
    expect(page.locator("p.muted", has_text="来源 2 篇")).to_contain_text("CASE-T-001")
    page.get_by_placeholder("模板名称").fill("供应链案例模板")
    page.get_by_role("button", name="保存模板").click()
    page.wait_for_url(f"**/templates/{quote('供应链案例模板')}?version=1&saved=1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("模板：供应链案例模板")
    expect(page.locator("p.notice.saved")).to_have_text("已保存模板 供应链案例模板 第 1 版。")


def test_pack_builder_confirms_adds_once_and_edits_the_pack(page: Page):
    page.goto("/packs")
    page.get_by_placeholder("培训包标题").fill("供应链新人培训")
    page.get_by_role("button", name="新建培训包").click()
    page.wait_for_url("**/packs/*")
    pack_url = page.url

    page.goto(search_path("供应商交付"))
    hit = page.locator("li.hit", has_text=AUTO)
    target = hit.get_by_label("培训包与章节")
    expect(target.locator("option:checked")).to_have_text("服务交付与成果输出")  # stage 交付
    hit.get_by_role("button", name="加入培训包").click()
    page.wait_for_url("**added=*")
    confirmation = page.locator("li.hit", has_text=AUTO).locator(".notice.placed")
    expect(confirmation).to_contain_text("已加入《供应链新人培训》的〈服务交付与成果输出〉")
    page.locator("li.hit", has_text=AUTO).get_by_role("button", name="加入培训包").click()
    page.wait_for_url("**kept=*")
    expect(page.locator("li.hit", has_text=AUTO).locator(".notice.placed")).to_contain_text(
        "里已有这一条，没有重复加入"
    )
    page.locator("li.hit", has_text=AUTO).get_by_role("link", name="查看培训包").click()
    page.wait_for_url(re.compile(re.escape(pack_url) + r"\?kept=\d+#item-\d+$"))
    expect(page.locator("p.notice.placed")).to_contain_text("里已有这一条")
    expect(page.locator("li.pack-item")).to_have_count(1)
    expect(page.locator("li.pack-item.just-placed")).to_contain_text(AUTO)

    delivery = page.locator("section.pack-section", has_text="服务交付与成果输出")
    delivery.get_by_text("改名").click()
    delivery.get_by_label("章节名称").fill("交付与成果")
    delivery.get_by_role("button", name="保存名称").click()
    expect(page.get_by_role("heading", name="交付与成果")).to_be_visible()
    page.get_by_label("新章节名称").fill("行业专题")
    page.get_by_role("button", name="加一个章节").click()
    expect(page.get_by_role("heading", name="行业专题")).to_be_visible()
    page.get_by_role("button", name="移出").click()
    expect(page.locator("p.notice.removed")).to_have_text("已从培训包移出 1 条。")
    expect(page.locator("li.pack-item")).to_have_count(0)
    page.get_by_role("button", name="删除培训包").click()  # the checkbox is required first
    expect(page).to_have_url(pack_url + "?removed=1")
    page.get_by_label("确认删除这个培训包").check()
    page.get_by_role("button", name="删除培训包").click()
    page.wait_for_url("**/packs?deleted=*")
    expect(page.locator("p.notice")).to_have_text("已删除培训包《供应链新人培训》。")


def test_anonymous_viewers_are_not_offered_pack_actions(
    browser: Browser, live_server: ServerURL, page: Page
):
    page.goto("/packs")
    page.get_by_placeholder("培训包标题").fill("只给编辑看的按钮")
    page.get_by_role("button", name="新建培训包").click()
    page.wait_for_url("**/packs/*")
    page.goto(search_path("供应商交付"))
    expect(page.get_by_role("button", name="加入培训包").first).to_be_visible()
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=DESKTOP)
    try:
        anonymous = context.new_page()
        anonymous.goto(search_path("供应商交付"))
        expect(anonymous.locator("li.hit").first).to_be_visible()
        expect(anonymous.get_by_role("button", name="加入培训包")).to_have_count(0)
        anonymous.goto("/packs")
        expect(anonymous.get_by_role("link", name="只给编辑看的按钮")).to_be_visible()
        expect(anonymous.get_by_role("button", name="新建培训包")).to_have_count(0)
    finally:
        context.close()
