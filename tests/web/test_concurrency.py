"""Searches keep answering, without errors, while another process ingests into the library."""

import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import DATA, process_env
from tests.web.conftest import KB, running_server

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
QUERIES = ["供应链 库存", "门店排班", "流程优化 审批", "项目复盘", "数据口径", "医院门诊"]


def test_searches_during_an_ingest_in_another_process(tmp_path):
    data_dir = tmp_path / "index"
    with running_server(data_dir, DATA / "library") as base:
        env = process_env()
        ingest = subprocess.Popen(
            [str(KB), "--data-dir", str(data_dir), "--embedder", "hash", "ingest", str(CORPUS)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        statuses, totals = [], set()
        deadline = time.monotonic() + 120
        headers = {"Authorization": f"Bearer {base.admin_key}"}
        with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
            n = 0
            while (ingest.poll() is None or n < 20) and n < 2000 and time.monotonic() < deadline:
                response = client.get(
                    "/api/search", params={"q": QUERIES[n % len(QUERIES)], "k": 5}
                )
                statuses.append(response.status_code)
                if response.status_code == 200:
                    totals.add(client.get("/api/stats").json()["documents"])
                n += 1
            assert ingest.wait(timeout=120) == 0
            final = client.get("/api/search", params={"q": "供应商交付 库存周转", "k": 3}).json()
    assert statuses and set(statuses) == {200}, statuses
    assert 4 in totals and max(totals) > 4  # searches saw the library before and after
    assert final["hits"] and final["hits"][0]["doc_id"].startswith("CASE-")
