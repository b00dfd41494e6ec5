"""Browser tests of the search pages: Debian's Chromium, driven by Playwright's sync API, against
the real `kb serve` process of the `live_server` fixture (four tiny Chinese fixture documents,
hash embedder). Each test checks what a person would see on the page."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.web.conftest import ServerURL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOT = Path("/tmp/kb-search-page.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

AUTO = "华东某汽车零部件企业供应链降本项目"  # CASE-T-001, 制造业
RETAIL = "華南某連鎖零售企業門店運營優化項目"  # CASE-T-002, 零售, traditional script
MARK_BACKGROUND = "rgb(255, 241, 168)"  # --mark in style.css


def search_path(q: str, *extra: str) -> str:
    return "/search?q=" + quote(q) + "".join("&" + item for item in extra)


def query_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def facet_counts(page: Page, field: str) -> dict[str, int]:
    """{shown value: count} of one facet section of the sidebar."""
    links = page.locator(f'aside.facets section.facet[data-field="{field}"] a.facet-link')
    return {
        link.locator(".value").inner_text().strip(): int(link.locator(".count").inner_text())
        for link in links.all()
    }


def hit_docs(page: Page) -> list[str]:
    return [hit.get_attribute("data-doc") or "" for hit in page.locator("li.hit").all()]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _context(browser: Browser, base: ServerURL, **options) -> BrowserContext:
    """A browser context logged in with the server's admin key through the login form."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=base, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    login = context.new_page()
    login.goto("/login")
    login.get_by_label("访问密钥").fill(base.admin_key)
    login.get_by_role("button", name="登录").click()
    login.wait_for_url(base + "/")
    login.close()
    return context


@pytest.fixture
def page(browser: Browser, live_server: ServerURL) -> Iterator[Page]:
    """A desktop page that fails the test on a script error, a failed request or any request
    leaving the server (the pages promise to work offline, without CDNs)."""
    context = _context(browser, live_server)
    page = context.new_page()
    errors: list[str] = []
    downloads: set[str] = set()  # a download ends its navigation: Chromium calls that failed

    def answered(resp) -> None:
        if resp.status >= 400:
            errors.append(f"HTTP {resp.status}: {resp.url}")
        if "attachment" in resp.headers.get("content-disposition", ""):
            downloads.add(resp.url)

    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    page.on(
        "requestfailed",
        lambda req: None if req.url in downloads else errors.append(f"request failed: {req.url}"),
    )
    page.on(
        "request",
        lambda req: (
            None if req.url.startswith(live_server) else errors.append(f"external: {req.url}")
        ),
    )
    page.on("response", answered)
    yield page
    context.close()
    assert not errors, errors


def test_search_from_home_page_shows_ranked_highlighted_results_and_facets(
    page: Page, tmp_path: Path
) -> None:
    page.goto("/")
    expect(page.locator(".intro h1")).to_have_text("找过往案例、SOP 和经验教训")
    box = page.get_by_role("searchbox", name="检索")
    box.fill("供应链 库存")
    box.press("Enter")
    page.wait_for_url("**/search?*")

    assert query_params(page)["q"] == ["供应链 库存"]
    expect(page).to_have_title("供应链 库存 · 咨询案例知识库")
    expect(box).to_have_value("供应链 库存")
    expect(page.locator(".result-head .summary")).to_contain_text("“供应链 库存” 共")

    first = page.locator("li.hit").first
    expect(first).to_have_attribute("data-doc", "CASE-T-001")
    expect(first.locator("a.hit-title")).to_have_text(AUTO)
    expect(first.locator(".badge")).to_have_text(["案例", "内部"])  # type, and 密级 for an admin
    expect(first.locator(".labels")).to_contain_text("制造业")

    marks = first.locator("p.snippet mark")
    expect(marks.first).to_be_visible()
    marked = [text.strip() for text in marks.all_inner_texts()]
    assert marked and all(text and text in "供应链 库存" for text in marked), marked
    assert "库存" in marked
    background = marks.first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == MARK_BACKGROUND, "the highlight is not styled, so not visible"

    industry = page.locator('aside.facets section.facet[data-field="industry"]')
    expect(industry).to_be_visible()
    expect(industry.locator("h2")).to_have_text("行业")
    counts = facet_counts(page, "industry")
    assert counts.get("制造业", 0) >= 1 and counts.get("零售", 0) >= 1, counts
    assert all(count >= 1 for count in counts.values()), counts
    assert facet_counts(page, "type").get("案例") == 2

    shot = tmp_path / "search.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copyfile(shot, SCREENSHOT)
    for path in (shot, SCREENSHOT):
        assert path.is_file()
        assert path.stat().st_size > 20_000, "screenshot is suspiciously small (blank page?)"
        width, height = png_size(path)
        assert width == DESKTOP["width"] and height >= DESKTOP["height"] // 2


