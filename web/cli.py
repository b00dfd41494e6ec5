"""The `kb` command: thin wrappers that call services in `kb` and `ingest` and print results."""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from ingest.documents import text_of_file
from ingest.encoding import decode_text
from ingest.pipeline import IngestReport, ingest_paths
from kb import catalog, classify, packs, store, templates
from kb.access import LOCAL, Principal
from kb.brief import Brief, make_brief
from kb.brief_export import brief_docx, brief_markdown
from kb.config import Settings
from kb.errors import KBError
from kb.keys import KeyStore
from kb.library import Library
from kb.progress import BarReporter
from kb.search import MODES, SearchService, document_metadata
from kb.similar import similar_documents
from kb.suggest_worker import refresh_suggestions

EXIT_USER_ERROR = 1
EXIT_PARTIAL = 3

app = typer.Typer(
    help="咨询案例知识库：导入、检索、相似案例。", no_args_is_help=True, add_completion=False
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, Any] = {}


@app.callback()
def main(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="数据目录（默认 KB_DATA_DIR，或本项目的 indexes/）"),
    ] = None,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="e5 | hash | st:<模型>（默认 KB_EMBEDDER）")
    ] = None,
    as_key: Annotated[
        str | None,
        typer.Option("--as", help="以某个密钥的身份查看（检查授权用）；默认本机完全访问"),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="总是说明所用的数据目录")
    ] = False,
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if embedder is not None:
        overrides["embedder"] = embedder
    _state.clear()
    _state.update(settings=Settings(**overrides), as_key=as_key, verbose=verbose)


def _settings(*, creates: bool = False, changes: bool = False) -> Settings:
    """The settings, once the data dir is named (always for commands that change something,
    else with --verbose) and known to hold a library (unless the command creates one)."""
    settings = _state["settings"]
    where = settings.data_dir.resolve()
    if (changes or creates or _state["verbose"]) and not _state.get("announced"):
        _state["announced"] = True
        err.print(f"数据目录：{where}", highlight=False)
    if not creates and not settings.has_library:
        _fail(
            f"数据目录 {where} 中还没有知识库：用 --data-dir 目录 或 export KB_DATA_DIR=目录 "
            "指向已有的库，或用 kb init（空库）/ kb ingest <文件夹> 在这里新建"
        )
    return settings


def _viewer() -> Principal:
    """Who the command acts as: the data directory's owner, or a named key with `--as`."""
    name = _state.get("as_key")
    if not name:
        return LOCAL
    entry = KeyStore(_settings().keys_path).entries().get(name)
    if entry is None:
        _fail(f"密钥 {name} 不存在：用 kb keys list 查看")
    return entry.principal()


def _library(progress: bool = True, *, creates: bool = False, changes: bool = False) -> Library:
    settings = _settings(creates=creates, changes=changes)
    return Library(settings, reporter=BarReporter(err) if progress else None)


def _visibility(library: Library) -> Callable[[str], bool]:
    viewer = _viewer()
    if viewer.sees_everything:
        return lambda _doc_id: True
    return SearchService(library).visibility(viewer)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def _fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    err.print(f"[red]错误：[/red]{escape(message)}", highlight=False)
    raise typer.Exit(code)


STATUS_LABELS = {
    "added": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "duplicate": "重复",
    "skipped": "跳过",
    "failed": "失败",
    "pruned": "已删除",
}


def _print_report(report: IngestReport) -> None:
    changed = [r for r in report.results if r.status != "unchanged"]
    if changed:
        table = Table(title="导入结果")
        for column in ("状态", "文档", "块数", "文件"):
            table.add_column(column)
        for result in changed:
            table.add_row(
                STATUS_LABELS[result.status],
                result.doc_id or "",
                str(result.chunks or ""),
                Path(result.path).name,
            )
        out.print(table)
    for result in changed:
        if result.message:
            out.print(f"[{STATUS_LABELS[result.status]}] {result.message}", highlight=False)
    summary = "，".join(f"{STATUS_LABELS[k]} {v}" for k, v in report.summary().items())
    out.print(f"完成：{summary or '没有文件'}；用时 {report.seconds:.2f} 秒", highlight=False)


