"""Access control over HTTP: roles, anonymous reading, and confidential documents that a key
without the grant cannot learn exist, through any endpoint. CASE-T-002 (零售, traditional script)
is the fixture library's only confidential document and the only one labelled 零售."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kb.config import Settings
from tests.conftest import EVERY_BACKEND, make_key
from web.app import create_app

pytestmark = EVERY_BACKEND  # SQLite, a real PostgreSQL, and the indexes in Milvus

SECRET_ID = "CASE-T-002"
SECRET_MARKERS = (SECRET_ID, "華南", "門店", "零售", "门店运营")  # id, title, text, label, tag
QUERY = "门店排班 人效 顾客排队"  # matches the confidential case best (simplified script)


def assert_nothing_secret(text: str) -> None:
    leaked = [marker for marker in SECRET_MARKERS if marker in text]
    assert not leaked, f"confidential document leaked through {leaked}: {text[:300]}"


def client_for(settings: Settings, key: str | None = None) -> TestClient:
    client = TestClient(create_app(settings))
    if key:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture
def keys(settings, ingested) -> dict[str, str]:
    return {
        "admin": make_key(settings, "admin"),
        "editor": make_key(settings, "editor"),
        "reader": make_key(settings, "reader"),
        "granted": make_key(settings, "reader", [SECRET_ID]),
        "by_field": make_key(settings, "reader", ["industry=零售"]),
    }


@pytest.fixture
def admin(settings, keys) -> Iterator[TestClient]:
    with client_for(settings, keys["admin"]) as client:
        yield client


@pytest.fixture
def shared_work(admin) -> dict:
    """A template and a pack that an admin made from the confidential case and another one."""
    template = admin.post(
        "/api/templates",
        json={"doc_ids": ["CASE-T-001", SECRET_ID], "save_as": "运营优化模板"},
    )
    assert template.status_code == 200, template.text
    pack = admin.post("/api/packs", json={"title": "新人培训", "redact": False}).json()
    for doc_id in (SECRET_ID, "CASE-T-001"):
        added = admin.post(
            f"/api/packs/{pack['id']}/items", json={"doc_id": doc_id, "section": "案例"}
        )
        assert added.status_code == 200, added.text
    return {"pack": pack["id"], "items": added.json()["items"]}


@pytest.fixture(params=["anonymous", "reader", "editor"])
def outsider(request, settings, keys) -> Iterator[TestClient]:
    """Callers who may read the library but hold no grant for the confidential case."""
    key = None if request.param == "anonymous" else keys[request.param]
    with client_for(settings, key) as client:
        yield client


def test_the_admin_sees_the_confidential_case(admin):
    hits = admin.get("/api/search", params={"q": QUERY}).json()["hits"]
    assert hits[0]["doc_id"] == SECRET_ID
    assert admin.get("/api/stats").json()["documents"] == 4


def test_search_hits_totals_and_facets_do_not_reveal_it(outsider):
    for params in (
        {"q": QUERY},
        {"q": QUERY, "by_doc": "true"},
        {"q": QUERY, "mode": "dense"},
        {"q": QUERY, "mode": "lexical"},
        {"q": QUERY, "filter": "industry:零售"},
        {"q": QUERY, "filter": "confidentiality:confidential"},
    ):
        response = outsider.get("/api/search", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert SECRET_ID not in {h["doc_id"] for h in body["hits"]}
        assert "零售" not in body["facets"].get("industry", {})
        assert_nothing_secret(response.text.replace(body["query"], ""))
    filtered = outsider.get("/api/search", params={"q": QUERY, "filter": "industry:零售"}).json()
    assert filtered["total"] == 0 and filtered["hits"] == [] and filtered["facets"] == {}


def test_library_facets_listing_stats_and_labels_count_only_visible_documents(outsider):
    facets = outsider.get("/api/facets").json()
    assert "零售" not in facets["industry"] and facets["type"]["case"] == 1
    listing = outsider.get("/api/documents", params={"limit": 100}).json()
    assert SECRET_ID not in {d["doc_id"] for d in listing["documents"]}
    assert listing["total"] == 3
    stats = outsider.get("/api/stats").json()
    assert stats["documents"] == 3 and stats["by_type"]["case"] == 1
    assert stats["index"]["documents"] == 3
    assert stats["chunks"] == stats["index"]["chunks"]
    assert outsider.get("/api/health").json()["documents"] == 3
    labels = outsider.get("/api/labels").json()
    assert "零售" not in labels.get("industry", {})
    for response in (
        outsider.get("/api/facets"),
        outsider.get("/api/documents"),
        outsider.get("/api/labels"),
    ):
        assert_nothing_secret(response.text)


def test_direct_ids_answer_exactly_like_a_missing_document(outsider):
    for suffix in ("", "/file", "/similar"):
        hidden = outsider.get(f"/api/documents/{SECRET_ID}{suffix}")
        missing = outsider.get(f"/api/documents/CASE-T-999{suffix}")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
        assert hidden.json()["error"]["message"].replace(SECRET_ID, "X") == missing.json()["error"][
            "message"
        ].replace("CASE-T-999", "X")
    page = outsider.get(f"/documents/{SECRET_ID}", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "華南" not in page.text


def test_similar_cases_and_the_document_page_leave_it_out(outsider):
    similar = outsider.get("/api/documents/CASE-T-001/similar", params={"k": 10})
    assert similar.status_code == 200
    assert SECRET_ID not in {s["doc_id"] for s in similar.json()}
    assert_nothing_secret(similar.text)
    page = outsider.get("/documents/CASE-T-001")
    assert page.status_code == 200
    assert_nothing_secret(page.text)


def test_classification_explanations_and_labels_leave_it_out(outsider):
    response = outsider.post(
        "/api/classify",
        json={"field": "industry", "text": "连锁超市门店排班与收银人手不足，顾客排队时间长"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert SECRET_ID not in {n["doc_id"] for n in body["neighbours"]}
    assert "零售" not in {c["label"] for c in body["candidates"]} | {body["label"]}
    assert abs(sum(c["probability"] for c in body["candidates"]) - 1) < 0.01
    assert_nothing_secret(response.text)


def test_templates_made_from_it_are_invisible(outsider, shared_work):
    assert outsider.get("/api/templates").json() == []
    for response in (
        outsider.get("/api/templates/运营优化模板"),
        outsider.post("/api/templates/运营优化模板/render", json={"values": {}}),
    ):
        assert response.status_code == 404, response.text
        assert_nothing_secret(response.text)
    hidden = outsider.post("/api/templates", json={"doc_ids": ["CASE-T-001", SECRET_ID]})
    missing = outsider.post("/api/templates", json={"doc_ids": ["CASE-T-001", "CASE-T-999"]})
    assert hidden.status_code == missing.status_code == 404
    by_query = outsider.post("/api/templates", json={"query": QUERY})
    if by_query.status_code == 200:
        assert SECRET_ID not in by_query.json()["sources"]
    assert_nothing_secret(by_query.text)
    assert_nothing_secret(outsider.get("/packs").text)


def test_packs_and_their_exports_leave_it_out(outsider, shared_work):
    pack_id = shared_work["pack"]
    pack = outsider.get(f"/api/packs/{pack_id}")
    assert [i["doc_id"] for i in pack.json()["items"]] == ["CASE-T-001"]
    assert_nothing_secret(pack.text)
    assert_nothing_secret(outsider.get("/api/packs").text)
    assert_nothing_secret(outsider.get(f"/packs/{pack_id}").text)
    markdown = outsider.get(f"/api/packs/{pack_id}/export", params={"format": "md"})
    assert markdown.status_code == 200 and "华东某汽车零部件" in markdown.text
    assert_nothing_secret(markdown.text)
    docx = outsider.get(f"/api/packs/{pack_id}/export", params={"format": "docx"})
    assert docx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(docx.content)) as archive:
        assert_nothing_secret(archive.read("word/document.xml").decode("utf-8"))
    suggested = outsider.get("/api/packs/suggest", params={"topic": "门店排班"})
    assert SECRET_ID not in {item["doc_id"] for item in suggested.json()}


def test_the_browser_pages_leave_it_out(outsider):
    for path in ("/", f"/search?q={QUERY}", "/review"):
        response = outsider.get(path)
        assert response.status_code == 200, path
        assert_nothing_secret(response.text)
    filtered = outsider.get("/search?q=门店&filter=industry:零售")
    assert (
        "华东" not in filtered.text
        and "華南" not in filtered.text
        and SECRET_ID not in filtered.text
    )


def test_a_grant_by_id_or_by_field_opens_it(settings, keys):
    for name in ("granted", "by_field"):
        with client_for(settings, keys[name]) as client:
            hits = client.get("/api/search", params={"q": QUERY}).json()["hits"]
            assert hits[0]["doc_id"] == SECRET_ID
            assert client.get(f"/api/documents/{SECRET_ID}").status_code == 200
            assert client.get(f"/api/documents/{SECRET_ID}/file").status_code == 200
            assert client.get("/api/facets").json()["industry"]["零售"] == 1


def test_anonymous_public_mode_sees_only_public_documents(tmp_path, ingested):
    settings = ingested.settings.model_copy(update={"anonymous": "public"})
    with client_for(settings) as client:
        listing = client.get("/api/documents").json()
        assert [d["doc_id"] for d in listing["documents"]] == ["LES-T-001"]
        assert client.get("/api/documents/CASE-T-001").status_code == 404


def test_with_anonymous_reading_off_a_key_is_needed(ingested):
    settings = ingested.settings.model_copy(update={"anonymous": "off"})
    key = make_key(settings, "reader")
    with client_for(settings) as client:
        refused = client.get("/api/search", params={"q": "供应链"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "unauthorized"
        page = client.get(
            "/search?q=供应链", headers={"accept": "text/html"}, follow_redirects=False
        )
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=/search")
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health").json()["documents"] == 0
        assert client.get("/login").status_code == 200
        allowed = client.get("/api/search", params={"q": "供应链"}, headers={"X-API-Key": key})
        assert allowed.status_code == 200 and allowed.json()["hits"]


def test_a_wrong_key_is_refused_even_when_anonymous_may_read(settings, keys):
    with client_for(settings, "kb_not-a-real-key") as client:
        response = client.get("/api/search", params={"q": "供应链"})
        assert response.status_code == 401
        assert "kb_not-a-real-key" not in response.text


def test_roles_limit_what_each_key_may_change(settings, keys):
    upload = [("files", ("新案例.md", "# 新案例\n\n门店选址评估。".encode(), "text/markdown"))]
    with client_for(settings) as anonymous, client_for(settings, keys["reader"]) as reader:
        for client in (anonymous, reader):
            assert client.post("/api/documents", files=upload).status_code == 403
            assert client.post("/api/packs", json={"title": "x"}).status_code == 403
            assert client.delete("/api/documents/CASE-T-001").status_code == 403
            assert client.post("/api/suggestions/1/accept").status_code == 403
            saving = client.post(
                "/api/templates", json={"doc_ids": ["CASE-T-001", "SOP-T-001"], "save_as": "t"}
            )
            assert saving.status_code == 403
            assert saving.json()["error"]["code"] == "forbidden"
            assert client.get("/upload").status_code == 403
    with client_for(settings, keys["editor"]) as editor:
        assert editor.post("/api/documents", files=upload).json()["results"][0]["status"] == "added"
        assert editor.post("/api/packs", json={"title": "x"}).status_code == 200
        assert editor.delete("/api/documents/CASE-T-001").status_code == 403
        adding = editor.post("/api/packs/1/items", json={"doc_id": SECRET_ID, "section": "案例"})
        assert adding.status_code == 404
    with client_for(settings, keys["admin"]) as admin:
        assert admin.delete("/api/documents/CASE-T-001").status_code == 200


def test_an_editor_cannot_overwrite_a_file_of_a_document_it_cannot_see(settings, keys):
    upload = [("files", ("secret.md", "# 机密\n\n正文".encode(), "text/markdown"))]
    with client_for(settings, keys["admin"]) as admin:
        secret = "---\nconfidentiality: confidential\n---\n# 華南機密方案\n\n門店內容。"
        files = [("files", ("secret.md", secret.encode(), "text/markdown"))]
        assert admin.post("/api/documents", files=files).json()["results"][0]["status"] == "added"
    with client_for(settings, keys["editor"]) as editor:
        [result] = editor.post("/api/documents", files=upload).json()["results"]
        assert result["status"] == "failed" and "无权替换" in result["message"]
    with client_for(settings, keys["admin"]) as admin:
        hits = admin.get("/api/search", params={"q": "華南機密方案"}).json()["hits"]
        assert hits and "門店內容" in hits[0]["text"]


def test_browser_login_sets_a_signed_cookie_that_revoking_the_key_ends(settings, keys):
    from kb.keys import KeyStore

    with client_for(settings) as browser:
        wrong = browser.post("/login", data={"key": "kb_wrong", "next": "/"})
        assert wrong.status_code == 401 and "密钥不正确" in wrong.text
        right = browser.post(
            "/login",
            data={"key": keys["granted"], "next": "//evil.example/"},
            follow_redirects=False,
        )
        assert right.status_code == 303 and right.headers["location"] == "/"
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert keys["granted"] not in cookie
        page = browser.get(f"/documents/{SECRET_ID}")
        assert page.status_code == 200 and "退出" in page.text
        cross_site = browser.post(
            "/packs", data={"title": "x"}, headers={"sec-fetch-site": "cross-site"}
        )
        assert cross_site.status_code == 403
        name = next(
            e.name
            for e in KeyStore(settings.keys_path).entries().values()
            if e.grants == [SECRET_ID]
        )
        KeyStore(settings.keys_path).revoke(name)
        assert browser.get(f"/documents/{SECRET_ID}").status_code == 404
        browser.post("/logout")
        assert "登录" in browser.get("/").text


def test_keys_are_stored_hashed_and_private(settings, keys):
    stored = settings.keys_path.read_text(encoding="utf-8")
    assert all(key not in stored for key in keys.values())
    assert settings.keys_path.stat().st_mode & 0o077 == 0
