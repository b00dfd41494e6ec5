"""The data dir of the `kb` command: named in the output, a folder without a library refused by
every command that needs one, `kb init`, and a default that does not follow the current folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kb.config import Settings
from tests.web.conftest import KB
from tests.web.test_cli import cli_json, copy_library, kb_exe

NEEDS_A_LIBRARY = [
    pytest.param(["keys", "add", "zhang.san", "--role", "admin"], id="keys-add"),
    pytest.param(["keys", "grant", "zhang.san", "--grant", "*"], id="keys-grant"),
    pytest.param(["keys", "revoke", "zhang.san"], id="keys-revoke"),
    pytest.param(["keys", "list"], id="keys-list"),
    pytest.param(["rebuild"], id="rebuild"),
    pytest.param(["reload"], id="reload"),
    pytest.param(["doctor", "--repair"], id="doctor-repair"),
    pytest.param(["template", "--docs", "CASE-T-001", "--save", "模板"], id="template-save"),
    pytest.param(["pack", "suggest", "流程优化", "--create", "新人培训"], id="pack-create"),
    pytest.param(["stats"], id="stats"),
]


def kb_in(folder: Path, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    """The real `kb` run from `folder`, with KB_DATA_DIR set when a data dir is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_EMBEDDER"] = "hash"
    if data_dir is not None:
        env["KB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(KB), *args], cwd=folder, capture_output=True, text=True, env=env, timeout=120
    )


def assert_refused(done: subprocess.CompletedProcess, data_dir: Path) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    error = [line for line in done.stderr.splitlines() if line.startswith("错误：")]
    assert len(error) == 1, done.stderr
    for phrase in (str(data_dir), "还没有知识库", "--data-dir", "KB_DATA_DIR", "kb init"):
        assert phrase in error[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", NEEDS_A_LIBRARY)
def test_a_data_dir_without_a_library_is_refused_and_left_alone(
    tmp_path: Path, args: list[str]
) -> None:
    data_dir = tmp_path / "elsewhere" / "indexes"
    assert_refused(kb_exe(data_dir, *args), data_dir.resolve())
    assert not data_dir.exists()


def test_keys_add_from_another_folder_reaches_the_library_named_once(tmp_path: Path) -> None:
    library = tmp_path / "library"
    cli_json(library, "ingest", copy_library(tmp_path / "docs"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    refused = kb_in(elsewhere, "--data-dir", "indexes", "keys", "add", "zhang.san")
    assert_refused(refused, (elsewhere / "indexes").resolve())
    assert not (elsewhere / "indexes").exists()

    added = kb_in(elsewhere, "keys", "add", "zhang.san", "--role", "admin", data_dir=library)
    assert added.returncode == 0, added.stderr
    assert f"数据目录：{library.resolve()}" in added.stderr
    assert len(added.stdout.strip()) >= 20
    listed = cli_json(library, "keys", "list")
    assert [e["name"] for e in listed] == ["zhang.san"]


def test_commands_that_change_the_library_name_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "index"
    named = f"数据目录：{data_dir.resolve()}"
    docs = copy_library(tmp_path / "docs")
    for args in (
        ["ingest", str(docs)],
        ["keys", "add", "li.si"],
        ["keys", "grant", "li.si", "--grant", "*"],
        ["reload"],
        ["keys", "revoke", "li.si"],
    ):
        done = kb_exe(data_dir, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stderr.count(named) == 1, (args, done.stderr)
    quiet = kb_exe(data_dir, "search", "库存", "--json")
    assert quiet.returncode == 0 and named not in quiet.stderr
    verbose = kb_exe(data_dir, "--verbose", "search", "库存", "--json")
    assert verbose.returncode == 0 and named in verbose.stderr


def test_init_creates_an_empty_library_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "new"
    created = kb_exe(data_dir, "init")
    assert created.returncode == 0, created.stderr
    assert "新建空的知识库" in created.stdout and str(data_dir.resolve()) in created.stdout
    again = kb_exe(data_dir, "init")
    assert again.returncode == 0 and "已有知识库" in again.stdout
    assert cli_json(data_dir, "search", "库存")["total"] == 0
    assert kb_exe(data_dir, "keys", "add", "wang.wu").returncode == 0


def test_default_data_dir_does_not_follow_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    here = Settings().data_dir
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert Settings().data_dir == here
    assert here.is_absolute() and tmp_path not in here.parents
