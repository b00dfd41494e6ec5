"""Browser tests of what each viewer sees (Chromium through Playwright, as in test_browser.py),
against a `kb serve` over the fixture library plus one corpus case with a table: /docs with the
network blocked, the 403 page, a rendered document page and the logged-in nav. Screenshots go to
/tmp/shots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from kb.keys import KeyStore
from tests.conftest import DATA
from tests.web import test_browser
from tests.web.conftest import ServerURL, running_server

SHOTS = Path("/tmp/shots")
CORPUS_CASE = Path(__file__).resolve().parents[2] / "corpus" / "cases" / "case-2019-001.md"
TABLE_CASE = "CASE-2019-001"  # its 问题诊断 passage ends in a table

browser = test_browser.browser  # the module's Chromium


class Server(ServerURL):
    """A running server and the keys made for it, by role."""

    keys: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    shutil.copytree(DATA / "library", corpus)
    shutil.copy(CORPUS_CASE, corpus)
    data_dir = root / "index"
    store = KeyStore(data_dir / "keys.json")
    with running_server(data_dir, corpus) as base:
        server = Server(base)
        server.keys = {role: store.add(f"ui-{role}", role) for role in ("reader", "editor")}
        server.keys["admin"] = base.admin_key
        yield server


def shot(page: Page, name: str, **options) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), **options)
    assert path.stat().st_size > 5_000, "screenshot is suspiciously small (blank page?)"
    return path


def offline_context(
    browser: Browser, server: Server, **options
) -> tuple[BrowserContext, list[str]]:
    """A context whose requests may reach the server only (anything else is aborted), and the
    list of the URLs it tried outside."""
    options.setdefault("viewport", test_browser.DESKTOP)
    context = browser.new_context(base_url=server, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    return context, outside


def log_in(context: BrowserContext, key: str) -> Page:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("访问密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
    return page


def test_api_docs_render_with_the_network_blocked(browser: Browser, server: Server) -> None:
    context, outside = offline_context(browser, server)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto("/docs")

    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/search").first).to_be_visible()
    assert operations.count() >= 15
    expect(page.locator(".info .title")).to_contain_text("咨询案例知识库")
    page.locator(".opblock-summary", has_text="/api/search").first.click()
    expect(page.locator(".parameters-container").first).to_be_visible()
    shot(page, "docs-offline.png")
    assert outside == [], outside
    assert problems == [], problems  # e.g. a CSP refusal of the start-up script
    context.close()


def test_reader_opening_an_editor_page_is_told_the_role_and_offered_login(
    browser: Browser, server: Server
) -> None:
    context, outside = offline_context(browser, server)
    page = log_in(context, server.keys["reader"])
    nav = page.locator("header nav")
    expect(nav.get_by_role("link", name="上传")).to_have_count(0)
    expect(nav.get_by_role("link", name="标签审核")).to_have_count(0)

    response = page.goto("/upload")
    assert response is not None and response.status == 403
    alert = page.get_by_role("alert")
    expect(alert.locator("h1")).to_have_text("需要更高的角色")
    expect(alert).to_contain_text("editor（编辑）")
    expect(alert).not_to_contain_text("请求有误")
    login = alert.locator("a.login-link")
    expect(login).to_have_attribute("href", "/login?next=/upload")
    shot(page, "403.png")

    login.click()
    page.wait_for_url("**/login?next=**")
    page.get_by_label("访问密钥").fill(server.keys["editor"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/upload")
    expect(page.locator("input[name=files]")).to_have_count(1)
    assert outside == [], outside
    context.close()


def test_document_from_a_search_renders_its_table_and_highlights_the_hit(
    browser: Browser, server: Server
) -> None:
    context, outside = offline_context(browser, server)
    page = log_in(context, server.keys["admin"])
    page.goto("/search?q=" + quote("报废损失 制造费用分摊"))
    hit = page.locator(f'li.hit[data-doc="{TABLE_CASE}"]')
    expect(hit.locator(".badge.level")).to_have_text("内部")
    hit.locator("a.hit-title").click()
    page.wait_for_url(f"**/documents/{TABLE_CASE}?*")

    expect(page.locator("p.labels .badge.level")).to_have_text("内部")
    focus = page.locator(".passage.focus")
    expect(focus).to_have_count(1)
    expect(focus).to_be_in_viewport()
    table = page.locator(".passage table").first
    expect(table.locator("th")).to_have_text(["诊断项", "现状", "影响"])
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("td mark").first).to_be_visible()
    assert page.locator(".passage ul li").count() >= 5
    assert "诊断项 | 现状" not in page.locator(".sections").inner_text()
    shot(page, "document.png")
    assert outside == [], outside
    context.close()


@pytest.mark.parametrize("width", [1280, 1024])
def test_logged_in_nav_stays_on_one_line(browser: Browser, server: Server, width: int) -> None:
    context, outside = offline_context(browser, server, viewport={"width": width, "height": 800})
    page = log_in(context, server.keys["admin"])
    page.goto("/search?q=" + quote("供应链 库存"))
    nav = page.locator("header nav")
    expect(nav.get_by_role("button", name="退出")).to_be_visible()
    boxes = page.evaluate(
        """() => ['header nav', '.searchbar', 'header nav a'].map(
            s => document.querySelector(s).getBoundingClientRect().toJSON())"""
    )
    nav_box, search_box, link_box = boxes
    assert nav_box["height"] < 2 * link_box["height"], f"the nav wraps: {nav_box}"
    assert nav_box["top"] < search_box["bottom"], "the nav is pushed under the search box"
    assert nav_box["right"] <= width, nav_box
    shot(page, f"nav-{width}.png", clip={"x": 0, "y": 0, "width": width, "height": 120})
    assert outside == [], outside
    context.close()
