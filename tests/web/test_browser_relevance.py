"""Browser test of the relevance floor: a nonsense query shows no results, says so, and keeps
the nearest passages folded away (Chromium against a real `kb serve`)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.test_browser import browser, page, png_size, search_path  # noqa: F401

SHOT = Path("/tmp/shots/nonsense-query.png")


def test_nonsense_query_says_nothing_is_relevant_and_folds_weak_matches(page: Page) -> None:  # noqa: F811
    page.goto(search_path("量子纠缠火星殖民xyzzy"))

    expect(page.locator("li.hit")).to_have_count(0)
    expect(page.locator(".result-head .summary")).to_contain_text("共 0 条结果")
    notice = page.locator(".notice.empty")
    expect(notice.locator("h2")).to_have_text("没有足够相关的结果")
    weak = notice.locator("details.weak")
    expect(weak.locator(".weak-hits li").first).to_be_hidden()  # folded until asked for
    weak.locator("summary").click()
    expect(weak.locator(".weak-hits li").first).to_be_visible()
    assert 1 <= weak.locator(".weak-hits li").count() <= 5
    assert not page.locator("aside.facets a.facet-link").count()

    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT), full_page=True)
    width, _ = png_size(SHOT)
    assert width == 1280 and SHOT.stat().st_size > 20_000
