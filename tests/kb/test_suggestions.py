"""Label suggestions: stored apart, never overwriting human labels, accepted into search."""

import pytest

from ingest.pipeline import ingest_paths
from kb import store, suggestions
from kb.access import LOCAL
from kb.errors import InvalidQueryError
from kb.search import SearchService
from kb.suggest_worker import refresh_suggestions
from tests.kb.test_classify import HEALTH, RETAIL, write_docs

UNLABELLED = (
    "---\nid: NEW-001\ntitle: 新案例\n---\n\n某医院门诊患者等待时间长，医保结算窗口排队。{extra}\n"
)


@pytest.fixture
def pending(library, tmp_path):
    folder = tmp_path / "docs"
    write_docs(folder, HEALTH, "医疗健康", 0)
    write_docs(folder, RETAIL, "零售", 100)
    (folder / "new.md").write_text(UNLABELLED.format(extra=""), encoding="utf-8")
    report = ingest_paths(library, [folder])
    assert refresh_suggestions(library, report.stored).suggestions == 1
    return library, folder


def _suggestions(library, **filters):
    with library.session() as session:
        return store.list_suggestions(session, **filters)


def test_only_documents_lacking_the_field_get_a_suggestion(pending):
    library, _ = pending
    [suggestion] = _suggestions(library)
    assert (suggestion.doc_id, suggestion.field, suggestion.label) == (
        "NEW-001",
        "industry",
        "医疗健康",
    )
    assert suggestion.status == "pending" and suggestion.method == "model"
    assert suggestion.neighbours and suggestion.candidates[0]["label"] == "医疗健康"
    with library.session() as session:
        assert store.get_document(session, doc_id="NEW-001").industry is None
        assert store.get_document(session, doc_id="DOC-000").industry == "医疗健康"


def test_accepting_makes_a_label_that_search_uses_and_reingest_keeps(pending):
    library, folder = pending
    [suggestion] = _suggestions(library)
    service = SearchService(library)
    assert "NEW-001" not in {
        h.doc_id
        for h in service.search("门诊", k=20, filters=["industry=医疗健康"], viewer=LOCAL).hits
    }
    suggestions.accept(library, suggestion.id, is_visible=lambda _d: True)
    result = service.search("门诊", k=20, filters=["industry=医疗健康"], viewer=LOCAL)
    assert "NEW-001" in {h.doc_id for h in result.hits}
    assert service.library_facets(viewer=LOCAL)["industry"]["医疗健康"] == 7
    with pytest.raises(InvalidQueryError, match="已经处理过"):
        suggestions.accept(library, suggestion.id, is_visible=lambda _d: True)
    (folder / "new.md").write_text(UNLABELLED.format(extra="补充说明。"), encoding="utf-8")
    report = ingest_paths(library, [folder])
    assert report.count("updated") == 1
    assert refresh_suggestions(library, report.stored).suggestions == 0
    with library.session() as session:
        assert store.get_document(session, doc_id="NEW-001").industry == "医疗健康"


def test_a_human_label_in_the_file_wins_over_an_accepted_suggestion(pending):
    library, folder = pending
    [suggestion] = _suggestions(library)
    suggestions.accept(library, suggestion.id, is_visible=lambda _d: True)
    labelled = UNLABELLED.format(extra="").replace(
        "title: 新案例\n", "title: 新案例\nindustry: 零售\n"
    )
    (folder / "new.md").write_text(labelled, encoding="utf-8")
    ingest_paths(library, [folder])
    with library.session() as session:
        assert store.get_document(session, doc_id="NEW-001").industry == "零售"


def test_rejecting_leaves_the_document_unlabelled(pending):
    library, _ = pending
    [suggestion] = _suggestions(library)
    assert (
        suggestions.reject(library, suggestion.id, is_visible=lambda _d: True).status == "rejected"
    )
    assert _suggestions(library, status="pending") == []
    with library.session() as session:
        assert store.get_document(session, doc_id="NEW-001").industry is None
