"""Bad input, file by file and over HTTP: a clear reason each time, and nothing stored before lost."""

import os
import zipfile
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.access import LOCAL
from kb.config import Settings
from kb.errors import DatabaseUnavailableError
from kb.library import Library
from kb.search import SearchService
from tests.conftest import api_client

BAD_FILES = {
    "corrupt.pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nstream\x00\x01garbage", "PDF"),
    "corrupt.docx": (b"PK\x03\x04 this is not a real zip archive", "DOCX"),
    "binary.txt": (os.urandom(2048).replace(b"\x00", b"\x01") + b"\x00" * 64, "二进制"),
    "empty.md": (b"", "文件为空"),
    "bad-front-matter.md": (
        "---\ntitle: [未闭合\nindustry: 制造业\n---\n正文。\n".encode(),
        "YAML",
    ),
    "huge-front-matter.md": (
        ("---\n" + "tags: " + "标签," * 40000 + "\n---\n正文。\n").encode(),
        "front matter",
    ),
    "undecodable.txt": (bytes([0x81, 0x30, 0x81]) * 10 + b"\xff\xfe\xfd" * 20, "编码"),
}


def _snapshot(library):
    service = SearchService(library)
    return [h.chunk_id for h in service.search("供应链 门店 项目", k=20, viewer=LOCAL).hits]


def test_each_bad_file_fails_by_name_and_reason_and_nothing_is_lost(ingested, docs_dir, tmp_path):
    before = _snapshot(ingested)
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    report = ingest_paths(ingested, [folder])
    results = {Path(r.path).name: r for r in report.results}
    for name, (_, reason) in BAD_FILES.items():
        assert results[name].status == "failed", name
        assert reason in results[name].message, (name, results[name].message)
    assert report.partial
    assert _snapshot(ingested) == before


def test_oversized_file_and_symlink_loop(ingested, tmp_path):
    ingested.settings.max_file_mb = 0.01
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "big.md").write_text("# 大文件\n\n" + "内容。" * 5000, encoding="utf-8")
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    report = ingest_paths(ingested, [folder])
    [big] = [r for r in report.results if r.path.endswith("big.md")]
    assert big.status == "failed" and "超过上限" in big.message
    assert len(report.results) == 1  # the loop was not followed


@pytest.fixture
def client(settings, ingested):
    with api_client(settings) as test_client:
        yield test_client


def test_http_bad_input_gets_a_clear_4xx(client, ingested):
    before = client.get("/api/stats").json()["chunks"]
    cases = [
        client.get("/api/search", params={"q": "a" * 10_000}),
        client.get("/api/search", params={"q": "项目", "k": "many"}),
        client.post(
            "/api/classify", content="{not json", headers={"content-type": "application/json"}
        ),
        client.post(
            "/api/documents",
            files=[("files", ("../../../etc/evil.pdf", b"%PDF broken", "application/pdf"))],
        ),
    ]
    statuses = [r.status_code for r in cases]
    assert statuses[:3] == [400, 422, 422]
    assert all("error" in r.json() for r in cases[:3])
    [upload] = cases[3].json()["results"]
    assert upload["status"] == "failed" and upload["filename"] == "evil.pdf"
    assert not (ingested.data_dir.parent / "etc").exists()
    assert client.get("/api/stats").json()["chunks"] == before


def test_a_zip_bomb_like_docx_is_refused_cleanly(ingested, tmp_path):
    path = tmp_path / "bomb" / "odd.docx"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document>not closed")
    report = ingest_paths(ingested, [path.parent])
    assert report.results[0].status == "failed" and "DOCX" in report.results[0].message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+psycopg://kb:hunter2@127.0.0.1:1/kb", "连接不上数据库"),
        ("mysql://kb:hunter2@localhost/kb", "pip install -e '.[pg]'"),
        ("not a database url", "无法使用数据库"),
    ],
)
def test_an_unusable_database_url_is_a_clear_error_without_the_password(tmp_path, url, says):
    settings = Settings(data_dir=tmp_path / "index", embedder="hash", database_url=url)
    with pytest.raises(DatabaseUnavailableError) as raised:
        Library(settings).session().__enter__()
    assert says in raised.value.message and "hunter2" not in raised.value.message
