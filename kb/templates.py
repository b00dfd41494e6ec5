"""Reusable templates distilled from a group of similar documents: a section skeleton aligned
across differently worded, numbered and ordered headings, guidance sentences per section,
`{{slots}}` for what varies, and boilerplate that recurs nearly verbatim."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from kb import catalog, store
from kb.access import Principal
from kb.chunking import sentence_spans
from kb.errors import InvalidQueryError, NotFoundError
from kb.filters import parse_filter
from kb.library import Library
from kb.models import SavedTemplate
from kb.search import SearchService, document_metadata
from kb.slots import fill_slots
from kb.text import char_bigrams, normalize_for_index

SUPPORT_THRESHOLD = 0.6
ALIGN_THRESHOLD = 0.45
GUIDANCE_PER_SECTION = 3
_NUMBERING = re.compile(
    r"^\s*(第\s*[\d一二三四五六七八九十]+\s*[章节部分]|[一二三四五六七八九十]+\s*[、.．]|"
    r"[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+(\.\d+)*\s*[、.．]?)\s*"
)
SLOT_FIELDS = {
    "type": "文档类型",
    "client": "客户名称",
    "industry": "行业",
    "service_type": "服务类型",
    "stage": "阶段",
    "date": "日期",
    "title": "项目名称",
}


def bare_heading(heading: str) -> str:
    """A heading without its numbering (``二、需求与目标`` -> ``需求与目标``)."""
    return _NUMBERING.sub("", heading).strip(" ：:") or heading.strip()


@dataclass
class SourceSection:
    """One top-level section of a source document."""

    doc_id: str
    heading: str
    position: float
    text: str
    vector: np.ndarray


@dataclass
class TemplateSection:
    """A canonical section of the skeleton."""

    name: str
    variants: list[str]
    support: float
    position: float
    documents: list[str]
    guidance: list[dict] = field(default_factory=list)
    fixed_text: list[str] = field(default_factory=list)


@dataclass
class Template:
    """A template: front matter with slots, required and optional sections."""

    sources: list[str]
    front_matter: dict[str, str]
    sections: list[TemplateSection]
    optional: list[TemplateSection]
    slots: list[str]

    def to_json(self) -> dict:
        return asdict(self)


GENERIC_CHARS = set("项目客户的与和及之主要情况介绍与其")
SECTION_CONCEPTS = {
    "背景": ("背景", "概况", "现状", "基本情况", "简介"),
    "目标": ("目标", "诉求", "需求", "期望"),
    "经过": ("发生了什么", "经过", "事件"),
    "诊断": ("诊断", "发现", "问题", "调研", "评估"),
    "原因": ("原因", "成因", "根因"),
    "方案": ("方案", "思路", "举措", "对策", "策略"),
    "实施": ("实施", "推进", "落地", "执行", "计划", "路径"),
    "成效": ("成效", "效果", "成果", "价值", "收益", "效益", "结果", "进展"),
    "经验": ("经验", "教训", "复盘", "启示", "体会", "反思", "总结"),
    "目的": ("目的", "依据"),
    "范围": ("范围", "触发条件"),
    "职责": ("角色", "职责", "分工"),
    "输入输出": ("输入", "输出"),
    "步骤": ("步骤", "操作", "时间线"),
    "清单": ("清单", "自查"),
    "注意": ("注意事项", "常见问题", "违规"),
}
# Words that name a concept only when the heading has no more specific word: 原因分析 is about
# causes, 教训与建议 about lessons, 方案设计 about the solution.
WEAK_CONCEPTS = {"诊断": ("分析",), "方案": ("建议", "设计"), "实施": ("过程",)}
_REMARK = re.compile(r"[（(][^）)]*[）)]\s*$")


def _last_concept(text: str, words: dict[str, tuple[str, ...]]) -> str | None:
    """The concept whose word ends last in the text (the head noun of a heading)."""
    best, where = None, (-1, 0)
    for concept, options in words.items():
        for word in options:
            position = text.rfind(word)
            if position >= 0 and (position + len(word), len(word)) > where:
                best, where = concept, (position + len(word), len(word))
    return best


def section_concept(heading: str) -> str | None:
    """The section concept a heading names, from the last concept word in it (the head noun),
    weak words only when there is no other, remarks in brackets left out: ``背景与现状`` -> 背景,
    ``现状诊断`` -> 诊断, ``原因分析`` -> 原因, ``教训与建议`` -> 经验, ``当前进展与体会`` -> 经验."""
    text = _REMARK.sub("", normalize_for_index(bare_heading(heading)))
    return _last_concept(text, SECTION_CONCEPTS) or _last_concept(text, WEAK_CONCEPTS)


def _heading_chars(heading: str) -> set[str]:
    return {ch for ch in normalize_for_index(bare_heading(heading)) if ch.strip()} - GENERIC_CHARS


def heading_similarity(a: str, b: str) -> float:
    """1 when both headings name the same section concept, -1 when they name different ones,
    else the overlap of their meaningful characters (containment)."""
    concept_a, concept_b = section_concept(a), section_concept(b)
    if concept_a and concept_b:
        return 1.0 if concept_a == concept_b else -1.0
    left, right = _heading_chars(a), _heading_chars(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


def source_sections(library: Library, doc_ids: list[str]) -> dict[str, list[SourceSection]]:
    """Top-level sections of each document (below the title), with text and mean vector."""
    out: dict[str, list[SourceSection]] = {}
    with library.session() as session:
        for doc_id in doc_ids:
            document = store.get_document(session, doc_id=doc_id)
            chunks = [c for c in store.chunks_of_document(session, doc_id=doc_id) if c.embedding]
            paths = [
                [p for p in c.heading.split(" > ") if p and p != document.title] for c in chunks
            ]
            roots = {p[0] for p in paths if p}
            if len(roots) == 1 and any(len(p) > 1 for p in paths):
                paths = [p[1:] for p in paths]  # a document-wide top heading is a second title
            groups: dict[str, list] = {}
            for chunk, path in zip(chunks, paths, strict=True):
                if path:
                    groups.setdefault(path[0], []).append(chunk)
            sections = []
            for i, (heading, chunks) in enumerate(groups.items()):
                vector = np.mean(
                    [np.frombuffer(c.embedding, dtype=np.float32) for c in chunks], axis=0
                )
                sections.append(
                    SourceSection(
                        doc_id,
                        heading,
                        i / max(1, len(groups) - 1),
                        "\n".join(c.text for c in chunks),
                        vector / (np.linalg.norm(vector) or 1.0),
                    )
                )
            out[doc_id] = sections
    return out


def _content_scaler(sections: list[SourceSection]):
    """Turns a content cosine into 0..1 relative to how similar sections usually are here."""
    matrix = np.stack([s.vector for s in sections])
    sims = matrix @ matrix.T
    values = sims[np.triu_indices(len(sections), k=1)]
    mean, std = float(values.mean()), float(values.std() or 1.0)
    return lambda cos: float(1 / (1 + np.exp(-(cos - mean) / std)))


def _heading_fit(section: SourceSection, cluster: list[SourceSection]) -> float:
    """How well a heading fits a cluster: -1 when it names another concept than any member."""
    scores = [heading_similarity(section.heading, m.heading) for m in cluster]
    return -1.0 if min(scores) < 0 else max(scores)


def cluster_concept(cluster: list[SourceSection]) -> str | None:
    """The concept most of the cluster's headings name."""
    concepts = Counter(c for c in (section_concept(s.heading) for s in cluster) if c)
    return concepts.most_common(1)[0][0] if concepts else None


