"""`kb doctor` from the command line."""

import json

from typer.testing import CliRunner

from kb.indexfiles import read_manifest
from tests.conftest import DATA
from web.cli import app

runner = CliRunner()


def test_doctor_reports_and_repairs(tmp_path):
    data_dir = tmp_path / "index"
    base = ["--data-dir", str(data_dir), "--embedder", "hash"]
    assert runner.invoke(app, [*base, "ingest", str(DATA / "library")]).exit_code == 0
    assert runner.invoke(app, [*base, "doctor"]).exit_code == 0
    manifest = read_manifest(data_dir)
    (data_dir / manifest.generation / "bm25" / "chunk_ids.npy").unlink()
    broken = runner.invoke(app, [*base, "doctor", "--json"])
    assert broken.exit_code == 1
    assert any(f["level"] == "error" for f in json.loads(broken.stdout)["findings"])
    repaired = runner.invoke(app, [*base, "doctor", "--repair"])
    assert repaired.exit_code == 0 and "重建" in repaired.stdout
