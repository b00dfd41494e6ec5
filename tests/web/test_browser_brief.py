"""Browser test of the case brief page, as a consultant uses it before meeting a new client:
paste the client's situation, read the brief section by section, put an SOP step in a pack
without leaving the brief, export it as a redacted Word file. Chromium against a real
`kb serve`; the full-page screenshot is kept at /tmp/kb-brief-page.png."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DATA
from tests.kb.test_brief import CLIENT, PHONE, TEXT
from tests.web.conftest import ServerURL, running_server
from tests.web.test_browser import DESKTOP, browser, page, png_size

__all__ = ["browser", "page"]  # fixtures shared with the search-page tests

SCREENSHOT = Path("/tmp/kb-brief-page.png")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    root = tmp_path_factory.mktemp("brief-page")
    shutil.copytree(DATA / "library", root / "corpus")
    with running_server(root / "index", root / "corpus") as base:
        yield base


def test_a_consultant_reads_the_brief_adds_a_step_to_a_pack_and_exports_it(
    page: Page, tmp_path: Path
):
    page.goto("/packs")
    page.get_by_placeholder("培训包标题").fill("新客户准备")
    page.get_by_role("button", name="新建培训包").click()
    page.wait_for_url("**/packs/*")

    page.goto("/")
    page.locator("header nav").get_by_role("link", name="简报").click()
    page.wait_for_url("**/brief")
    page.get_by_label("客户情况、需求说明或会议纪要").fill(TEXT)
    page.get_by_role("button", name="生成简报").click()
    page.wait_for_load_state("networkidle")

    expect(page.locator(".brief-head")).to_contain_text(f"客户：{CLIENT}")
    for part in (
        "一、项目判断",
        "二、相似案例",
        "三、怎么做（SOP）",
        "四、以前踩过的坑",
        "五、方案骨架",
    ):
        expect(page.get_by_role("heading", name=part)).to_be_visible()
    labels = page.locator(".brief-labels li")
    expect(labels).to_have_count(3)
    expect(labels.first).to_contain_text("行业")
    expect(page.locator("li.brief-case h3 a")).to_have_count(2)  # an admin: both cases
    case = page.locator("li.brief-case").first
    expect(case.locator("h3 a")).to_have_attribute("href", re.compile(r"^/documents/CASE-T-"))
    expect(case.locator(".pair").first.locator("mark").first).to_be_visible()
    expect(page.locator(".brief-steps a[href^='/documents/SOP-T-001']").first).to_be_visible()
    expect(page.locator(".brief-pitfalls .remedy")).to_contain_text("建议")
    expect(page.locator("pre.markdown")).to_contain_text(f"client: {CLIENT}")

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    width, height = png_size(SCREENSHOT)
    assert width == DESKTOP["width"] and height > DESKTOP["height"]

    step = page.locator(".brief-steps li").first
    expect(step.get_by_label("培训包与章节").locator("option:checked")).to_have_text(
        "前期准备与客户沟通"
    )
    step.get_by_role("button", name="加入培训包").click()
    expect(step.locator(".notice.placed")).to_contain_text("已加入")
    assert page.url.endswith("/brief")  # the brief stays on screen

    with page.expect_download() as download:
        page.locator(".brief-export").get_by_role("button", name="导出").click()
    saved = tmp_path / "brief.docx"
    download.value.save_as(saved)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(saved.read_bytes())).paragraphs)
    assert "二、相似案例" in text and "CASE-T-001" in text
    assert CLIENT not in text and PHONE not in text

    step.locator(".notice.placed a").click()
    expect(page.locator("li.pack-item")).to_contain_text("项目启动会组织规范")
