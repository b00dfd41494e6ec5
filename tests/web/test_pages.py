"""The server-rendered pages as each viewer sees them: only the actions the viewer may take, the
401/403 page, Markdown passages, 密级 badges, filter chips and the favicon (in-process client over
the four fixture documents; CASE-T-002 is the confidential one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.library import Library
from tests.conftest import make_key
from tests.web.test_classify_api import ingest_with_pending_suggestion
from web.app import create_app

HTML = {"accept": "text/html,application/xhtml+xml"}
ROLES = ("anonymous", "reader", "granted", "editor", "admin")
SECRET_ID = "CASE-T-002"

TABLE_MD = """---
id: CASE-MD-001
type: case
title: 某制造企业成本诊断项目
industry: 制造业
---

## 问题诊断

预算由营销中心拍板，费用超支。

| 诊断项 | 现状 | 影响 |
| --- | --- | --- |
| 制造费用分摊 | 按产量平均 | 成本失真 |
| 报废损失 | 未单独归集 | 损失不可见 |

## 实施过程

1. 现场诊断与数据采集；
2. 标准成本测算，示例代码 `<script>alert(1)</script>` 不得执行；

- 发布《全面预算管理制度》
- 组织培训
"""


def get(client: TestClient, path: str, status: int = 200, **params) -> str:
    response = client.get(path, params=params, headers=HTML, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.fixture
def clients(settings: Settings, ingested: Library) -> Iterator[dict[str, TestClient]]:
    """An in-process client per kind of viewer over the fixture library."""
    keys = {
        "reader": make_key(settings, "reader"),
        "granted": make_key(settings, "editor", [SECRET_ID]),
        "editor": make_key(settings, "editor"),
        "admin": make_key(settings, "admin"),
    }
    app = create_app(settings)
    with TestClient(app) as anonymous:
        made = {"anonymous": anonymous}
        for role, key in keys.items():
            made[role] = TestClient(app, headers={"Authorization": f"Bearer {key}"})
        yield made


# --- defect 6: only the actions the viewer may take; 401/403 pages ---------------------------


@pytest.fixture
def review_clients(settings: Settings, library: Library, tmp_path: Path) -> Iterator[dict]:
    """Clients over a library with a pending industry suggestion (for NEW-001)."""
    ingest_with_pending_suggestion(library, tmp_path / "docs")
    app = create_app(settings)
    with TestClient(app) as anonymous:
        made = {"anonymous": anonymous}
        for role in ("reader", "editor"):
            key = make_key(settings, role)
            made[role] = TestClient(app, headers={"Authorization": f"Bearer {key}"})
        yield made


@pytest.mark.parametrize("path", ["/review", "/documents/NEW-001"])
def test_accept_and_reject_are_shown_to_editors_only(review_clients, path: str) -> None:
    for role, client in review_clients.items():
        html = get(client, path)
        assert "行业：零售" in html, f"{role} does not see the suggestion on {path}"
        decisions = re.findall(r'action="/review/\d+/(accept|reject)"', html)
        if role == "editor":
            assert decisions == ["accept", "reject"], html
        else:
            assert decisions == [], f"{role} is offered {decisions} on {path}"
            assert ">接受</button>" not in html and ">拒绝</button>" not in html


def test_review_page_tells_readers_who_may_decide(review_clients) -> None:
    html = get(review_clients["reader"], "/review")
    assert "只有编辑可以接受或拒绝建议" in html
    assert 'href="/login?next=/review"' in html
    assert "只有编辑可以" not in get(review_clients["editor"], "/review")


def test_nav_and_links_offer_upload_and_review_to_editors_only(clients) -> None:
    for role, client in clients.items():
        html = get(client, "/")
        for link in ('href="/upload"', 'href="/review"'):
            assert (link in html) == (role in ("granted", "editor", "admin")), (role, link)


def test_403_page_for_a_reader_names_the_role_and_links_to_login(clients) -> None:
    html = get(clients["reader"], "/upload", status=403)
    assert "<h1>需要更高的角色</h1>" in html
    assert "请求有误" not in html and "换一种说法" not in html
    assert "editor（编辑）" in html  # the role needed
    assert "读者" in html  # the role held
    assert 'href="/login?next=/upload"' in html
    assert 'href="/upload"' not in html  # no link to what was just refused


def test_403_page_for_anonymous_asks_for_a_login(clients) -> None:
    html = get(clients["anonymous"], "/upload", status=403)
    assert "<h1>需要登录</h1>" in html and "请求有误" not in html
    assert 'href="/login?next=/upload"' in html


def test_401_sends_the_browser_to_login_with_next(settings: Settings, ingested: Library) -> None:
    settings = settings.model_copy(update={"anonymous": "off"})
    with TestClient(create_app(settings)) as client:
        response = client.get("/review", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/review"


def test_query_errors_keep_their_advice(clients) -> None:
    html = get(clients["reader"], "/search", status=400, q="a" * 2000)
    assert "<h1>请求有误</h1>" in html and "换一种说法" in html


# --- defect 8: Markdown passages ---------------------------------------------------------------


@pytest.fixture
def table_client(settings: Settings, library: Library, tmp_path: Path) -> Iterator[TestClient]:
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "table.md").write_text(TABLE_MD, encoding="utf-8")
    ingest_paths(library, [folder])
    with TestClient(create_app(settings)) as client:
        yield client


def passage(html: str, chunk_id: int) -> str:
    match = re.search(rf'<div id="c{chunk_id}" class="passage[^"]*">(.*?)</div>', html, re.S)
    assert match, f"no passage c{chunk_id}"
    return match.group(0)


def test_document_page_renders_tables_and_lists_with_anchors_and_marks(table_client) -> None:
    detail = table_client.get("/api/documents/CASE-MD-001").json()
    chunks = {c["chunk_id"]: c["text"] for s in detail["sections"] for c in s["chunks"]}
    [table_chunk] = [cid for cid, text in chunks.items() if "诊断项" in text]
    html = get(table_client, "/documents/CASE-MD-001", q="报废损失", chunk=table_chunk)

    for chunk_id in chunks:
        assert f'id="c{chunk_id}"' in html  # every passage keeps its anchor
    table = passage(html, table_chunk)
    assert 'class="passage focus"' in table  # the hit passage is still highlighted
    assert "<table>" in table and "<th>诊断项</th>" in table
    assert "<td><mark>报废损失</mark></td>" in table  # terms marked inside cells
    assert "诊断项 | 现状" not in html
    assert html.count("<li>") == 4 and "- 发布" not in html
    assert "<li>发布《全面预算管理制度》</li>" in html


def test_document_page_shows_raw_html_as_text(table_client) -> None:
    html = get(table_client, "/documents/CASE-MD-001")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- defect 12: 密级 badges, filter chips, favicon ----------------------------------------------


def level_badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge level level-(\w+)"[^>]*>([^<]+)</span>', html)


def test_level_badges_on_hits_for_viewers_who_see_confidential_documents(clients) -> None:
    for role, client in clients.items():
        html = get(client, "/search", q="门店 排班 供应链 库存")
        badges = level_badges(html)
        if role in ("granted", "admin"):
            assert ("confidential", "机密") in badges, (role, badges)
            assert ("internal", "内部") in badges, (role, badges)
            assert len(badges) == html.count('class="hit"'), "one badge per hit"
        else:
            assert badges == [], f"{role} sees 密级 badges without seeing anything confidential"


def test_level_badge_on_the_document_page(clients) -> None:
    assert level_badges(get(clients["admin"], f"/documents/{SECRET_ID}")) == [
        ("confidential", "机密")
    ]
    assert level_badges(get(clients["admin"], "/documents/CASE-T-001")) == [("internal", "内部")]
    assert level_badges(get(clients["reader"], "/documents/CASE-T-001")) == []


@pytest.mark.parametrize(
    ("filters", "shown"),
    [
        (["industry:零售"], ["行业：零售"]),
        (["type:case", "service_type:运营优化"], ["类型：案例", "服务类型：运营优化"]),
        (["date>=2022-01-01"], ["日期 ≥ 2022-01-01"]),
    ],
)
def test_filter_chips_use_the_sidebar_names(clients, filters: list[str], shown: list[str]) -> None:
    html = get(clients["admin"], "/search", q="运营优化", filter=filters)
    chips = re.findall(r'class="chip removable"[^>]*>([^<]+) ✕</a>', html)
    assert chips == shown
    empty = get(clients["admin"], "/search", q="供应链", filter=[*filters, "industry:不存在"])
    assert "没有找到相关内容" in empty
    removable = re.findall(r'<a class="chip" href="[^"]*">([^<]+) ✕</a>', empty)
    assert removable == [*shown, "行业：不存在"]


def test_favicon_is_served_locally(clients) -> None:
    response = clients["anonymous"].get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico">' in get(clients["anonymous"], "/")
