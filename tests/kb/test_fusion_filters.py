"""Fusion of candidate lists and document filters."""

import pytest

from kb.errors import InvalidFilterError
from kb.filters import document_matches, parse_filter, parse_filters
from kb.fusion import convex_fusion, rrf_fusion


def test_rrf_rewards_agreement_and_respects_weights():
    lexical = [(1, 9.0), (2, 5.0), (3, 1.0)]
    dense = [(2, 0.9), (4, 0.8), (1, 0.1)]
    fused = [item for item, _ in rrf_fusion(lexical, dense, (1.0, 1.0), k=60)]
    assert fused[:2] == [2, 1] or fused[:2] == [1, 2]
    assert set(fused) == {1, 2, 3, 4}
    dense_only = [item for item, _ in rrf_fusion(lexical, dense, (0.0, 1.0), k=60)]
    assert dense_only[0] == 2 and dense_only[1] == 4


def test_rrf_ties_go_to_the_stronger_scores():
    lexical = [(10, 8.0), (11, 2.0)]
    dense = [(11, 0.90), (10, 0.89)]
    fused = rrf_fusion(lexical, dense, (1.0, 1.0))
    assert fused[0][1] == fused[1][1]
    assert fused[0][0] == 10


def test_convex_fusion_normalises_each_side():
    lexical = [(1, 100.0), (2, 50.0), (3, 0.0)]
    dense = [(3, 0.9), (1, 0.5), (2, 0.1)]
    scores = dict(convex_fusion(lexical, dense, (1.0, 1.0)))
    assert scores[1] == pytest.approx((1.0 + 0.5) / 2)
    assert scores[3] == pytest.approx((0.0 + 1.0) / 2)


META = {"industry": "制造业", "tags": ["供应链", "成本控制"], "date": "2023-09-30", "type": "case"}


def test_filters_on_fields_lists_and_dates():
    assert document_matches(parse_filters(["industry=制造业"]), META)
    assert not document_matches(parse_filters(["industry=零售"]), META)
    assert document_matches(parse_filters(["tags=成本控制"]), META)
    assert document_matches(parse_filters(["date>=2023-01-01", "date<=2023-12-31"]), META)
    assert not document_matches(parse_filters(["date<2023-01-01"]), META)
    assert document_matches(parse_filters(["type!=sop"]), META)
    assert document_matches(parse_filters(["industry=零售", "industry=制造业"]), META)
    assert not document_matches(parse_filters(["industry=制造业", "type=sop"]), META)
    assert parse_filter("industry:制造业") == parse_filter("industry=制造业")


@pytest.mark.parametrize("bad", ["industry", "=制造业", "industry=", ""])
def test_bad_filter_expressions_explain_the_syntax(bad):
    with pytest.raises(InvalidFilterError, match="字段=值"):
        parse_filter(bad)


def test_filter_masks_over_arrays_agree_with_document_matches():
    from kb.facets import FacetTable

    metas = [
        {"industry": "制造业", "tags": ["供应链", "成本"], "date": "2023-09-30", "type": "case"},
        {"industry": "零售", "tags": ["门店"], "date": "2021-05-20", "type": "case"},
        {"industry": "金融", "tags": [], "date": "2020-11-11", "type": "lesson"},
        {"tags": ["供应链"], "type": "sop"},
    ]
    table = FacetTable(metas, ["industry", "tags"])
    cases = [
        [],
        ["industry=制造业"],
        ["industry=制造业", "industry=零售"],
        ["tags=供应链"],
        ["tags!=供应链"],
        ["date>=2021-01-01"],
        ["date<2021-01-01", "type=lesson"],
        ["industry=制造业", "tags=门店"],
        ["industry!=金融", "date>2000"],
        ["client=某银行"],
    ]
    for expressions in cases:
        filters = parse_filters(expressions)
        expected = [document_matches(filters, meta) for meta in metas]
        assert table.matching(filters).tolist() == expected, expressions
