"""The server's log (uvicorn access log and our own) holds no keys, no query strings and no
document text, even with an error on the way."""

from urllib.parse import urlsplit

import httpx

from tests.conftest import DATA
from tests.web.conftest import running_server

PASSAGE = "引入客流預測排班，門店人效提升 18%"  # text of the confidential fixture case


def test_keys_queries_and_document_text_stay_out_of_the_log(tmp_path):
    data_dir = tmp_path / "index"
    with running_server(data_dir, DATA / "library") as base:
        key = base.admin_key
        with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as client:
            headers = {"Authorization": f"Bearer {key}"}
            search = client.get("/api/search", params={"q": "客流预测排班"}, headers=headers)
            assert PASSAGE in search.text
            assert client.get("/api/documents/CASE-T-002", headers=headers).status_code == 200
            assert (
                client.get("/api/search", headers={"X-API-Key": "kb_wrong-key"}).status_code == 401
            )
            login = client.post("/login", data={"key": key, "next": "/"})
            assert login.status_code == 200 and "退出" in login.text
            assert client.get("/documents/CASE-T-002").status_code == 200
        port = urlsplit(base).port
    log = (tmp_path / f"server-{port}.log").read_text(encoding="utf-8")
    assert "GET /api/search HTTP/1.1" in log  # the access log is on, without its query string
    for secret in (key, "kb_wrong-key", PASSAGE, "客流预测排班", "%E5%AE%A2"):
        assert secret not in log, secret
