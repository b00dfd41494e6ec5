"""The `kb` command: typer's CliRunner for the commands, `web.cli.run` in-process for the
user-facing error path, and the installed `kb` console script for exit statuses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.errors import IndexMismatchError, InvalidFilterError, InvalidQueryError, NotFoundError
from tests.conftest import DATA
from tests.web.conftest import HIT_FIELDS, KB
from web import cli as cli_module
from web.cli import app

runner = CliRunner()


def _clean_env() -> dict[str, str | None]:
    """KB_* settings and terminal sizes of the developer's shell must not leak into tests."""
    return {k: None for k in os.environ if k.startswith("KB_") or k in ("COLUMNS", "LINES")}


def cli(data_dir: Path, *args: object, embedder: str = "hash"):
    argv = ["--data-dir", str(data_dir), "--embedder", embedder, *map(str, args)]
    return runner.invoke(app, argv, env=_clean_env())


def cli_json(data_dir: Path, *args: object, embedder: str = "hash"):
    result = cli(data_dir, *args, "--json", embedder=embedder)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def kb_exe(
    data_dir: Path, *args: object, embedder: str = "hash"
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user would run it."""
    env = {k: v for k, v in os.environ.items() if k not in _clean_env()}
    return subprocess.run(
        [str(KB), "--data-dir", str(data_dir), "--embedder", embedder, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def run_kb(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`web.cli.run()` in-process: (exit code, stdout, stderr)."""
    for name in _clean_env():
        monkeypatch.delenv(name, raising=False)

    def invoke(data_dir: Path, *args: object, embedder: str = "hash") -> tuple[int, str, str]:
        argv = ["kb", "--data-dir", str(data_dir), "--embedder", embedder, *map(str, args)]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as info:
            cli_module.run()
        captured = capsys.readouterr()
        return info.value.code, captured.out, captured.err

    return invoke


def copy_library(target: Path) -> Path:
    shutil.copytree(DATA / "library", target)
    return target


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the four fixture documents, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("cli")
    docs = copy_library(root / "docs")
    data_dir = root / "index"
    report = cli_json(data_dir, "ingest", docs)
    assert report["summary"] == {"added": 4}
    return data_dir


def assert_one_error_line(stderr: str, *phrases: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("错误："), stderr
    for phrase in phrases:
        assert phrase in lines[0], stderr
    assert "Traceback" not in stderr


# --------------------------------------------------------------------------- ingest


def test_ingest_json_reports_summary_counts(tmp_path: Path) -> None:
    docs = copy_library(tmp_path / "docs")
    first = cli_json(tmp_path / "index", "ingest", docs)
    assert first["summary"] == {"added": 4}
    assert first["partial"] is False
    assert len(first["results"]) == 4
    for item in first["results"]:
        assert set(item) == {"path", "status", "doc_id", "chunks", "message"}
        assert item["status"] == "added" and item["chunks"] > 0
        assert Path(item["path"]).parent == docs.resolve()
    assert {r["doc_id"] for r in first["results"]} == {
        "CASE-T-001",
        "CASE-T-002",
        "LES-T-001",
        "SOP-T-001",
    }

    second = cli_json(tmp_path / "index", "ingest", docs)
    assert second["summary"] == {"unchanged": 4}

    plain = cli(tmp_path / "index", "ingest", docs)
    assert plain.exit_code == 0
    assert "完成" in plain.stdout and "4" in plain.stdout


def test_ingest_prune_via_cli(tmp_path: Path) -> None:
    docs = copy_library(tmp_path / "docs")
    cli_json(tmp_path / "index", "ingest", docs)
    (docs / "sop-kickoff.md").unlink()
    report = cli_json(tmp_path / "index", "ingest", docs, "--prune")
    assert report["summary"] == {"unchanged": 3, "pruned": 1}
    assert cli_json(tmp_path / "index", "stats")["documents"] == 3


@pytest.fixture
def partial_batch(tmp_path: Path) -> Path:
    docs = copy_library(tmp_path / "docs")
    (docs / "损坏.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog \x00\x01 broken")
    return docs


def test_ingest_with_a_failed_file_exits_3(tmp_path: Path, partial_batch: Path) -> None:
    result = cli(tmp_path / "index", "ingest", partial_batch, "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["summary"] == {"added": 4, "failed": 1}
    assert report["partial"] is True
    failed = [r for r in report["results"] if r["status"] == "failed"]
    assert len(failed) == 1 and "损坏.pdf" in failed[0]["message"]
    assert "部分文件导入失败（1 个）" in result.stderr


def test_real_kb_ingest_with_a_failed_file_exits_3(tmp_path: Path, partial_batch: Path) -> None:
    assert KB.is_file(), f"console script not installed at {KB}"
    done = kb_exe(tmp_path / "index", "ingest", partial_batch, "--json")
    assert "Traceback" not in done.stderr
    assert "部分文件导入失败（1 个）" in done.stderr
    report = json.loads(done.stdout)
    assert report["summary"] == {"added": 4, "failed": 1}
    assert done.returncode == 3, done.stderr


# --------------------------------------------------------------------------- search


def test_search_json_hit_fields(indexed: Path) -> None:
    result = cli_json(indexed, "search", "库存周转")
    assert result["query"] == "库存周转"
    assert result["mode"] == "hybrid"
    hits = result["hits"]
    assert hits
    for hit in hits:
        assert set(hit) >= HIT_FIELDS
        assert isinstance(hit["chunk_id"], int)
        assert isinstance(hit["score"], float) and 0 <= hit["score"] <= 1  # convex fusion: 0..1
        assert isinstance(hit["metadata"], dict) and hit["metadata"]["type"] == hit["type"]
        assert hit["metadata"]["title"] == hit["title"]
        assert Path(hit["source"]).is_file()
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    top = hits[0]
    assert top["doc_id"] == "CASE-T-001"
    assert top["title"] == "华东某汽车零部件企业供应链降本项目"
    assert "<mark>" in top["snippet"] and "</mark>" in top["snippet"]
    assert "库存周转" in top["text"]
    assert top["heading"] in {"一、项目背景", "四、项目成效"}
    assert top["metadata"]["industry"] == "制造业"
    assert top["metadata"]["tags"] == ["供应链", "成本控制"]
    assert result["facets"]["type"]["case"] >= 1


def test_search_plain_output_renders_marks_for_the_terminal(indexed: Path) -> None:
    result = cli(indexed, "search", "库存周转", "-k", "3")
    assert result.exit_code == 0
    assert "华东某汽车零部件企业供应链降本项目" in result.stdout
    assert "CASE-T-001" in result.stdout
    assert "<mark>" not in result.stdout


def test_search_filter_restricts_hits(indexed: Path) -> None:
    unfiltered = cli_json(indexed, "search", "项目", "-k", "20")
    assert {h["metadata"].get("industry") for h in unfiltered["hits"]} - {"制造业"}

    filtered = cli_json(indexed, "search", "项目", "-k", "20", "--filter", "industry=制造业")
    assert filtered["hits"]
    assert {h["metadata"]["industry"] for h in filtered["hits"]} == {"制造业"}
    assert {h["doc_id"] for h in filtered["hits"]} == {"CASE-T-001"}
    assert filtered["facets"]["industry"] == {"制造业": filtered["total"]}


def test_search_date_filter_and_two_filters_combine(indexed: Path) -> None:
    result = cli_json(
        indexed,
        "search",
        "项目",
        "-k",
        "20",
        "--filter",
        "date>=2022-01-01",
        "--filter",
        "type=case",
    )
    assert {h["doc_id"] for h in result["hits"]} == {"CASE-T-001"}


def test_search_by_doc_groups_passages_per_document(indexed: Path) -> None:
    flat = cli_json(indexed, "search", "项目", "-k", "20")
    flat_ids = [h["doc_id"] for h in flat["hits"]]
    assert len(flat_ids) > len(set(flat_ids))  # several passages of one document

    grouped = cli_json(indexed, "search", "项目", "-k", "20", "--by-doc")
    doc_ids = [h["doc_id"] for h in grouped["hits"]]
    assert len(doc_ids) == len(set(doc_ids)) == grouped["total"]
    assert set(doc_ids) == set(flat_ids)
    for hit in grouped["hits"]:
        passages = hit["passages"]
        assert 1 <= len(passages) <= 3
        assert passages[0]["chunk_id"] == hit["chunk_id"]
        scores = [p["score"] for p in passages]
        assert scores == sorted(scores, reverse=True)
        assert all({"chunk_id", "heading", "score", "snippet"} <= set(p) for p in passages)
    assert all(h["passages"] is None for h in flat["hits"])


def test_search_batch_gives_one_json_line_per_input_line_in_order(
    indexed: Path, tmp_path: Path
) -> None:
    queries = ["门店排班", "数据口径", "", "项目启动会", "供应链降本"]
    batch = tmp_path / "queries.txt"
    batch.write_text("\n".join(queries) + "\n", encoding="utf-8")
    result = cli(indexed, "search", "--batch", batch, "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(queries)
    answers = [json.loads(line) for line in lines]
    assert [a["query"] for a in answers] == queries
    assert answers[2]["error"]["code"] == "invalid_query"
    expected_top = {0: "CASE-T-002", 1: "LES-T-001", 3: "SOP-T-001", 4: "CASE-T-001"}
    for index, doc_id in expected_top.items():
        assert 1 <= len(answers[index]["hits"]) <= 3
        assert answers[index]["hits"][0]["doc_id"] == doc_id


def test_search_batch_reports_bad_queries_per_line(indexed: Path, tmp_path: Path) -> None:
    batch = tmp_path / "queries.txt"
    batch.write_text("供应链\n" + "长" * 2000 + "\n", encoding="utf-8")
    result = cli(indexed, "search", "--batch", batch)
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["hits"]
    assert second["error"]["code"] == "invalid_query"
    assert "2000" in second["error"]["message"]


def test_search_batch_ignores_a_utf8_bom(indexed: Path, tmp_path: Path) -> None:
    batch = tmp_path / "queries.txt"
    batch.write_bytes("门店排班\n数据口径\n".encode("utf-8-sig"))
    result = cli(indexed, "search", "--batch", batch)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["query"] for a in answers] == ["门店排班", "数据口径"]


def test_search_batch_in_gbk_gives_no_traceback(indexed: Path, tmp_path: Path, run_kb) -> None:
    batch = tmp_path / "queries-gbk.txt"
    batch.write_bytes("门店排班\n数据口径\n".encode("gbk"))
    code, out, err = run_kb(indexed, "search", "--batch", batch)
    assert "Traceback" not in err
    if code == 0:  # decoded like the documents are
        assert [json.loads(line)["query"] for line in out.splitlines()] == ["门店排班", "数据口径"]
    else:
        assert_one_error_line(err)


# --------------------------------------------------------------------------- similar, show, stats


def test_similar_json(indexed: Path) -> None:
    items = cli_json(indexed, "similar", "CASE-T-001")
    assert items
    doc_ids = [item["doc_id"] for item in items]
    assert "CASE-T-001" not in doc_ids
    assert set(doc_ids) <= {"CASE-T-002", "LES-T-001", "SOP-T-001"}
    assert len(doc_ids) == len(set(doc_ids))
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    for item in items:
        assert {
            "doc_id",
            "title",
            "type",
            "score",
            "shared_labels",
            "passage_pairs",
            "metadata",
        } <= set(item)
        assert item["passage_pairs"]
        pair = item["passage_pairs"][0]
        assert {"similarity", "source", "target"} <= set(pair)
    retail = next(item for item in items if item["doc_id"] == "CASE-T-002")
    assert retail["shared_labels"] == {"type": "case", "service_type": "运营优化"}

    assert len(cli_json(indexed, "similar", "CASE-T-001", "-k", "1")) == 1


def test_similar_prints_labels_and_the_passage_pair(indexed: Path) -> None:
    result = cli(indexed, "similar", "CASE-T-002")
    assert result.exit_code == 0, result.output
    assert "制造业 · 运营优化 · 供应链、成本控制" in result.stdout
    assert "相似度 " in result.stdout and "相似段落：" in result.stdout
    assert "本文：「" in result.stdout and "对方：「" in result.stdout
    assert "[" not in result.stdout and "type=" not in result.stdout
    shown = cli(indexed, "show", "CASE-T-001")
    assert "tags: 供应链、成本控制" in shown.stdout and "['" not in shown.stdout


def test_show_json(indexed: Path) -> None:
    data = cli_json(indexed, "show", "CASE-T-001")
    assert data["id"] == "CASE-T-001"
    assert data["format"] == "markdown"
    assert Path(data["source"]).name == "case-auto.md"
    assert len(data["content_hash"]) == 64
    metadata = data["metadata"]
    assert metadata["industry"] == "制造业"
    assert metadata["title"] == "华东某汽车零部件企业供应链降本项目"
    assert metadata["date"] == "2023-09-30"
    chunks = data["chunks"]
    assert [c["ordinal"] for c in chunks] == list(range(len(chunks)))
    assert [c["heading"] for c in chunks] == [
        "一、项目背景",
        "二、问题诊断",
        "三、解决方案",
        "四、项目成效",
    ]
    assert all(c["end"] > c["start"] and c["text"] for c in chunks)
    assert "库存周转天数下降到 48 天" in chunks[-1]["text"]


def test_stats_json(indexed: Path) -> None:
    data = cli_json(indexed, "stats")
    assert data["documents"] == 4
    assert data["by_type"] == {"case": 2, "lesson": 1, "sop": 1}
    assert data["embedder"] == "hash"
    index = data["index"]
    assert index["embedder"] == "hash:256"
    assert index["documents"] == 4
    assert index["chunks"] == data["chunks"] > 4


def test_stats_of_an_empty_library(tmp_path: Path) -> None:
    assert cli(tmp_path / "nothing", "init").exit_code == 0
    data = cli_json(tmp_path / "nothing", "stats")
    assert data["documents"] == 0 and data["chunks"] == 0 and data["index"]["chunks"] == 0


# --------------------------------------------------------------------------- errors


def test_domain_errors_surface_as_kb_errors(indexed: Path, tmp_path: Path) -> None:
    cases = [
        (indexed, ["show", "NOPE-404"], NotFoundError),
        (indexed, ["similar", "NOPE-404"], NotFoundError),
        (indexed, ["search", ""], InvalidQueryError),
        (indexed, ["search", "项" * 10_000], InvalidQueryError),
        (indexed, ["search", "项目", "--filter", "industry"], InvalidFilterError),
    ]
    for data_dir, args, error in cases:
        result = cli(data_dir, *args)
        assert result.exit_code != 0, args
        assert isinstance(result.exception, error), (args, result.exception)


ERROR_CASES = [
    pytest.param(["show", "NOPE-404"], ("NOPE-404", "不存在"), id="unknown-doc"),
    pytest.param(["search", ""], ("查询为空",), id="empty-query"),
    pytest.param(["search", "   "], ("查询为空",), id="blank-query"),
    pytest.param(["search", "项" * 10_000], ("10000", "1000"), id="10000-char-query"),
    pytest.param(["search", "项目", "--filter", "industry"], ("industry",), id="filter-no-op"),
    pytest.param(["search", "项目", "--filter", "=制造业"], ("=制造业",), id="filter-no-field"),
    pytest.param(["search", "项目", "-k", "0"], ("k",), id="k-zero"),
    pytest.param(["search", "项目", "--mode", "fuzzy"], ("fuzzy",), id="bad-mode"),
    pytest.param(["search"], ("查询",), id="no-query"),
    pytest.param(["search", "--batch", "missing.txt"], ("missing.txt",), id="missing-batch"),
]


@pytest.mark.parametrize(("args", "phrases"), ERROR_CASES)
def test_user_errors_exit_non_zero_with_one_line(
    indexed: Path, run_kb, args: list[str], phrases: tuple[str, ...]
) -> None:
    code, out, err = run_kb(indexed, *args)
    assert code == 1
    assert out == ""
    assert_one_error_line(err, *phrases)


def test_searching_an_empty_data_dir_fails_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_kb
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_kb(Path("empty"), "search", "项目")
    assert code == 1 and out == ""
    assert_one_error_line(err, "还没有知识库", "kb ingest", str(tmp_path / "empty"))
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        pytest.param(["show", "NOPE-404"], ("NOPE-404", "不存在"), id="unknown-doc"),
        pytest.param(
            ["search", "项目", "--filter", "industry~制造业"], ("筛选条件",), id="bad-filter"
        ),
        pytest.param(["search", "项" * 10_000], ("10000",), id="10000-char-query"),
    ],
)
def test_real_kb_user_errors_are_one_line_without_traceback(
    indexed: Path, args: list[str], phrases: tuple[str, ...]
) -> None:
    done = kb_exe(indexed, *args)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert_one_error_line(done.stderr, *phrases)


def test_real_kb_search_on_an_empty_data_dir(tmp_path: Path) -> None:
    done = kb_exe(tmp_path / "empty", "search", "项目")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "kb ingest" in done.stderr
    assert done.stderr.startswith("错误：")


# --------------------------------------------------------------------------- embedder change


def test_changed_embedder_requires_kb_rebuild(tmp_path: Path) -> None:
    docs = copy_library(tmp_path / "docs")
    data_dir = tmp_path / "index"
    cli_json(data_dir, "ingest", docs)  # --embedder hash (256 dimensions)

    done = kb_exe(data_dir, "search", "库存", embedder="hash:64")
    assert done.returncode == 1
    assert done.stdout == ""
    assert_one_error_line(done.stderr, "kb rebuild", "hash:256", "hash:64")

    rebuilt = cli(data_dir, "rebuild", embedder="hash:64")
    assert rebuilt.exit_code == 0, (rebuilt.output, rebuilt.exception)
    assert "hash:64" in rebuilt.stdout

    result = cli_json(data_dir, "search", "库存周转", embedder="hash:64")
    assert result["hits"] and result["hits"][0]["doc_id"] == "CASE-T-001"
    stats = cli_json(data_dir, "stats", embedder="hash:64")
    assert stats["index"]["embedder"] == "hash:64" and stats["index"]["dim"] == 64
    assert stats["index"]["chunks"] == stats["chunks"]
    assert cli_json(data_dir, "similar", "CASE-T-001", embedder="hash:64")

    # and now the old setting is the mismatched one
    stale = cli(data_dir, "search", "库存", embedder="hash")
    assert isinstance(stale.exception, IndexMismatchError)
    assert "kb rebuild" in stale.exception.message


def test_reload_applies_an_edited_user_dictionary_and_synonyms(tmp_path: Path) -> None:
    data_dir = tmp_path / "idx"
    assert cli(data_dir, "ingest", copy_library(tmp_path / "docs")).exit_code == 0
    assert cli_json(data_dir, "search", "东家", "--mode", "lexical", "--json")["hits"] == []
    (data_dir / "synonyms.txt").write_text("客户,东家\n", encoding="utf-8")
    result = cli(data_dir, "reload")
    assert result.exit_code == 0, result.output
    assert "重新分词" in result.output
    hits = cli_json(data_dir, "search", "东家", "--mode", "lexical", "--json")["hits"]
    assert hits and "<mark>" in hits[0]["snippet"]


def test_search_without_relevant_results_says_so_and_names_the_nearest(indexed: Path) -> None:
    result = cli(indexed, "search", "量子纠缠火星殖民xyzzy")
    assert result.exit_code == 0, result.output
    assert "共 0 条" in result.stdout and "没有足够相关的结果" in result.stdout
    assert "CASE-T-00" in result.stdout
    found = cli_json(indexed, "search", "量子纠缠火星殖民xyzzy")
    assert found["total"] == 0 and found["hits"] == [] and found["weak_hits"]