def test_facet_click_filters_results_and_chip_removes_the_filter(page: Page) -> None:
    page.goto(search_path("库存"))
    assert {"CASE-T-001", "CASE-T-002"} <= set(hit_docs(page))
    expect(page.locator(".active-filters")).to_have_count(0)

    retail = page.locator('section.facet[data-field="industry"] a.facet-link').filter(
        has_text="零售"
    )
    expect(retail.locator(".count")).to_have_text("1")
    retail.click()
    page.wait_for_url("**filter=*")

    params = query_params(page)
    assert params["filter"] == ["industry:零售"] and params["q"] == ["库存"]
    expect(page.locator("li.hit")).to_have_count(1)
    expect(page.locator("li.hit a.hit-title")).to_have_text(RETAIL)
    chip = page.locator(".active-filters a.chip.removable")
    expect(chip).to_have_count(1)
    expect(chip).to_be_visible()
    expect(chip).to_contain_text("行业：零售")
    expect(
        page.locator('section.facet[data-field="industry"] a.facet-link.selected')
    ).to_contain_text("零售")
    # a new query from the search box keeps the filter
    expect(page.locator('.searchbar input[type=hidden][name="filter"]')).to_have_value(
        "industry:零售"
    )

    chip.click()
    page.wait_for_url(lambda url: "filter=" not in url)
    assert query_params(page)["q"] == ["库存"]
    expect(page.locator(".active-filters")).to_have_count(0)
    assert {"CASE-T-001", "CASE-T-002"} <= set(hit_docs(page))


def test_document_page_from_results_highlights_hit_and_lists_similar_cases(page: Page) -> None:
    page.goto(search_path("供应链 库存"))
    title = page.locator("li.hit a.hit-title").first
    expect(title).to_have_text(AUTO)
    title.click()
    page.wait_for_url("**/documents/CASE-T-001?*")

    expect(page).to_have_title(f"{AUTO} · 咨询案例知识库")
    expect(page.locator("article.document h1")).to_have_text(AUTO)
    meta = page.locator("dl.meta")
    expect(meta.locator("dt", has_text="行业")).to_be_visible()
    expect(meta.locator("dt:text-is('行业') + dd")).to_have_text("制造业")
    expect(meta.locator("dt:text-is('服务类型') + dd")).to_have_text("运营优化")
    expect(meta.locator("dt:text-is('编号') + dd")).to_have_text("CASE-T-001")
    expect(page.locator("p.labels a.chip")).to_have_text(["供应链", "成本控制"])
    headings = page.locator(".doc-section h2").all_inner_texts()
    assert headings == ["一、项目背景", "二、问题诊断", "三、解决方案", "四、项目成效"]

    chunk = query_params(page)["chunk"][0]
    focus = page.locator(".passage.focus")
    expect(focus).to_have_count(1)
    expect(focus).to_have_id(f"c{chunk}")
    expect(focus).to_be_in_viewport()
    expect(focus.locator("mark").first).to_be_visible()
    assert "库存" in focus.locator("mark").all_inner_texts()
    outline = focus.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", "the passage of the hit is not visibly highlighted"

    similar = page.locator("aside.similar")
    expect(similar.locator("h2")).to_have_text("相似案例")
    items = similar.locator("li.similar-item")
    assert items.count() >= 1
    reasons = similar.locator("p.reason", has_text="相同：")
    expect(reasons.first).to_be_visible()
    retail_item = items.filter(has_text=RETAIL)
    expect(retail_item.locator("p.reason", has_text="相同：")).to_contain_text("服务类型：运营优化")

    first = similar.locator("a.similar-link").first
    target_title = first.inner_text().strip()
    target_href = first.get_attribute("href") or ""
    assert target_href.startswith("/documents/") and "CASE-T-001" not in target_href
    first.click()
    page.wait_for_url(f"**{target_href}")
    expect(page.locator("article.document h1")).to_have_text(target_title)
    expect(page.locator("dl.meta dt:text-is('编号') + dd")).to_have_text(
        target_href.rsplit("/", 1)[1]
    )


def test_simplified_query_finds_traditional_document_and_marks_it(page: Page) -> None:
    page.goto("/")
    box = page.get_by_role("searchbox", name="检索")
    box.fill("门店排班")
    page.get_by_role("button", name="检索").click()
    page.wait_for_url("**/search?*")

    first = page.locator("li.hit").first
    expect(first).to_have_attribute("data-doc", "CASE-T-002")
    expect(first.locator("a.hit-title")).to_have_text(RETAIL)
    marks = first.locator("p.snippet mark")
    expect(marks.first).to_be_visible()
    marked = marks.all_inner_texts()
    assert "門店" in marked, marked  # the traditional text itself is marked, not the query
    assert "排班" in marked, marked
    assert "门店" not in first.locator("p.snippet").first.inner_text()