def _suggest(library: Library, report: IngestReport, *, quiet: bool = False) -> int:
    """Label suggestions for the documents just stored, computed once they are searchable
    (retraining first when the labelled set changed); how many were made."""
    if not report.stored:
        return 0
    if not quiet:
        err.print("正在生成标签建议…", highlight=False)
    count = refresh_suggestions(library, report.stored).suggestions
    if not quiet:
        done = f"生成了 {count} 条标签建议，可在 /review 页面审核" if count else "没有新的标签建议"
        out.print(done, highlight=False)
    return count


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="文件或文件夹")],
    prune: Annotated[bool, typer.Option("--prune", help="删除源文件已不存在的文档")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """导入文件或文件夹（增量：未变化的文件不会重新嵌入）。"""
    library = _library(creates=True)
    report = ingest_paths(library, paths, prune=prune)
    if as_json:
        _print_json(
            {
                "summary": report.summary(),
                "seconds": round(report.seconds, 3),
                "partial": report.partial,
                "results": [vars(r) for r in report.results],
                "suggestions": _suggest(library, report, quiet=True),
            }
        )
    else:
        _print_report(report)
        _suggest(library, report)
    if report.partial:
        err.print(f"[yellow]部分文件导入失败（{report.count('failed')} 个），原因见上[/yellow]")
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def init() -> None:
    """在数据目录中新建一个空的知识库（已有库时不做改动）。"""
    existed = _state["settings"].has_library
    library = _library(creates=True)
    where = library.data_dir.resolve()
    if existed:
        out.print(f"数据目录 {where} 中已有知识库，未做改动", highlight=False)
        return
    with library.write_lock():
        library.build_indexes()
    out.print(f"已在 {where} 新建空的知识库；用 kb ingest <文件夹> 导入文档", highlight=False)


def _terminal_snippet(snippet: str) -> str:
    """The HTML snippet as rich markup: marks become reverse video, the rest literal text."""
    pieces = re.split(r"(</?mark>)", snippet)
    styles = {"<mark>": "[reverse]", "</mark>": "[/reverse]"}
    text = "".join(styles.get(p) or escape(html.unescape(p)) for p in pieces)
    return " ".join(text.split())


def _print_hits(result: Any) -> None:
    out.print(f"共 {result.total} 条，用时 {result.took_ms:.0f} ms", highlight=False)
    for rank, hit in enumerate(result.hits, start=1):
        labels = " ".join(
            str(hit.metadata[f]) for f in ("type", "industry", "service_type") if f in hit.metadata
        )
        out.print(
            f"\n[bold]{rank}. {hit.title}[/bold]  [dim]{hit.doc_id} · {labels} · "
            f"{hit.score:.4f}[/dim]",
            highlight=False,
        )
        if hit.heading:
            out.print(f"   [cyan]{hit.heading}[/cyan]", highlight=False)
        out.print("   " + _terminal_snippet(hit.snippet), highlight=False)
    if result.weak_hits:
        nearest = "、".join(dict.fromkeys(f"{h.title}（{h.doc_id}）" for h in result.weak_hits))
        out.print(f"没有足够相关的结果。最接近的（相关性很低）：{nearest}", highlight=False)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="查询")] = None,
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 10,
    mode: Annotated[str, typer.Option("--mode", help=f"检索模式：{' | '.join(MODES)}")] = "hybrid",
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="筛选，如 industry=制造业、date>=2022-01-01"),
    ] = None,
    by_doc: Annotated[bool, typer.Option("--by-doc", help="按文档分组")] = False,
    offset: Annotated[int, typer.Option("--offset", help="跳过前 N 条（翻页）")] = 0,
    batch: Annotated[Path | None, typer.Option("--batch", help="每行一个查询的文件")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """混合检索（BM25 + 向量），支持筛选、分面与高亮。"""
    service = SearchService(_library(progress=False))
    if batch is not None:
        _search_batch(
            service, batch, viewer=_viewer(), k=k, mode=mode, filters=filters, by_doc=by_doc
        )
        return
    if query is None:
        _fail("请给出查询，或用 --batch 文件")
    result = service.search(
        query, viewer=_viewer(), k=k, mode=mode, filters=filters, by_doc=by_doc, offset=offset
    )
    if as_json:
        _print_json(result.model_dump())
    else:
        _print_hits(result)


def _search_batch(service: SearchService, batch: Path, **options: Any) -> None:
    if not batch.is_file():
        _fail(f"找不到查询文件 {batch}")
    text, _ = decode_text(batch.read_bytes(), batch.name)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in (raw.rstrip("\r") for raw in lines):
        if not line.strip():
            _print_json({"query": line, "error": {"code": "invalid_query", "message": "空行"}})
            continue
        try:
            _print_json(service.search(line, **options).model_dump())
        except KBError as exc:
            _print_json({"query": line, "error": {"code": exc.code, "message": exc.message}})


@app.command()
def similar(
    doc_id: Annotated[str, typer.Argument(help="文档 id")],
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """与某文档相似的案例：相似度（0–100）与原因（最相似的段落对、相同的行业/服务类型/标签）。"""
    results = similar_documents(
        SearchService(_library(progress=False)), doc_id, viewer=_viewer(), k=k
    )
    if as_json:
        _print_json([r.model_dump() for r in results])
        return
    for rank, item in enumerate(results, start=1):
        out.print(
            f"{rank}. [bold]{escape(item.title)}[/bold]  [dim]{item.doc_id} · "
            f"相似度 {item.percent}[/dim]",
            highlight=False,
        )
        out.print(f"   {escape(_labels_line(item.metadata))}", highlight=False)
        for reason in item.reasons:
            out.print(f"   {escape(reason)}", highlight=False)
        for pair in item.passage_pairs[:1]:
            out.print(f"     本文：{escape(_excerpt(pair['source']['text']))}", highlight=False)
            out.print(f"     对方：{escape(_excerpt(pair['target']['text']))}", highlight=False)


@app.command()
def brief(
    text: Annotated[str | None, typer.Argument(help="客户情况、需求说明或会议纪要")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="从文件读取（.md .txt .docx .pdf .html）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="输出 Markdown（默认脱敏）")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="导出到文件（.docx 或 .md，默认脱敏）")
    ] = None,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="导出时不脱敏")] = False,
) -> None:
    """案例简报：预测的行业与服务类型、最相似的案例及原因、SOP 步骤、经验教训、方案骨架。"""
    if (text is None) == (file is None):
        raise typer.BadParameter("给出一段文字，或用 --file 指定文件（二选一）")
    if file is not None:
        text = text_of_file(name=file.name, data=_read_bytes(file))
    library = _library(progress=False)
    result = make_brief(
        SearchService(library), classify.Classifier(library), text or "", viewer=_viewer()
    )
    if output is not None:
        _export_brief(result, text or "", output, redact=not no_redact)
    elif markdown:
        page, _ = brief_markdown(result, text or "", client=result.client, redact=not no_redact)
        out.print(page, highlight=False, markup=False)
    elif as_json:
        _print_json(result.model_dump())
    else:
        _print_brief(result)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise typer.BadParameter(f"找不到文件 {path}")
    return path.read_bytes()


