"""Classification per label field: model, fallbacks, persistence, retraining, evaluation."""

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb import classify
from kb.classify import Classifier, evaluate, label_fields
from kb.errors import InvalidQueryError

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus

HEALTH = [
    "门诊排队时间长，医保结算慢",
    "医院药房库存与处方流转",
    "三甲医院病房床位周转",
    "医生排班与门诊量预测",
    "医保DRG付费下的病种成本",
    "患者就诊流程与挂号等待",
]
RETAIL = [
    "连锁超市门店人效低",
    "门店排班与客流预测",
    "会员复购与促销活动",
    "商品陈列与门店库存",
    "零售收银排队与自助结账",
    "超市生鲜损耗控制",
]


def write_docs(folder: Path, texts: list[str], industry: str | None, start: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts, start=start):
        label = f"industry: {industry}\n" if industry else ""
        body = f"---\nid: DOC-{i:03d}\ntitle: 案例{i}\n{label}---\n\n{text}。{text}的改进方案与成效。\n"
        (folder / f"doc-{i:03d}.md").write_text(body, encoding="utf-8")


@pytest.fixture
def labelled(library, tmp_path):
    folder = tmp_path / "labelled"
    write_docs(folder, HEALTH, "医疗健康", 0)
    write_docs(folder, RETAIL, "零售", 100)
    ingest_paths(library, [folder])
    return library, folder


def test_model_predicts_with_probability_candidates_and_neighbours(labelled):
    library, _ = labelled
    [prediction] = Classifier(library).predict_texts("industry", ["医院门诊挂号排队太久"])
    assert prediction.method == "model"
    assert prediction.label == "医疗健康"
    assert 0.5 < prediction.probability <= 1.0
    assert [c["label"] for c in prediction.candidates] == ["医疗健康", "零售"]
    assert abs(sum(c["probability"] for c in prediction.candidates) - 1.0) < 1e-3
    assert prediction.neighbours[0]["label"] == "医疗健康"
    assert prediction.neighbours[0]["doc_id"].startswith("DOC-0")


def test_few_examples_fall_back_to_nearest_neighbours(library, tmp_path):
    write_docs(tmp_path / "few", HEALTH[:2], "医疗健康", 0)
    write_docs(tmp_path / "few", RETAIL[:2], "零售", 100)
    ingest_paths(library, [tmp_path / "few"])
    [prediction] = Classifier(library).predict_texts("industry", ["超市门店促销"])
    assert prediction.method == "knn"
    assert prediction.label == "零售"


def test_no_examples_use_label_descriptions_zero_shot(library, tmp_path):
    write_docs(tmp_path / "none", HEALTH[:2] + RETAIL[:2], None, 0)
    ingest_paths(library, [tmp_path / "none"])
    with pytest.raises(InvalidQueryError, match=r"labels\.yaml"):
        Classifier(library).predict_texts("industry", ["门诊"])
    (library.data_dir / "labels.yaml").write_text(
        "industry:\n  医疗健康: 医院 门诊 医保 患者\n  零售: 超市 门店 会员 商品\n",
        encoding="utf-8",
    )
    [health, retail] = Classifier(library).predict_texts(
        "industry", ["医院门诊患者", "超市门店会员"]
    )
    assert health.method == "zero-shot" and health.label == "医疗健康"
    assert retail.label == "零售"


def test_model_is_saved_and_reused_then_retrained_when_labels_change(labelled, monkeypatch):
    library, folder = labelled
    first = Classifier(library).trained("industry")[0]
    assert list((library.data_dir / classify.MODEL_DIR).glob("*.npz"))

    def refuse(*args, **kwargs):
        raise AssertionError("retrained although nothing changed")

    with monkeypatch.context() as patch:
        patch.setattr(classify.LinearModel, "fit", refuse)
        assert Classifier(library).trained("industry")[0]["fingerprint"] == first["fingerprint"]
    write_docs(folder, ["社区药店慢病管理"], "医疗健康", 50)
    ingest_paths(library, [folder])
    second = Classifier(library).trained("industry")[0]
    assert second["fingerprint"] != first["fingerprint"]
    assert second["examples"] == first["examples"] + 1


def test_evaluation_and_label_fields(labelled):
    library, _ = labelled
    report = evaluate(Classifier(library), "industry", folds=3)
    assert report["documents"] == 12 and report["labels"] == 2 and report["folds"] == 3
    assert 0.5 <= report["accuracy"] <= 1.0 and 0 <= report["macro_f1"] <= 1.0
    assert label_fields(library)["industry"] == {"医疗健康": 6, "零售": 6}
    with pytest.raises(InvalidQueryError, match="至少要 2 篇"):
        evaluate(Classifier(library), "nonexistent")


def test_a_classifier_follows_changes_made_by_another_process(labelled, tmp_path):
    library, _ = labelled
    from kb.library import Library

    classifier = Classifier(library)  # e.g. one `kb serve` worker
    assert classifier.examples("industry").labels.count("零售") == 6
    other_process = Library(library.settings)
    write_docs(tmp_path / "more", ["便利店夜间补货与门店排班"], "零售", 200)
    ingest_paths(other_process, [tmp_path / "more"])
    assert classifier.examples("industry").labels.count("零售") == 7
    [prediction] = classifier.predict_texts("industry", ["便利店夜间补货"])
    assert "DOC-200" in {n["doc_id"] for n in prediction.neighbours}