def _row_name(cluster: list[SourceSection]) -> str:
    """The commonest bare heading among those naming the cluster's concept (shortest on ties)."""
    concept = cluster_concept(cluster)
    names = Counter(
        bare_heading(s.heading) for s in cluster if section_concept(s.heading) == concept
    )
    return max(names.items(), key=lambda item: (item[1], -len(item[0])))[0]


def merge_rows(clusters: list[list[SourceSection]]) -> list[list[SourceSection]]:
    """One row per concept (or per name, for headings without one): clusters that name the
    same are joined."""
    rows: dict[str, list[SourceSection]] = {}
    for cluster in clusters:
        rows.setdefault(cluster_concept(cluster) or _row_name(cluster), []).extend(cluster)
    return list(rows.values())


def align_sections(by_doc: dict[str, list[SourceSection]]) -> list[list[SourceSection]]:
    """Clusters of corresponding sections, at most one per document, by heading and content."""
    every = [s for sections in by_doc.values() for s in sections]
    if len(every) < 2:
        return [[s] for s in every]
    scale = _content_scaler(every)
    clusters: list[list[SourceSection]] = []
    for doc_id in sorted(by_doc, key=lambda d: -len(by_doc[d])):
        pairs = []
        for i, section in enumerate(by_doc[doc_id]):
            for j, cluster in enumerate(clusters):
                heading = _heading_fit(section, cluster)
                centroid = np.mean([m.vector for m in cluster], axis=0)
                content = scale(
                    float(section.vector @ (centroid / (np.linalg.norm(centroid) or 1)))
                )
                pairs.append((0.5 * heading + 0.5 * content, i, j))
        used_sections, used_clusters = set(), set()
        for score, i, j in sorted(pairs, reverse=True):
            if score >= ALIGN_THRESHOLD and i not in used_sections and j not in used_clusters:
                clusters[j].append(by_doc[doc_id][i])
                used_sections.add(i)
                used_clusters.add(j)
        clusters += [[s] for i, s in enumerate(by_doc[doc_id]) if i not in used_sections]
    return clusters