def _export_brief(result: Brief, text: str, output: Path, *, redact: bool) -> None:
    if output.suffix.lower() == ".docx":
        data, report = brief_docx(result, text, client=result.client, redact=redact)
        output.write_bytes(data)
    else:
        page, report = brief_markdown(result, text, client=result.client, redact=redact)
        output.write_text(page, encoding="utf-8")
    out.print(f"已导出到 {output}；脱敏 {len(report)} 项", highlight=False)


def _print_brief(result: Brief) -> None:
    """The brief in the terminal, one part after another, sources named."""
    for label in result.labels:
        doubt = "" if label.confident else "（把握不大）"
        out.print(f"{label.name}：{label.label} {label.probability:.0%}{doubt}", highlight=False)
    for line in [result.gaps, *result.notes]:
        if line:
            out.print(f"[yellow]{escape(line)}[/yellow]", highlight=False)
    out.print("\n[bold]相似案例[/bold]", highlight=False)
    for rank, item in enumerate(result.cases, start=1):
        out.print(
            f"{rank}. {escape(item.case.title)} [dim]{item.case.doc_id} · "
            f"相似度 {item.case.percent}[/dim]",
            highlight=False,
        )
        out.print(f"   {escape('；'.join(item.case.reasons))}", highlight=False)
    for title, passages in (("怎么做（SOP）", result.steps), ("以前踩过的坑", result.pitfalls)):
        out.print(f"\n[bold]{title}[/bold]", highlight=False)
        for p in passages:
            where = f"{p.section} · " if p.section else ""
            out.print(f"- {where}{escape(p.title)} [dim]{p.doc_id}[/dim]", highlight=False)
    if result.draft is not None:
        out.print(
            f"\n[bold]方案骨架[/bold]（来源 {'、'.join(result.draft.sources)}）", highlight=False
        )
        out.print(result.draft.markdown, highlight=False, markup=False)


