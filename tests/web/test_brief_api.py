"""The case brief over HTTP and on the command line: JSON text or an uploaded file in (never
stored), the brief or its export out, errors in the one shape, redaction only editors may lift."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb import store
from kb.config import Settings
from kb.library import Library
from tests.conftest import api_client, process_env
from tests.kb.test_brief import CLIENT, PHONE, SECRET_ID, SECRET_MARKERS, TEXT
from tests.web.conftest import KB

BACKENDS = ["sqlite", "milvus"]


@pytest.fixture
def ready(settings: Settings, library: Library, docs_dir: Path) -> Settings:
    assert not ingest_paths(library, [docs_dir]).partial
    return settings


@pytest.fixture
def editor(ready: Settings) -> Iterator[TestClient]:
    with api_client(ready, "editor", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def reader(ready: Settings) -> Iterator[TestClient]:
    with api_client(ready, "reader", raise_server_exceptions=False) as client:
        yield client


def documents_in(settings: Settings) -> int:
    with Library(settings).session() as session:
        return store.count_documents(session)


def test_a_pasted_text_gives_the_brief_and_nothing_is_stored(editor, ready):
    answer = editor.post("/api/brief", json={"text": TEXT})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {"labels", "cases", "steps", "pitfalls", "draft", "gaps", "client"} <= set(body)
    assert body["client"] == CLIENT
    assert [item["case"]["doc_id"] for item in body["cases"]] == ["CASE-T-001"]  # no grant
    assert documents_in(ready) == 4


def test_an_uploaded_file_is_read_as_ingest_reads_it_and_not_kept(editor, ready, tmp_path):
    document = docx.Document()
    document.add_heading("客户背景", level=1)
    document.add_paragraph(TEXT)
    data = io.BytesIO()
    document.save(data)
    files = {"file": ("需求说明.docx", data.getvalue(), "application/octet-stream")}
    answer = editor.post("/api/brief", files=files)
    assert answer.status_code == 200, answer.text
    assert answer.json()["client"] == CLIENT
    assert documents_in(ready) == 4
    assert not (ready.data_dir / "uploads").exists()


@pytest.mark.parametrize(
    ("request_options", "status"),
    [
        ({"content": b'{"text": ', "headers": {"content-type": "application/json"}}, 422),
        ({"json": {"text": ""}}, 422),
        ({"json": {"words": "门店"}}, 422),
        ({"json": {"text": "x" * 20_001}}, 422),
        ({"json": {"text": "   "}}, 400),
        ({"files": {"file": ("空.md", b"", "text/markdown")}}, 422),
        ({"files": {"file": ("坏.pdf", b"%PDF-1.4 broken", "application/pdf")}}, 422),
        ({"files": {"file": ("表.xlsx", b"PK\x03\x04", "application/octet-stream")}}, 415),
        ({"files": {"other": ("a.md", b"# x", "text/markdown")}}, 400),
    ],
)
def test_bad_input_gets_the_one_error_shape(editor, request_options, status):
    answer = editor.post("/api/brief", **request_options)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] and error["message"]
    assert "Traceback" not in answer.text


def test_the_export_is_redacted_and_only_editors_may_lift_it(editor, reader):
    answer = reader.post("/api/brief/export?format=docx", json={"text": TEXT})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(answer.content)).paragraphs)
    assert "一、项目判断" in text and "资料来源" in text and "CASE-T-001" in text
    assert CLIENT not in text and PHONE not in text
    assert int(answer.headers["x-redactions"]) >= 2
    refused = reader.post("/api/brief/export?format=markdown&redact=false", json={"text": TEXT})
    assert refused.status_code == 403 and "editor" in refused.json()["error"]["message"]
    plain = editor.post("/api/brief/export?format=markdown&redact=false", json={"text": TEXT})
    assert plain.status_code == 200 and CLIENT in plain.text and PHONE in plain.text


def test_the_page_lays_out_the_brief_and_offers_the_export(editor):
    form = editor.get("/brief", headers={"accept": "text/html"})
    assert form.status_code == 200 and 'name="text"' in form.text and 'type="file"' in form.text
    page = editor.post("/brief", data={"text": TEXT}, headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    for part in ("一、项目判断", "二、相似案例", "三、怎么做（SOP）", "四、以前踩过的坑"):
        assert part in page.text
    assert 'href="/documents/CASE-T-001"' in page.text
    assert 'action="/brief/export"' in page.text and 'name="redact"' in page.text
    exported = editor.post(
        "/brief/export", data={"text": TEXT, "format": "markdown", "redact": "true"}
    )
    assert exported.status_code == 200 and CLIENT not in exported.text
    empty = editor.post("/brief", data={"text": " "}, headers={"accept": "text/html"})
    assert empty.status_code == 400 and "请粘贴一段文字" in empty.text


def test_a_reader_without_the_grant_gets_nothing_of_the_confidential_case(reader, ready):
    for path in ("/api/brief", "/api/brief/export?format=markdown"):
        answer = reader.post(path, json={"text": TEXT})
        assert answer.status_code == 200
        shown = answer.text.replace(json.dumps(TEXT, ensure_ascii=False)[1:-1], "")
        leaked = [m for m in SECRET_MARKERS if m in shown]
        assert not leaked, f"{path} leaked {leaked}"
    page = reader.post("/brief", data={"text": TEXT}, headers={"accept": "text/html"})
    assert SECRET_ID not in page.text


@pytest.mark.backends("sqlite")
def test_kb_brief_on_the_command_line(ready, tmp_path):
    source = tmp_path / "client.txt"
    source.write_text(TEXT, encoding="utf-8")
    base = [str(KB), "--data-dir", str(ready.data_dir), "--embedder", "hash", "brief"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, env=process_env(), check=False
        )

    shown = run("--file", str(source))
    assert shown.returncode == 0, shown.stderr
    assert "相似案例" in shown.stdout and "CASE-T-001" in shown.stdout
    as_json = json.loads(run(TEXT, "--json").stdout)
    assert as_json["client"] == CLIENT
    output = tmp_path / "brief.docx"
    exported = run("--file", str(source), "-o", str(output))
    assert exported.returncode == 0 and output.is_file()
    text = "\n".join(p.text for p in docx.Document(str(output)).paragraphs)
    assert CLIENT not in text and PHONE not in text
    markdown = run(TEXT, "--markdown", "--no-redact")
    assert CLIENT in markdown.stdout
    both = run(TEXT, "--file", str(source))
    assert both.returncode != 0 and "二选一" in both.stderr
