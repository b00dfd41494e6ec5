"""Merging deltas on demand: `kb compact` and POST /api/admin/compact."""

from typer.testing import CliRunner

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.library import Library
from tests.conftest import DATA, api_client, write_case
from web.cli import app

runner = CliRunner()
LIVE_ENV = {"KB_COMPACT_SHARE": "100", "KB_COMPACT_DELTAS": "100"}


def test_kb_compact_merges_the_pending_deltas(tmp_path):
    data_dir = tmp_path / "index"
    base = ["--data-dir", str(data_dir), "--embedder", "hash"]
    assert runner.invoke(app, [*base, "ingest", str(DATA / "library")], env=LIVE_ENV).exit_code == 0
    write_case(tmp_path / "new", "CASE-N-001", "冷链仓储温控改造", "冷链仓储温控与能耗。")
    added = runner.invoke(app, [*base, "ingest", str(tmp_path / "new")], env=LIVE_ENV)
    assert added.exit_code == 0
    library = Library(Settings(data_dir=data_dir, embedder="hash"))
    assert len(library.manifest().deltas) == 1
    merged = runner.invoke(app, [*base, "compact"])
    assert merged.exit_code == 0 and "已合并 1 个增量段" in merged.stdout
    assert library.manifest().deltas == [] and library.manifest().documents == 5
    found = runner.invoke(app, [*base, "search", "冷链仓储温控", "--json"])
    assert "CASE-N-001" in found.stdout


def test_compact_api_is_for_admins(tmp_path):
    settings = Settings(data_dir=tmp_path / "index", embedder="hash", compact_share=100)
    library = Library(settings)
    ingest_paths(library, [DATA / "library"])
    write_case(tmp_path / "new", "CASE-N-001", "冷链仓储温控改造", "冷链仓储温控与能耗。")
    ingest_paths(library, [tmp_path / "new"])
    with api_client(settings, role="editor") as editor:
        assert editor.post("/api/admin/compact").status_code == 403
    assert len(library.manifest().deltas) == 1
    with api_client(settings) as admin:
        answer = admin.post("/api/admin/compact")
        assert answer.status_code == 200
        body = answer.json()
        assert body["merged"] is True and body["deltas"] == [] and body["documents"] == 5
        hits = admin.get("/api/search", params={"q": "冷链仓储温控", "mode": "lexical"}).json()
        assert hits["hits"][0]["doc_id"] == "CASE-N-001"