def _sentences(text: str) -> list[str]:
    """Prose sentences of a section (table rows left out, list markers dropped)."""
    out = []
    for start, end in sentence_spans(text, 0, len(text), 200):
        sentence = text[start:end].strip().removeprefix("- ").strip()
        if " | " not in sentence:
            out.append(sentence)
    return out


def _sentence_key(slotted: str) -> str:
    return re.sub(r"\W+", "", normalize_for_index(slotted))


def _guidance(
    cluster: list[SourceSection], known: dict[str, dict[str, str]], fixed: list[str]
) -> list[dict]:
    """The sentences sharing most wording with the other documents' versions of the section
    (boilerplate and repeats left out: they are fixed text)."""
    doc_grams = [set(char_bigrams(normalize_for_index(s.text))) for s in cluster]
    frequency = Counter(g for grams in doc_grams for g in grams)
    scored = []
    for section in cluster:
        for sentence in _sentences(section.text):
            grams = set(char_bigrams(normalize_for_index(sentence)))
            if 12 <= len(sentence) <= 150 and grams:
                score = sum(frequency[g] for g in grams) / (len(grams) + 5)
                scored.append((score, section.doc_id, sentence))
    picked, seen_docs = [], set()
    seen_texts = {_sentence_key(text) for text in fixed}
    for score, doc_id, sentence in sorted(scored, reverse=True):
        slotted, _ = fill_slots(sentence, known.get(doc_id))
        key = _sentence_key(slotted)
        if doc_id not in seen_docs and key not in seen_texts:
            picked.append(
                {"text": slotted, "source": doc_id, "original": sentence, "score": round(score, 3)}
            )
            seen_docs.add(doc_id)
            seen_texts.add(key)
        if len(picked) == GUIDANCE_PER_SECTION:
            break
    return picked


