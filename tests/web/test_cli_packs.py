"""`kb template` and `kb pack` from the command line."""

import io
import json

import docx
from typer.testing import CliRunner

from tests.conftest import DATA
from web.cli import app

runner = CliRunner()


def kb(data_dir, *args):
    return runner.invoke(app, ["--data-dir", str(data_dir), "--embedder", "hash", *args])


def test_pack_suggest_create_and_export(tmp_path):
    data_dir = tmp_path / "index"
    assert kb(data_dir, "ingest", str(DATA / "library")).exit_code == 0
    suggested = json.loads(kb(data_dir, "pack", "suggest", "项目启动 数据口径", "--json").stdout)
    assert {s["type"] for s in suggested} == {"sop", "lesson", "case"}
    created = kb(data_dir, "pack", "suggest", "项目启动", "--create", "启动会培训")
    assert created.exit_code == 0 and "已创建培训包 1" in created.output
    output = tmp_path / "pack.docx"
    exported = kb(data_dir, "pack", "export", "1", "--output", str(output))
    assert exported.exit_code == 0, exported.output
    texts = [p.text for p in docx.Document(io.BytesIO(output.read_bytes())).paragraphs]
    assert "启动会培训" in texts and "目录" in texts and "资料来源" in texts
    assert "華南某連鎖超市有限公司" not in "\n".join(texts)


def test_template_from_a_filter_as_markdown_and_json(tmp_path):
    data_dir = tmp_path / "index"
    kb(data_dir, "ingest", str(DATA / "library"))
    markdown = kb(data_dir, "template", "--filter", "type=case")
    assert markdown.exit_code == 0 and markdown.stdout.startswith("---\n")
    saved = kb(
        data_dir, "template", "--docs", "CASE-T-001,CASE-T-002", "--json", "--save", "运营模板"
    )
    assert json.loads(saved.stdout)["sources"] == ["CASE-T-001", "CASE-T-002"]
    assert "已保存模板 运营模板 第 1 版" in saved.output
    assert kb(data_dir, "template").exit_code == 1


def test_template_from_a_query_says_which_type_it_used(tmp_path):
    data_dir = tmp_path / "index"
    kb(data_dir, "ingest", str(DATA / "library"))
    cases = kb(data_dir, "template", "--query", "项目 数据 门店 供应商", "--json")
    assert cases.exit_code == 0 and "来源类型：case（候选文档中：case 2、" in cases.stderr
    assert sorted(json.loads(cases.stdout)["sources"]) == ["CASE-T-001", "CASE-T-002"]
    one_sop = kb(data_dir, "template", "--query", "项目 数据 门店 供应商", "--type", "sop")
    assert one_sop.exit_code == 1 and "来源类型：sop" in one_sop.output  # one SOP: too few
