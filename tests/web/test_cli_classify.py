"""`kb labels` and `kb classify` from the command line."""

import json

import pytest
from typer.testing import CliRunner

from tests.kb.test_classify import HEALTH, RETAIL, write_docs
from web.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path):
    write_docs(tmp_path / "docs", HEALTH, "医疗健康", 0)
    write_docs(tmp_path / "docs", RETAIL, "零售", 100)
    target = tmp_path / "index"
    result = runner.invoke(
        app, ["--data-dir", str(target), "--embedder", "hash", "ingest", str(tmp_path / "docs")]
    )
    assert result.exit_code == 0, result.output
    return target


def kb(data_dir, *args):
    return runner.invoke(app, ["--data-dir", str(data_dir), "--embedder", "hash", *args])


def test_classify_a_text_as_json(data_dir):
    result = kb(data_dir, "classify", "--field", "industry", "医院门诊挂号排队", "--json")
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout)
    assert prediction["label"] == "医疗健康" and len(prediction["candidates"]) == 2
    assert prediction["neighbours"][0]["label"] == "医疗健康"


def test_batch_gives_one_line_per_input_line_in_order(data_dir, tmp_path):
    batch = tmp_path / "batch.txt"
    batch.write_text("医院门诊患者\n\n超市门店会员\n", encoding="utf-8")
    result = kb(data_dir, "classify", "--field", "industry", "--batch", str(batch))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("label") for line in lines] == ["医疗健康", None, "零售"]
    assert lines[1]["error"]["code"] == "invalid_query"


def test_eval_and_labels(data_dir):
    report = json.loads(kb(data_dir, "classify", "--field", "industry", "--eval", "--json").stdout)
    assert report["documents"] == 12 and 0 <= report["accuracy"] <= 1
    assert json.loads(kb(data_dir, "labels", "--json").stdout)["industry"] == {
        "医疗健康": 6,
        "零售": 6,
    }
    assert "医疗健康 6" in kb(data_dir, "labels").stdout


def test_classify_needs_exactly_one_input(data_dir, tmp_path):
    result = kb(data_dir, "classify", "--field", "industry")
    assert result.exit_code == 1 and "三选一" in result.output


def test_labels_show_descriptions_from_the_labels_file(data_dir):
    (data_dir / "labels.yaml").write_text("industry:\n  零售: 超市、门店、电商\n", encoding="utf-8")
    assert "零售（超市、门店、电商） 6" in kb(data_dir, "labels").stdout


def test_ingest_prints_the_summary_before_computing_suggestions(data_dir, tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    case = "---\nid: NEW-{n}\ntitle: 新案例\n---\n\n医院门诊患者排队{n}，医保结算慢。\n"
    (new / "a.md").write_text(case.format(n=1), encoding="utf-8")
    result = kb(data_dir, "ingest", str(new))
    assert result.exit_code == 0, result.output
    summary = result.output.index("完成：新增 1")
    status = result.output.index("正在生成标签建议…")
    assert summary < status < result.output.index("生成了 1 条标签建议")
    (new / "b.md").write_text(case.format(n=2), encoding="utf-8")
    report = json.loads(kb(data_dir, "ingest", str(new), "--json").stdout)
    assert report["summary"] == {"unchanged": 1, "added": 1} and report["suggestions"] == 1
