"""Case-brief benchmark: leave-one-out over the cases of the bundled corpus, the brief against a
plain hybrid search on the same text, and optionally the brief's speed on a large library.

For every case of corpus/ (a library built with the chosen embedder, or reused with --data-dir)
the held-out text is the case's background and problem sections only: its passages whose last
heading names 背景, 诉求, 需求, 问题, 现状, 痛点 or 挑战 (cases without one are skipped and
counted). The brief of that text is made with the case left out (`exclude`), and compared with a
hybrid search of the same text (cut to the longest accepted query) over the cases, the held-out
case dropped from its hits. For each: industry and service-type accuracy (the brief's predicted
labels; the search's top hit, and the majority of its top 3 with ties to the better ranked),
whether the top-1 case has the held-out case's service type, the mean share of the top 3 that
have it (a missing place counts as a miss), and the time per text (the first text is a warm-up
and not counted). Leaving a case out makes the classifier fit its models again without it (a
brief with nothing left out uses the library's own models), so the brief is timed twice: as
made, and the same brief again once those models are fitted and kept.

With `--chunks N` it also generates a synthetic corpus of about N chunks (bench/synth.py),
ingests it with the `hash` embedder into a temporary library and times the brief of fixed
one-page client texts there; since hashing costs nothing, it also times the e5 embedding of the
same texts and adds the two medians as an estimate of the brief with the real embedder.

    python bench/brief.py [--embedder e5|hash] [--data-dir DIR] [--limit N] [--chunks N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's `http`: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import synth  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from kb import store  # noqa: E402
from kb.access import LOCAL  # noqa: E402
from kb.brief import make_brief  # noqa: E402
from kb.chunking import chunk_text  # noqa: E402
from kb.classify import Classifier  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library, passage_for_index  # noqa: E402
from kb.models import Chunk  # noqa: E402
from kb.search import SearchService, document_metadata  # noqa: E402
from kb.text import normalize_for_index  # noqa: E402

CORPUS = ROOT / "corpus"
SECTION_WORDS = ("背景", "诉求", "需求", "问题", "现状", "痛点", "挑战")
FIELDS = ("industry", "service_type")
TOP = 3
SEARCH_K = 10
SCALE_BRIEFS = 20
CLIENT_TEXTS = (
    "客户是华东地区一家连锁超市企业，目前在江浙沪共有门店 186 家，另有两个区域配送中心，"
    "年销售额约 42 亿元。近两年公司门店数量扩张较快，但库存问题越来越突出：一方面，门店畅销品"
    "经常断货，周末和节假日生鲜、乳制品的缺货率超过 8%，顾客投诉明显增加；另一方面，总部仓库"
    "和门店后仓积压了大量滞销商品，整体库存周转天数从 35 天上升到 52 天，临期报损每年超过 "
    "3,000 万元。目前门店补货主要依靠店长凭经验下单，总部采购按月度计划统一订货，两边的数据"
    "口径不一致，POS 销售数据要隔天才能汇总到总部。ERP 系统是十年前上线的，没有销售预测和"
    "自动补货功能。管理层希望咨询团队在三个月内诊断库存问题的根本原因，重新设计从销售预测、"
    "采购订货到门店补货的计划协同流程，明确总部与门店的职责分工，并提出信息系统改造的建议。"
    "客户特别关心的是：能否在不增加库存资金占用的前提下把缺货率降到 3% 以内，以及新流程如何"
    "在 186 家门店落地，店长和采购人员的考核指标要怎样配套调整。",
    "委托方是西南地区一家三级甲等综合医院，开放床位 2,200 张，日均门诊量约 9,000 人次，高峰"
    "时段超过 13,000 人次。近年来患者对门诊就医体验的意见很大，主要集中在排队时间长：挂号、"
    "候诊、缴费、检查预约、取药五个环节都要排队，患者平均在院停留时间约 3.5 小时，其中真正"
    "与医生面对面的时间不到 10 分钟。医院已经上线了手机挂号和自助机，但分时段预约的号源只占"
    "四成，很多患者仍然一早到院现场挂号，上午九点到十一点门诊大厅非常拥挤。检验和影像检查的"
    "预约分散在各科室，患者需要在不同楼层之间来回跑，部分检查要等三到五天。医院信息科反映，"
    "HIS、LIS、PACS 系统由不同厂商建设，数据没有打通，很难统计每个环节的实际等待时间。院领导"
    "希望通过本次咨询梳理门诊就医全流程，找出主要瓶颈，提出号源管理、诊间结算、检查集中预约"
    "等方面的优化方案，并配套设计门诊运营指标和考核机制，目标是一年内把患者平均在院时间缩短"
    "三分之一，同时不增加医护人员编制。",
    "甲方为华南一家汽车零部件制造企业，主营座椅骨架和内饰件，为六家主机厂配套，年产值约 "
    "15 亿元，员工 2,600 人。今年以来交付问题非常严重：主机厂考核的准时交付率从去年的 97% "
    "下降到 86%，上个季度因断供导致客户产线停线两次，被罚款并被列入重点监控供应商名单。"
    "初步了解，原因包括：销售订单频繁变更，生产计划每周要调整三四次；关键原材料钢管和面料"
    "的供应商交付不稳定，来料检验不合格率偏高；冲压和焊接车间设备故障多，综合设备效率只有 "
    "62% 左右；车间之间的在制品堆积严重，但成品仓却经常缺货。企业使用的 ERP 只管财务和库存，"
    "生产排程仍然依靠计划员用表格手工完成，没有 MES 系统。总经理希望在半年内把准时交付率恢复"
    "到 95% 以上，请咨询方帮助诊断从订单到交付的全链条问题，重建产销协同和生产计划体系，提升"
    "供应商管理水平，并评估是否需要引入 APS 和 MES 系统。"
    "此外，计划、采购、生产三个部门互相指责，考核各管一段，没有人对交付结果负总责，希望方案"
    "一并理顺组织职责和交付考核指标。",
    "客户为一家总部位于北方的城市商业银行，资产规模约 3,200 亿元，下辖 12 家分行、160 多个"
    "网点。目前各分行的财务核算和费用报销分散处理，每家分行都有四到六名财务人员负责审核单据，"
    "报销从提交到付款平均需要 15 个工作日，员工抱怨很多。总行财务部反映，各分行的费用科目使用"
    "不统一，同样的业务招待费在不同分行记入不同科目，月度经营分析时需要人工调整口径，结账要 "
    "8 天以上。审计部门在去年的内部审计中也发现了多起重复报销和超标准报销的问题，内控存在"
    "明显漏洞。银行管理层计划建设财务共享中心，把费用报销、应付账款、总账核算集中到总行统一"
    "处理，同时上线电子影像和电子发票系统。希望咨询团队评估共享中心的建设模式和选址，设计"
    "组织架构、岗位职责和业务流程，制定分阶段的上线路径，并测算人员节约和成本效益，方案需要"
    "兼顾监管合规要求和分行管理层的接受程度。"
    "目前分行财务人员对集中后的岗位去向比较担心，项目启动前需要有清晰的人员安置和转岗培训"
    "计划。",
)


@dataclass
class HeldOut:
    """A case of the corpus and the text of its background and problem sections."""

    doc_id: str
    metadata: dict
    text: str


def corpus_library(embedder: str, data_dir: Path) -> Library:
    """The library of corpus/ in data_dir, ingested unless it is there already."""
    library = Library(Settings(data_dir=data_dir, embedder=embedder))
    if library.manifest() is None:
        started = time.perf_counter()
        report = ingest_paths(library, [CORPUS])
        seconds = time.perf_counter() - started
        print(f"ingested {report.count('added')} documents in {seconds:.1f}s")
    return library


def situation_text(chunks: Sequence[Chunk]) -> str:
    """The texts of the passages whose last heading names a background or problem section."""
    picked = [
        c.text
        for c in chunks
        if any(w in normalize_for_index(c.heading.split(" > ")[-1]) for w in SECTION_WORDS)
    ]
    return "\n".join(picked)


def held_out_cases(library: Library) -> tuple[list[HeldOut], int]:
    """Every case with a background or problem section, and how many have none."""
    cases, skipped = [], 0
    with library.session() as session:
        for doc in store.list_documents(session):
            if doc.type != "case":
                continue
            text = situation_text(store.chunks_of_document(session, doc_id=doc.id))
            if text:
                cases.append(HeldOut(doc.id, document_metadata(doc), text))
            else:
                skipped += 1
    return cases, skipped


def majority(labels: list[str | None]) -> str | None:
    """The most frequent label, ties to the one ranked first."""
    counts = Counter(labels)
    return max(labels, key=lambda label: (counts[label], -labels.index(label)), default=None)


def same_type(metadatas: list[dict], service_type: str) -> tuple[bool, float]:
    """Whether the first has the service type, and the share of the top places that have it."""
    same = [m.get("service_type") == service_type for m in metadatas[:TOP]]
    return bool(same and same[0]), sum(same) / TOP


def brief_row(service: SearchService, classifier: Classifier, case: HeldOut) -> dict:
    """The brief of the held-out text with the case left out, scored against the case, timed
    twice: with the classifier fitted anew without the case, and again once it is fitted."""
    exclude = frozenset({case.doc_id})
    brief = make_brief(service, classifier, case.text, viewer=LOCAL, exclude=exclude)
    again = make_brief(service, classifier, case.text, viewer=LOCAL, exclude=exclude)
    predicted = {label.field: label.label for label in brief.labels}
    top1, top3 = same_type([c.case.metadata for c in brief.cases], case.metadata["service_type"])
    row = {f: predicted.get(f) == case.metadata.get(f) for f in FIELDS}
    return {**row, "top1": top1, "top3": top3, "ms": brief.took_ms, "ms_fitted": again.took_ms}


def search_row(service: SearchService, case: HeldOut) -> dict:
    """A hybrid search of the held-out text over the other cases, scored against the case."""
    query = case.text[: service.settings.max_query_chars]
    result = service.search(query, viewer=LOCAL, k=SEARCH_K, by_doc=True, filters=["type=case"])
    metadatas = [h.metadata for h in result.hits if h.doc_id != case.doc_id][:TOP]
    row = {}
    for field in FIELDS:
        labels = [m.get(field) for m in metadatas]
        row[field] = bool(labels) and labels[0] == case.metadata.get(field)
        row[f"{field}_majority"] = majority(labels) == case.metadata.get(field)
    top1, top3 = same_type(metadatas, case.metadata["service_type"])
    return {**row, "top1": top1, "top3": top3, "ms": result.took_ms}


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50 and p95 of timings in milliseconds (0 when there are none)."""
    if not ms:
        return {"p50": 0.0, "p95": 0.0}
    return {key: round(float(np.percentile(ms, q)), 1) for key, q in (("p50", 50), ("p95", 95))}