def _fixed_text(cluster: list[SourceSection], known: dict[str, dict[str, str]]) -> list[str]:
    """Sentences that recur nearly verbatim (once slots are filled) in most of the sources."""
    seen: dict[str, set[str]] = defaultdict(set)
    originals: dict[str, str] = {}
    for section in cluster:
        for sentence in _sentences(section.text):
            slotted, _ = fill_slots(sentence, known.get(section.doc_id))
            key = _sentence_key(slotted)
            if len(key) >= 8:
                seen[key].add(section.doc_id)
                originals.setdefault(key, slotted)
    need = max(2, (len({s.doc_id for s in cluster}) + 1) // 2)
    return [originals[k] for k, docs in seen.items() if len(docs) >= need]


def client_names(client: str | None) -> dict[str, str]:
    """The client's name and its alias (``某连锁超市（化名：鲜丰汇）``) as known slot values."""
    if not client:
        return {}
    alias = re.search(r"化名[:：]\s*([^）)，,]+)", client)
    names = {"客户名称": re.sub(r"[（(]化名.*?[）)]", "", client).strip()}
    if alias:
        names["客户简称"] = alias.group(1).strip()
    return names


def _front_matter(metas: list[dict]) -> dict[str, str]:
    """Values all sources share stay; the rest become slots."""
    front = {}
    for name in ("type", "title", "client", "industry", "service_type", "stage", "date"):
        values = {str(m.get(name)) for m in metas if m.get(name)}
        if name in ("type", "industry", "service_type", "stage") and len(values) == 1:
            front[name] = values.pop()
        elif values or name in ("title", "client", "date"):
            front[name] = "{{" + SLOT_FIELDS[name] + "}}"
    return front


def _section(
    cluster: list[SourceSection], total: int, known: dict[str, dict[str, str]]
) -> TemplateSection:
    fixed = _fixed_text(cluster, known)
    documents = list(dict.fromkeys(s.doc_id for s in cluster))
    return TemplateSection(
        name=_row_name(cluster),
        variants=list(dict.fromkeys(s.heading for s in cluster)),
        support=round(len(documents) / total, 3),
        position=round(statistics.median(s.position for s in cluster), 3),
        documents=documents,
        guidance=_guidance(cluster, known, fixed),
        fixed_text=fixed,
    )


def extract_template(
    library: Library,
    doc_ids: list[str],
    *,
    viewer: Principal,
    threshold: float = SUPPORT_THRESHOLD,
) -> Template:
    """Distil a template from the documents (at least two, all visible to the viewer)."""
    doc_ids = list(dict.fromkeys(doc_ids))
    documents = [catalog.get_document(library, d, viewer=viewer) for d in doc_ids]
    if len(documents) < 2:
        raise InvalidQueryError("提炼模板至少需要 2 篇文档：请多选几篇，或放宽检索/筛选条件")
    metas = [document_metadata(d) for d in documents]
    known = {d.id: client_names(d.client) for d in documents}
    by_doc = source_sections(library, doc_ids)
    sections = sorted(
        (_section(c, len(doc_ids), known) for c in merge_rows(align_sections(by_doc))),
        key=lambda s: s.position,
    )
    required = [s for s in sections if s.support >= threshold]
    optional = [s for s in sections if s.support < threshold]
    slots = sorted(
        {m for s in required for g in s.guidance for m in re.findall(r"{{(.+?)}}", g["text"])}
    )
    front = _front_matter(metas)
    slots = sorted(set(slots) | {v[2:-2] for v in front.values() if v.startswith("{{")})
    return Template(doc_ids, front, required, optional, slots)


def to_markdown(template: Template) -> str:
    """The template as a Markdown document with front matter, placeholders and guidance notes."""
    lines = [
        "---",
        *[f'{k}: "{v}"' if "{{" in v else f"{k}: {v}" for k, v in template.front_matter.items()],
        "---",
        "",
    ]
    lines += [f"# {template.front_matter.get('title', '{{项目名称}}')}", ""]
    numerals = "一二三四五六七八九十"
    for i, section in enumerate(template.sections):
        label = numerals[i] if i < len(numerals) else str(i + 1)
        lines += [f"## {label}、{section.name}", ""]
        lines += [
            f"> 出现在 {len(section.documents)}/{len(template.sources)} 篇来源中（{section.support:.0%}）；"
            f"常见写法：{'、'.join(section.variants[:5])}"
        ]
        for text in section.fixed_text:
            lines += [">", f"> 固定表述：{text}"]
        for item in section.guidance:
            lines += [">", f"> 参考写法（{item['source']}）：{item['text']}"]
        lines += ["", "（在此撰写）", ""]
    if template.optional:
        lines += ["## 可选章节", ""]
        lines += [
            f"- {s.name}（{s.support:.0%}，如：{'、'.join(s.variants[:3])}）"
            for s in template.optional
        ]
        lines += [""]
    lines += [
        f"<!-- 来源：{'、'.join(template.sources)}；可填写的占位：{'、'.join(template.slots)} -->",
        "",
    ]
    return "\n".join(lines)


@dataclass
class TemplateSources:
    """The documents a template is drawn from, of one type when chosen from a search or filter:
    the type used and how many of the candidates had each type (to offer a switch)."""

    doc_ids: list[str]
    doc_type: str | None = None
    types: dict[str, int] = field(default_factory=dict)


def _type_filter(filters: list[str]) -> tuple[list[str], list[str]]:
    """The values of the `type=` conditions among the filters, and the other filters."""
    wanted, others = [], []
    for expression in filters:
        parsed = parse_filter(expression)
        if parsed.field == "type" and parsed.op == "=":
            wanted.append(parsed.value)
        else:
            others.append(expression)
    return wanted, others


def _candidates(
    service: SearchService, viewer: Principal, query: str | None, filters: list[str], limit: int
) -> list[tuple[str, str]]:
    """(id, type) of the best documents for the query, or of the documents passing the filters."""
    if query:
        result = service.search(query, viewer=viewer, k=limit, by_doc=True, filters=filters)
        return [(hit.doc_id, hit.type) for hit in result.hits]
    page = catalog.list_documents(
        service.library, viewer=viewer, filters=filters, limit=catalog.MAX_PAGE_SIZE
    )
    return [(d.doc_id, d.type) for d in page.documents]


def select_documents(
    service: SearchService,
    *,
    viewer: Principal,
    doc_ids: list[str] | None = None,
    query: str | None = None,
    filters: list[str] | None = None,
    doc_type: str | None = None,
    limit: int = 20,
) -> TemplateSources:
    """The sources of a template: the given ids, or the best documents of one type for a query
    or a filter: `doc_type`, else the commonest of the filter's types among the hits (ties go to
    the better ranked), else the filter's first type."""
    if doc_ids:
        return TemplateSources(doc_ids)
    wanted, others = _type_filter(filters or [])
    candidates = _candidates(service, viewer, query, others, limit)
    types = dict(Counter(t for _, t in candidates).most_common())
    allowed = [t for t in types if t in wanted or not wanted] + wanted
    chosen = doc_type or next(iter(allowed), None)
    if chosen is None:
        return TemplateSources([], None, types)
    ranked = _candidates(service, viewer, query, [*others, f"type={chosen}"], limit)
    return TemplateSources([d for d, _ in ranked], chosen, types)


def save(library: Library, name: str, template: Template) -> SavedTemplate:
    """Keep a template under a name; saving the same name again makes a new version."""
    with library.session() as session:
        saved = store.save_template(
            session,
            template=SavedTemplate(
                name=name,
                sources=template.sources,
                content=template.to_json(),
                markdown=to_markdown(template),
            ),
        )
        session.commit()
        session.refresh(saved)
    return saved


def visible_to(library: Library, saved: SavedTemplate, viewer: Principal) -> bool:
    """A saved template carries its sources' text: it is visible when all of them are (a
    deleted source counts as unseen, except to those who see everything)."""
    if viewer.sees_everything:
        return True
    return catalog.visible_ids(library, saved.sources, viewer=viewer) == set(saved.sources)


def visible_templates(library: Library, *, viewer: Principal) -> list[SavedTemplate]:
    with library.session() as session:
        saved = list(store.list_templates(session))
    return [t for t in saved if visible_to(library, t, viewer)]


def fetch(
    library: Library, name: str, version: int | None = None, *, viewer: Principal
) -> SavedTemplate:
    """A saved template (the latest version by default) that the viewer may see."""
    with library.session() as session:
        saved = store.get_template(session, name=name, version=version)
    if saved is None or not visible_to(library, saved, viewer):
        raise NotFoundError(f"模板 {name}{f' 第 {version} 版' if version else ''} 不存在")
    return saved


def new_document(saved: SavedTemplate, values: dict[str, str]) -> str:
    """A new Markdown document from a template, with the slots it has values for filled in."""
    text = saved.markdown
    for slot, value in values.items():
        text = text.replace("{{" + slot + "}}", value)
    return text


def _family(library: Library, name: str, how: str, ids: list[str], viewer: Principal) -> dict:
    template = extract_template(library, ids, viewer=viewer)
    return {
        "name": name,
        "grouped_by": how,
        "documents": ids,
        "sections": [(s.name, s.support) for s in template.sections],
        "optional": [(s.name, s.support) for s in template.optional],
    }


def structure_signature(sections: list[SourceSection]) -> str:
    """The ordered section concepts of a document, e.g. 背景-目标-诊断-方案-实施-成效-经验."""
    concepts = [section_concept(s.heading) for s in sections]
    return "-".join(dict.fromkeys(c for c in concepts if c))


def propose_families(library: Library, *, viewer: Principal, min_documents: int = 3) -> list[dict]:
    """Template families of case records: by service type, and by identical section structure."""
    page = catalog.list_documents(
        library, viewer=viewer, filters=["type=case"], limit=catalog.MAX_PAGE_SIZE
    )
    by_label: dict[str, list[str]] = defaultdict(list)
    for document in page.documents:
        by_label[document.metadata.get("service_type", "未分类")].append(document.doc_id)
    families = [
        _family(library, f"{label}案例模板", f"service_type={label}", ids, viewer)
        for label, ids in sorted(by_label.items(), key=lambda item: -len(item[1]))
        if len(ids) >= min_documents
    ]
    by_structure: dict[str, list[str]] = defaultdict(list)
    for doc_id, sections in source_sections(library, [d.doc_id for d in page.documents]).items():
        by_structure[structure_signature(sections)].append(doc_id)
    families += [
        _family(library, f"结构相同的案例：{signature}", f"structure={signature}", ids, viewer)
        for signature, ids in sorted(by_structure.items(), key=lambda item: -len(item[1]))
        if signature and len(ids) >= min_documents
    ]
    return families