def _label_text(value: Any) -> str:
    """A label value as people write it: lists joined with 、."""
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def _labels_line(metadata: dict[str, Any]) -> str:
    """e.g. 制造业 · 运营优化 · 供应链、成本控制."""
    fields = ("industry", "service_type", "tags")
    return " · ".join(_label_text(metadata[f]) for f in fields if metadata.get(f))


def _excerpt(text: str, chars: int = 60) -> str:
    flat = " ".join(text.split())
    return f"「{flat[:chars]}{'…' if len(flat) > chars else ''}」"


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(help="文档 id")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """显示文档的元数据与分块。"""
    library = _library(progress=False)
    document = catalog.get_document(library, doc_id, viewer=_viewer())
    with library.session() as session:
        chunks = store.chunks_of_document(session, doc_id=doc_id)
    data = {
        "id": document.id,
        "source": document.source,
        "format": document.format,
        "metadata": document_metadata(document),
        "content_hash": document.content_hash,
        "updated_at": document.updated_at,
        "chunks": [
            {
                "chunk_id": c.id,
                "ordinal": c.ordinal,
                "heading": c.heading,
                "start": c.start,
                "end": c.end,
                "text": c.text,
            }
            for c in chunks
        ],
    }
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{document.title}[/bold]  [dim]{document.id}[/dim]", highlight=False)
    for key, value in data["metadata"].items():
        out.print(f"  {key}: {_label_text(value)}", highlight=False)
    out.print(f"  来源: {document.source}", highlight=False)
    for chunk in data["chunks"]:
        out.print(f"\n[cyan]#{chunk['ordinal']} {chunk['heading']}[/cyan]", highlight=False)
        out.print(chunk["text"], highlight=False)


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """库的规模与索引信息。"""
    library = _library(progress=False)
    data = {
        "data_dir": str(library.data_dir),
        **catalog.library_stats(library, viewer=_viewer()).model_dump(),
    }
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        out.print(f"{key}: {value}", highlight=False)


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="修复（不重新嵌入已存文档）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """检查数据库、向量索引和 BM25 索引是否一致；--repair 从数据库重建索引。"""
    from kb import doctor as health

    library = _library(changes=repair)
    actions = health.repair(library) if repair else []
    findings = health.check(library)
    if as_json:
        _print_json({"repaired": actions, "findings": [vars(f) for f in findings]})
    else:
        for action in actions:
            out.print(f"[green]修复[/green] {action}", highlight=False)
        marks = {
            "ok": "[green]正常[/green]",
            "warning": "[yellow]注意[/yellow]",
            "error": "[red]错误[/red]",
        }
        for finding in findings:
            out.print(f"{marks[finding.level]} {finding.check}：{finding.message}", highlight=False)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(EXIT_USER_ERROR)


@app.command()
def rebuild() -> None:
    """重建索引；若嵌入模型已更换，先用新模型重新嵌入全部分块。"""
    manifest = _library(changes=True).rebuild()
    out.print(
        f"索引已重建：{manifest.documents} 篇文档，{manifest.chunks} 个分块，"
        f"模型 {manifest.embedder}",
        highlight=False,
    )


@app.command()
def compact() -> None:
    """把增量段合并为新的基础索引（写入会在达到阈值后自动在后台合并）。"""
    library = _library(changes=True)
    before = library.manifest()
    started = time.perf_counter()
    manifest = library.compact()
    if manifest is None:
        err.print("[yellow]另一个合并正在进行，或索引刚被重建：稍后再试[/yellow]")
        raise typer.Exit(1)
    merged = len(before.deltas) if before else 0
    out.print(
        f"已合并 {merged} 个增量段：{manifest.documents} 篇文档，{manifest.chunks} 个分块，"
        f"剩余增量段 {len(manifest.deltas)}，用时 {time.perf_counter() - started:.1f} 秒",
        highlight=False,
    )


@app.command()
def reload() -> None:
    """重新加载数据目录中的用户词典（userdict.txt）和同义词（synonyms.txt），并重建 BM25。"""
    library = _library(changes=True)
    count = library.retokenize_all()
    library.build_indexes()
    out.print(f"已按新词典重新分词 {count} 个分块并重建索引", highlight=False)


@app.command()
def labels(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """列出可作为分类标签的字段、它们的标签和文档数。"""
    library = _library(progress=False)
    fields = classify.label_fields(library, is_visible=_visibility(library))
    if as_json:
        _print_json(fields)
        return
    described = classify.label_descriptions(library)
    for name, counts in fields.items():
        notes = described.get(name, {})
        values = "，".join(
            f"{label}{'（' + notes[label] + '）' if notes.get(label) else ''} {count}"
            for label, count in counts.items()
        )
        out.print(f"[bold]{name}[/bold]：{values}", highlight=False)


def _print_prediction(prediction: classify.Prediction) -> None:
    others = "，".join(f"{c['label']} {c['probability']:.2f}" for c in prediction.candidates[1:])
    out.print(
        f"[bold]{prediction.label}[/bold] {prediction.probability:.2f}"
        f"（{prediction.method}；其他：{others or '无'}）",
        highlight=False,
    )
    for n in prediction.neighbours:
        out.print(
            f"   相近：{n['title']}（{n['doc_id']}，{n['label']}，{n['similarity']:.2f}）",
            highlight=False,
        )


@app.command(name="classify")
def classify_command(
    field_name: Annotated[str, typer.Option("--field", help="标签字段，如 industry、service_type")],
    text: Annotated[str | None, typer.Argument(help="要分类的文本")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="从文件读取文本")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="每行一段文本的文件")] = None,
    evaluate: Annotated[bool, typer.Option("--eval", help="分层 k 折交叉验证")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """预测标签字段（行业、服务类型……），给出概率、候选和最相近的已标注文档。"""
    classifier = classify.Classifier(_library(progress=batch is not None))
    if evaluate:
        report = classify.evaluate(classifier, field_name)
        if as_json:
            _print_json(report)
        else:
            out.print(
                f"{field_name}：{report['documents']} 篇，{report['labels']} 个标签，"
                f"{report['folds']} 折；准确率 {report['accuracy']:.3f}，"
                f"macro-F1 {report['macro_f1']:.3f}",
                highlight=False,
            )
            for c in report["confused"]:
                out.print(f"   {c['true']} → {c['predicted']}：{c['count']}", highlight=False)
        return
    texts = _classify_inputs(text, file, batch)
    usable = [t for t in texts if t.strip()]
    is_visible = _visibility(classifier.library)
    predictions = iter(
        classifier.predict_texts(field_name, usable, is_visible=is_visible) if usable else []
    )
    for item in texts:
        if not item.strip():
            _print_json({"error": {"code": "invalid_query", "message": "空行：没有要分类的文本"}})
        elif as_json or batch is not None:
            _print_json(vars(next(predictions)))
        else:
            _print_prediction(next(predictions))


def _classify_inputs(text: str | None, file: Path | None, batch: Path | None) -> list[str]:
    if sum(x is not None for x in (text, file, batch)) != 1:
        _fail("请给出一段文本，或 --file 文件，或 --batch 文件（三选一），或用 --eval")
    if text is not None:
        return [text]
    path = file or batch
    if not path.is_file():
        _fail(f"找不到文件 {path}")
    content, _ = decode_text(path.read_bytes(), path.name)
    if file is not None:
        return [content]
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


@app.command()
def template(
    docs: Annotated[str | None, typer.Option("--docs", help="逗号分隔的文档 id")] = None,
    query: Annotated[str | None, typer.Option("--query", help="用检索结果作为来源")] = None,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", help="筛选来源，如 service_type=运营优化")
    ] = None,
    doc_type: Annotated[
        str | None, typer.Option("--type", help="来源的文档类型（默认取候选中最多的类型）")
    ] = None,
    auto: Annotated[bool, typer.Option("--auto", help="按服务类型提出模板族")] = False,
    save: Annotated[
        str | None, typer.Option("--save", help="以此名称保存（同名则新增版本）")
    ] = None,
    min_support: Annotated[float, typer.Option("--min-support", help="必备章节的最低占比")] = 0.6,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="输出 Markdown（默认）")] = False,
) -> None:
    """从一组相似文档提炼可复用的模板：章节骨架、写作指引、{{占位}}、固定表述（默认输出 Markdown）。"""
    library = _library(progress=False, changes=bool(save))
    if auto:
        _print_families(templates.propose_families(library, viewer=_viewer()), as_json)
        return
    if not (docs or query or filters):
        _fail("请用 --docs、--query 或 --filter 指定来源文档，或用 --auto")
    sources = templates.select_documents(
        SearchService(library),
        viewer=_viewer(),
        doc_ids=docs.split(",") if docs else None,
        query=query,
        filters=filters,
        doc_type=doc_type,
    )
    if sources.doc_type:
        counts = "、".join(f"{t} {n}" for t, n in sources.types.items())
        err.print(
            f"来源类型：{sources.doc_type}（候选文档中：{counts}；--type 可改）", highlight=False
        )
    ids = sources.doc_ids
    result = templates.extract_template(library, ids, viewer=_viewer(), threshold=min_support)
    if save:
        saved = templates.save(library, save, result)
        err.print(
            f"已保存模板 {saved.name} 第 {saved.version} 版（{len(ids)} 篇来源）", highlight=False
        )
    if as_json and not as_markdown:
        _print_json(result.to_json())
    else:
        sys.stdout.write(templates.to_markdown(result))


def _print_families(families: list[dict], as_json: bool) -> None:
    if as_json:
        _print_json(families)
        return
    for family in families:
        sections = "、".join(f"{name}（{support:.0%}）" for name, support in family["sections"])
        out.print(
            f"[bold]{family['name']}[/bold]：{len(family['documents'])} 篇；必备章节：{sections}",
            highlight=False,
        )
        how = family["grouped_by"]
        command = (
            f"kb template --filter {how} --filter type=case --save {family['name']}"
            if how.startswith("service_type=")
            else f"kb template --docs {','.join(family['documents'])}"
        )
        out.print(f"   {command}", highlight=False)


pack_app = typer.Typer(help="培训包：建议、创建、添加、导出。", no_args_is_help=True)
app.add_typer(pack_app, name="pack")


@pack_app.command("suggest")
def pack_suggest(
    topic: Annotated[str, typer.Argument(help="培训主题，如 流程优化")],
    create: Annotated[
        str | None, typer.Option("--create", help="按建议直接创建培训包（标题）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """为一个主题建议培训包：SOP、经验教训和代表性案例，按咨询生命周期排好。"""
    library = _library(progress=False, changes=bool(create))
    suggested = packs.suggest(SearchService(library), topic, viewer=_viewer())
    if create:
        pack = packs.create_pack(library, title=create, audience=f"{topic} 新人")
        for item in suggested:
            packs.add_item(
                library, pack.id, doc_id=item.doc_id, section=item.section, viewer=_viewer()
            )
        err.print(f"已创建培训包 {pack.id}：{pack.title}", highlight=False)
    if as_json:
        _print_json([vars(item) for item in suggested])
        return
    current = None
    for item in suggested:
        if item.section != current:
            current = item.section
            out.print(f"\n[bold]{current}[/bold]", highlight=False)
        labels = {"sop": "SOP", "lesson": "经验教训", "case": "案例"}
        out.print(
            f"  [{labels.get(item.type, item.type)}] {item.title}（{item.doc_id}）", highlight=False
        )


@pack_app.command("export")
def pack_export(
    pack_id: Annotated[int, typer.Argument(help="培训包编号")],
    output: Annotated[Path, typer.Option("--output", "-o", help="输出文件（.docx 或 .md）")],
    no_redact: Annotated[bool, typer.Option("--no-redact", help="不脱敏（仅限编辑）")] = False,
) -> None:
    """导出培训包（默认脱敏），并打印脱敏报告。"""
    library = _library(progress=False)
    redact = False if no_redact else None
    if output.suffix.lower() == ".docx":
        data, report = packs.export_docx(library, pack_id, viewer=_viewer(), redact=redact)
        output.write_bytes(data)
    else:
        text, report = packs.export_markdown(library, pack_id, viewer=_viewer(), redact=redact)
        output.write_text(text, encoding="utf-8")
    out.print(f"已导出到 {output}；脱敏 {len(report)} 项", highlight=False)
    for row in report:
        out.print(
            f"  {row['kind']}：{row['original']} → {row['alias']}（{row['count']} 处）",
            highlight=False,
        )


keys_app = typer.Typer(
    help="API 密钥：角色 reader / editor / admin，机密文档按授权可见。", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
GrantOption = Annotated[
    list[str] | None,
    typer.Option("--grant", help="可见的机密文档：文档 id、字段=值（如 client=某银行）或 *"),
]


def _keys(changes: bool = True) -> KeyStore:
    return KeyStore(_settings(changes=changes).keys_path)


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="密钥名称，如 zhang.san")],
    role: Annotated[str, typer.Option("--role", help="reader | editor | admin")] = "reader",
    grants: GrantOption = None,
) -> None:
    """新建密钥并只显示这一次（库中只保存其哈希）。"""
    raw = _keys().add(name, role, grants or [])
    err.print(f"已创建密钥 {name}（{role}）；请立即转交，之后无法再次查看：", highlight=False)
    sys.stdout.write(raw + "\n")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """列出密钥的名称、角色与授权（不含密钥本身）。"""
    entries = [
        {"name": e.name, "role": e.role, "grants": e.grants, "created_at": e.created_at}
        for e in _keys(changes=False).entries().values()
    ]
    if as_json:
        _print_json(entries)
        return
    for e in entries:
        grants = "、".join(e["grants"]) or "无"
        out.print(
            f"{e['name']}  {e['role']}  机密授权：{grants}  {e['created_at']}", highlight=False
        )


@keys_app.command("grant")
def keys_grant(
    name: Annotated[str, typer.Argument(help="密钥名称")],
    grants: GrantOption = None,
    clear: Annotated[bool, typer.Option("--clear", help="先清除已有授权")] = False,
) -> None:
    """给密钥加上（或用 --clear 重设）机密文档授权。"""
    keys = _keys()
    entry = keys.entries().get(name)
    current = [] if clear or entry is None else entry.grants
    entry = keys.set_grants(name, list(dict.fromkeys([*current, *(grants or [])])))
    out.print(f"{name} 的机密授权：{'、'.join(entry.grants) or '无'}", highlight=False)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="密钥名称")]) -> None:
    """吊销密钥：它的请求和已登录的页面会话立即失效。"""
    _keys().revoke(name)
    out.print(f"已吊销 {name}", highlight=False)


BUNDLED_CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8000,
    corpus: Annotated[
        Path, typer.Option("--corpus", help="数据目录为空时先导入的文件夹")
    ] = BUNDLED_CORPUS,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="工作进程数（共享同一个库）")
    ] = 1,
) -> None:
    """启动 Web 服务（检索页面 + JSON API）；数据目录为空时先导入样例库。"""
    import uvicorn

    from web.app import create_app

    library = _library(creates=True)
    settings = library.settings
    if library.manifest() is None:
        if not corpus.is_dir():
            _fail(f"数据目录 {settings.data_dir} 为空，且找不到样例库 {corpus}：请用 --corpus 指定")
        err.print(f"数据目录为空，先导入 {corpus} …", highlight=False)
        report = ingest_paths(library, [corpus])
        counts = "，".join(f"{STATUS_LABELS[k]} {v}" for k, v in report.summary().items())
        err.print(f"导入完成：{counts}；用时 {report.seconds:.1f} 秒", highlight=False)
        _suggest(library, report)
    err.print(
        f"检索页面：http://{host}:{port}/    API 文档：http://{host}:{port}/docs", highlight=False
    )
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    os.environ.update(KB_DATA_DIR=str(settings.data_dir), KB_EMBEDDER=settings.embedder)
    uvicorn.run(
        "web.app:create_app", factory=True, workers=workers, host=host, port=port, log_level="info"
    )


def run() -> None:
    """Console entry point: user errors become one line and a non-zero exit."""
    try:
        code = app(standalone_mode=False)
    except KBError as exc:
        err.print(f"[red]错误：[/red]{escape(exc.message)}", highlight=False)
        sys.exit(EXIT_USER_ERROR)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = "KB_" + str(problem["loc"][0]).upper() if problem["loc"] else "设置"
        err.print(
            f"[red]设置有误：[/red]{escape(name)}：{escape(str(problem['msg']))}", highlight=False
        )
        sys.exit(EXIT_USER_ERROR)
    except TyperException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("已中断")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