@pytest.mark.parametrize(
    ("extra", "rest"),
    [
        # BM25 only: nothing in 金融 mentions 供应链
        (("mode=lexical", "filter=" + quote("industry:金融")), "CASE-T-001"),
        # default hybrid: no document at all passes the filter
        (("filter=" + quote("industry:能源"),), "CASE-T-001"),
    ],
    ids=["lexical-金融", "hybrid-no-such-industry"],
)
def test_empty_result_under_filter_shows_message_and_suggestions(
    page: Page, extra: tuple[str, ...], rest: str
) -> None:
    page.goto(search_path("供应链", *extra))

    expect(page.locator("li.hit")).to_have_count(0)
    expect(page.locator(".result-head .summary")).to_contain_text("共 0 条结果")
    notice = page.locator(".notice.empty")
    expect(notice).to_be_visible()
    expect(notice.locator("h2")).to_have_text("没有找到相关内容")
    suggestions = notice.locator("li")
    assert suggestions.count() >= 3
    expect(notice).to_contain_text("换个说法")
    expect(notice).to_contain_text("繁体、简体都能检索")
    remove = notice.locator("a.chip")
    field, value = query_params(page)["filter"][0].split(":")
    assert field == "industry"
    expect(remove).to_have_text(f"行业：{value} ✕")  # named as in the sidebar

    # the suggestion works: dropping the filter brings results back
    remove.click()
    page.wait_for_url(lambda url: "filter=" not in url)
    expect(page.locator(".notice.empty")).to_have_count(0)
    expect(page.locator("li.hit").first).to_have_attribute("data-doc", rest)


def test_keyboard_j_then_enter_opens_first_result(page: Page) -> None:
    page.goto(search_path("供应链 库存"))
    hits = page.locator("li.hit")
    first_href = hits.first.locator("a.hit-title").get_attribute("href") or ""
    assert first_href.startswith("/documents/CASE-T-001?")

    page.keyboard.press("j")
    expect(hits.nth(0)).to_have_class("hit kb-active")
    page.keyboard.press("j")
    expect(hits.nth(1)).to_have_class("hit kb-active")
    expect(hits.nth(0)).to_have_class("hit")
    page.keyboard.press("k")
    expect(hits.nth(0)).to_have_class("hit kb-active")
    expect(page.locator("li.hit.kb-active")).to_have_count(1)

    page.keyboard.press("Enter")
    page.wait_for_url("**/documents/CASE-T-001?*")
    expect(page.locator("article.document h1")).to_have_text(AUTO)
    expect(page.locator(".passage.focus")).to_have_count(1)


def test_keyboard_slash_focuses_search_box(page: Page) -> None:
    page.goto(search_path("供应链 库存"))
    box = page.get_by_role("searchbox", name="检索")
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("供应链 库存")  # the "/" is not typed into the box
    page.keyboard.press("j")  # typing in the box does not move the result selection
    expect(page.locator("li.hit.kb-active")).to_have_count(0)
    assert "j" in box.input_value(), "the key went to the search box"


def test_keyboard_slash_then_typing_does_not_prepend_to_query(page: Page) -> None:
    page.goto(search_path("供应链 库存"))
    box = page.get_by_role("searchbox", name="检索")
    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type("门店")
    assert box.input_value() in ("门店", "供应链 库存门店")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        search_path("供应链 库存"),
        search_path("运营优化", "filter=" + quote("industry:零售")),
        "/documents/CASE-T-001?q=" + quote("供应链 库存") + "&chunk=2",
    ],
    ids=["home", "results", "filtered-results", "document"],
)
def test_mobile_viewport_has_no_horizontal_scroll(
    browser: Browser, live_server: ServerURL, path: str
) -> None:
    context = _context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.goto(path)
        box = page.get_by_role("searchbox", name="检索")
        expect(box).to_be_visible()
        if path.startswith("/search"):
            expect(page.locator("li.hit").first).to_be_visible()
        if path.startswith("/documents/"):
            expect(page.locator(".passage.focus")).to_be_visible()
        widths = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
        )
        assert widths["inner"] == 390
        assert widths["scroll"] <= widths["inner"] + 1, widths
        box_right = box.evaluate("el => el.getBoundingClientRect().right")
        assert box_right <= 390 + 1, "the search box sticks out of the screen"
    finally:
        context.close()


def test_search_works_without_javascript(browser: Browser, live_server: ServerURL) -> None:
    context = _context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        box = page.get_by_role("searchbox", name="检索")
        box.fill("门店排班")
        box.press("Enter")
        page.wait_for_url("**/search?*")
        assert query_params(page)["q"] == ["门店排班"]
        first = page.locator("li.hit").first
        expect(first.locator("a.hit-title")).to_have_text(RETAIL)
        expect(first.locator("p.snippet mark").first).to_be_visible()
        expect(page.locator('section.facet[data-field="industry"] h2')).to_have_text("行业")
        page.keyboard.press("j")  # app.js really is off: the shortcuts do nothing
        expect(page.locator("li.hit.kb-active")).to_have_count(0)

        # the filters are plain links, too
        page.locator('section.facet[data-field="industry"] a.facet-link', has_text="零售").click()
        page.wait_for_url("**filter=*")
        expect(page.locator("li.hit")).to_have_count(1)
        expect(page.locator(".active-filters a.chip")).to_contain_text("行业：零售")
    finally:
        context.close()
