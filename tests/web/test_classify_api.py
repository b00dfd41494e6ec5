"""Classification, labels and the suggestion review over HTTP and on the page."""

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.library import Library
from kb.suggest_worker import refresh_suggestions
from tests.conftest import api_client
from tests.kb.test_classify import HEALTH, RETAIL, write_docs
from tests.kb.test_suggest_worker import PATIENCE, watch_training


def ingest_with_pending_suggestion(library: Library, folder: Path) -> None:
    """Labelled health and retail documents plus NEW-001, which gets an industry suggestion."""
    write_docs(folder, HEALTH, "医疗健康", 0)
    write_docs(folder, RETAIL, "零售", 100)
    (folder / "new.md").write_text(
        "---\nid: NEW-001\ntitle: 新案例\n---\n\n连锁超市门店排班混乱，会员流失。\n",
        encoding="utf-8",
    )
    refresh_suggestions(library, ingest_paths(library, [folder]).stored)


@pytest.fixture
def client(settings, library, tmp_path):
    ingest_with_pending_suggestion(library, tmp_path / "docs")
    with api_client(settings) as test_client:
        yield test_client


def test_classify_text_and_labels(client):
    response = client.post("/api/classify", json={"text": "医院门诊排队", "field": "industry"})
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "医疗健康" and body["method"] == "model"
    assert len(body["candidates"]) == 2 and body["neighbours"][0]["label"] == "医疗健康"
    assert client.get("/api/labels").json()["industry"] == {"医疗健康": 6, "零售": 6}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": "门诊"}, 422),
        ({"text": "", "field": "industry"}, 422),
        ("{bad json", 422),
        ({"text": "门诊", "field": "stage"}, 400),
    ],
)
def test_classify_errors(client, body, status):
    if isinstance(body, str):
        response = client.post(
            "/api/classify", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = client.post("/api/classify", json=body)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"}


def test_suggestion_review_through_the_api_changes_filters_and_facets(client):
    [suggestion] = client.get("/api/suggestions").json()
    assert suggestion["doc_id"] == "NEW-001" and suggestion["label"] == "零售"
    before = client.get(
        "/api/search", params={"q": "门店", "filter": "industry:零售", "k": 20}
    ).json()
    assert "NEW-001" not in {h["doc_id"] for h in before["hits"]}
    accepted = client.post(f"/api/suggestions/{suggestion['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    after = client.get(
        "/api/search", params={"q": "门店", "filter": "industry:零售", "k": 20}
    ).json()
    assert "NEW-001" in {h["doc_id"] for h in after["hits"]}
    assert client.get("/api/facets").json()["industry"]["零售"] == 7
    assert client.get("/api/suggestions").json() == []
    assert client.post(f"/api/suggestions/{suggestion['id']}/reject").status_code == 400
    assert client.post("/api/suggestions/999/accept").status_code == 404
    assert client.post(f"/api/suggestions/{suggestion['id']}/maybe").status_code == 422


def test_review_page_shows_and_accepts_a_suggestion(client):
    page = client.get("/review")
    assert page.status_code == 200 and "新案例" in page.text and "零售" in page.text
    doc_page = client.get("/documents/NEW-001").text
    assert "标签建议" in doc_page
    [suggestion] = client.get("/api/suggestions").json()
    response = client.post(
        f"/review/{suggestion['id']}/accept",
        data={"back": "/documents/NEW-001"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/documents/NEW-001"
    assert client.get("/api/documents/NEW-001").json()["metadata"]["industry"] == "零售"
    assert "没有待审核的建议" in client.get("/review").text


def test_an_upload_without_labels_returns_before_training_and_its_suggestion_follows(
    settings, library, tmp_path, monkeypatch
):
    write_docs(tmp_path / "docs", HEALTH, "医疗健康", 0)
    write_docs(tmp_path / "docs", RETAIL, "零售", 100)
    ingest_paths(library, [tmp_path / "docs"])
    training = watch_training(monkeypatch, blocked=True)
    case = "---\nid: NEW-002\ntitle: 门诊案例\n---\n\n门诊患者排队时间长，医保结算慢。\n"
    with api_client(settings) as client:
        suggester = client.app.state.suggester
        files = [("files", ("new.md", case.encode(), "text/markdown"))]
        uploaded = client.post("/api/documents", files=files)
        assert uploaded.status_code == 200 and not training.release.is_set()
        assert uploaded.json()["results"][0]["status"] == "added"
        hits = client.get("/api/search", params={"q": "门诊 医保结算"}).json()["hits"]
        assert "NEW-002" in {h["doc_id"] for h in hits}
        assert client.get("/api/suggestions").json() == []
        assert client.get("/api/suggestions/status").json()["pending_jobs"] == 1
        assert "后台正在生成标签建议" in client.get("/review").text
        training.release.set()
        assert suggester.wait_idle(PATIENCE)
        [suggestion] = client.get("/api/suggestions").json()
        assert (suggestion["doc_id"], suggestion["label"]) == ("NEW-002", "医疗健康")
        status = client.get("/api/suggestions/status").json()
        assert status["pending_jobs"] == 0 and status["suggestions"] == 1
        assert status["last_trained_at"] and "分类模型上次训练" in client.get("/review").text
        trained = training.fields["industry"]
        client.post(f"/api/suggestions/{suggestion['id']}/accept")
        assert suggester.wait_idle(PATIENCE)
        assert training.fields["industry"] == trained + 1
    assert not suggester._thread.is_alive()
