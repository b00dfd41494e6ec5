"""`kb keys` (add, list, grant, revoke) and `kb --as NAME` to see the library as a key does."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.test_cli import cli, cli_json, copy_library

QUERY = "门店排班 顾客排队"


def _said(result) -> str:
    """What a failed command tells the user (`kb` prints a KBError's message as one line)."""
    return result.output + str(result.exception or "")


def _hits(data_dir: Path, *options: str) -> list[str]:
    result = cli(data_dir, *options, "search", QUERY, "--json")
    assert result.exit_code == 0, result.output
    return [h["doc_id"] for h in json.loads(result.stdout)["hits"]]


def test_keys_lifecycle_and_searching_as_a_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "index"
    cli_json(data_dir, "ingest", copy_library(tmp_path / "docs"))
    made = cli(data_dir, "keys", "add", "zhang.san", "--role", "reader")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("kb_") and len(key) > 40
    assert "请立即转交" in made.stderr
    [entry] = cli_json(data_dir, "keys", "list")
    assert entry["name"] == "zhang.san" and entry["role"] == "reader" and entry["grants"] == []
    assert key not in (data_dir / "keys.json").read_text(encoding="utf-8")

    assert "CASE-T-002" in _hits(data_dir)  # the data directory's owner sees everything
    assert "CASE-T-002" not in _hits(data_dir, "--as", "zhang.san")
    shown = cli(data_dir, "--as", "zhang.san", "show", "CASE-T-002")
    assert shown.exit_code != 0 and "不存在" in _said(shown)

    granted = cli(data_dir, "keys", "grant", "zhang.san", "--grant", "CASE-T-002")
    assert granted.exit_code == 0 and "CASE-T-002" in granted.stdout
    assert "CASE-T-002" in _hits(data_dir, "--as", "zhang.san")

    bad = cli(data_dir, "keys", "add", "li.si", "--role", "owner")
    assert bad.exit_code != 0 and "未知角色" in _said(bad)
    duplicate = cli(data_dir, "keys", "add", "zhang.san")
    assert duplicate.exit_code != 0 and "已存在" in _said(duplicate)

    assert cli(data_dir, "keys", "revoke", "zhang.san").exit_code == 0
    assert cli_json(data_dir, "keys", "list") == []
    gone = cli(data_dir, "--as", "zhang.san", "search", QUERY)
    assert gone.exit_code != 0 and "不存在" in _said(gone)