def summary(rows: list[dict]) -> dict:
    """Mean of every score over the rows; timings (ms…) without the first (warm-up) row."""
    timings = [k for k in rows[0] if k.startswith("ms")]
    scores = {
        k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0] if k not in timings
    }
    return {**scores, **{k: percentiles([r[k] for r in rows[1:]]) for k in timings}}


def leave_one_out(library: Library, limit: int) -> dict:
    """Brief and search figures over the corpus's cases (the first `limit` when given)."""
    service, classifier = SearchService(library), Classifier(library)
    cases, skipped = held_out_cases(library)
    cases = cases[:limit] if limit else cases
    briefs = [brief_row(service, classifier, case) for case in cases]
    searches = [search_row(service, case) for case in cases]
    return {
        "cases": len(cases),
        "skipped": skipped,
        "brief": summary(briefs),
        "search": summary(searches),
    }


def print_table(results: dict) -> None:
    """Brief against search, one figure a line."""
    brief, search = results["brief"], results["search"]
    lines = [
        ("industry accuracy", brief["industry"], search["industry"]),
        ("industry accuracy (search: top-3 majority)", None, search["industry_majority"]),
        ("service type accuracy", brief["service_type"], search["service_type"]),
        ("service type accuracy (search: top-3 majority)", None, search["service_type_majority"]),
        ("top-1 case same service type", brief["top1"], search["top1"]),
        ("top-3 cases same service type (mean share)", brief["top3"], search["top3"]),
    ]
    print(f"\n{'':<52} | {'brief':>9} | {'search':>9}")
    for name, mine, theirs in lines:
        cell = "-" if mine is None else f"{mine:.3f}"
        print(f"{name:<52} | {cell:>9} | {theirs:>9.3f}")
    for q in ("p50", "p95"):
        name = f"time {q} ms (brief: models refit without the case)"
        print(f"{name:<52} | {brief['ms'][q]:>9} | {search['ms'][q]:>9}")
        name = f"time {q} ms (brief: same text again, models fitted)"
        print(f"{name:<52} | {brief['ms_fitted'][q]:>9} | {'-':>9}")
    print(
        f"cases evaluated {results['cases']}, skipped (no background section) {results['skipped']}"
    )


def text_passages(text: str, chunk_chars: int) -> list[str]:
    """The passages of a pasted text as the brief embeds them."""
    return [
        passage_for_index("", " > ".join(c.heading_path), c.text)
        for c in chunk_text(text, chunk_chars)
    ]


def brief_at_scale(chunks: int) -> dict:
    """Brief time over the client texts in a synthetic library of about `chunks` chunks."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        synth.write_corpus(corpus, max(1, round(chunks / synth.CHUNKS_PER_DOC)))
        library = Library(Settings(data_dir=Path(tmp) / "index", embedder="hash"))
        started = time.perf_counter()
        ingest_paths(library, [corpus])
        ingest = time.perf_counter() - started
        service, classifier = SearchService(library), Classifier(library)
        texts = [CLIENT_TEXTS[i % len(CLIENT_TEXTS)] for i in range(SCALE_BRIEFS)]
        make_brief(service, classifier, texts[0], viewer=LOCAL)
        ms = [make_brief(service, classifier, t, viewer=LOCAL).took_ms for t in texts]
        return {
            "chunks": service.snapshot().manifest.chunks,
            "ingest_s": round(ingest, 1),
            "briefs": len(ms),
            "brief_ms": percentiles(ms),
        }


def e5_embedding_ms() -> dict[str, float]:
    """Time of the e5 embedding of each client text's passages (after one warm-up)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embedder="e5")
        embedder = Library(settings).embedder
        passages = [text_passages(t, settings.chunk_chars) for t in CLIENT_TEXTS]
        embedder.embed_passages(passages[0], batch_size=settings.embed_batch_size)
        ms = []
        for text in passages:
            started = time.perf_counter()
            embedder.embed_passages(text, batch_size=settings.embed_batch_size)
            ms.append((time.perf_counter() - started) * 1000)
    return percentiles(ms)


def scale(chunks: int) -> dict:
    """The brief at scale with hashing, plus e5's embedding of the text: the estimate."""
    result = brief_at_scale(chunks)
    result["e5_embedding_ms"] = e5_embedding_ms()
    result["estimate_ms"] = round(result["brief_ms"]["p50"] + result["e5_embedding_ms"]["p50"], 1)
    brief, embed = result["brief_ms"], result["e5_embedding_ms"]
    print(
        f"\n{result['chunks']} chunks (hash embedder, ingest {result['ingest_s']}s): "
        f"{result['briefs']} briefs p50 {brief['p50']} ms, p95 {brief['p95']} ms"
    )
    print(
        f"brief at {result['chunks']} chunks p50 {brief['p50']} ms + e5 embedding of the text "
        f"p50 {embed['p50']} ms = estimate {result['estimate_ms']} ms"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--data-dir", type=Path, help="keep the library here (reused if present)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--chunks", type=int, default=0, help="also time the brief at N chunks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = corpus_library(args.embedder, args.data_dir or Path(tmp) / "index")
        results = {"embedder": args.embedder, **leave_one_out(library, args.limit)}
    print_table(results)
    if args.chunks:
        results["scale"] = scale(args.chunks)
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
