"""The case brief: from one pasted text about a new engagement, what the library knows — the
likely labels with their evidence, the most similar past cases and why, the SOP passages in
lifecycle order, the pitfalls from lessons learned and a draft skeleton — using only documents
the viewer may see, with the text embedded once for every part."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from pydantic import BaseModel, Field

from kb import store
from kb.access import Principal
from kb.chunking import chunk_text, sentence_spans
from kb.classify import Classifier, normalize_rows, saved_fields
from kb.errors import InvalidQueryError
from kb.filters import parse_filters
from kb.fusion import convex_fusion
from kb.highlight import find_spans, mark, snippet
from kb.library import passage_for_index
from kb.models import Chunk, SavedTemplate, SimilarDocument
from kb.packs import DEFAULT_OUTLINE, stage_section
from kb.search import SearchService
from kb.similar import Source, similar_to
from kb.slots import find_slots
from kb.templates import SLOT_FIELDS, extract_template, to_markdown, visible_templates
from kb.text import normalize_for_index

MAX_BRIEF_CHARS = 20_000
LABEL_FIELDS = ("industry", "service_type", "stage")
LABEL_NAMES = {"industry": "行业", "service_type": "服务类型", "stage": "阶段"}
LOW_CONFIDENCE = 0.5  # a predicted label below this probability is said to be uncertain
CASES = 5
STEPS = 8
PITFALLS = 4
PER_DOCUMENT = 2  # passages of one SOP or lesson at most
POOL = 60  # passages of each kind ranked before the cut
DISTINCT_CANDIDATES = 80  # the text's commonest words checked for how many documents hold them
COMMON_SHARE = 0.25
GAP_CASES = 3  # fewer cases than this of the predicted industry x service type is a gap
EXCERPT = 200
OUTCOME_WORDS = ("成效", "成果", "效果", "结果", "价值")
REMEDY_WORDS = ("建议", "教训", "启示", "对策", "做法")
CLIENT_PATTERN = re.compile(r"(?:客户|甲方|委托方)(?:是|为|[:：])\s*([^，,。；;（(\s]{2,30})")


class BriefLabel(BaseModel):
    """A predicted label field of the text, with runners-up and the nearest labelled cases."""

    field: str
    name: str = Field(description="the field's display name")
    label: str
    probability: float
    confident: bool = Field(description=f"probability at least {LOW_CONFIDENCE}")
    candidates: list[dict]
    evidence: list[dict] = Field(description="nearest labelled documents the viewer may see")


class BriefPassage(BaseModel):
    """A passage of the library placed in the brief, with where it comes from."""

    doc_id: str
    title: str
    chunk_id: int
    heading: str
    text: str = Field(description="an excerpt, HTML-escaped, the text's words in <mark>")
    section: str = Field("", description="the lifecycle section it is placed in (SOPs)")
    remedy: str = Field("", description="the lesson's own remedy (lessons learned)")
    remedy_heading: str = ""


class BriefCase(BaseModel):
    """A similar past case with the reasons, the best passage pairs and its outcome."""

    case: SimilarDocument
    pairs: list[dict] = Field(description="the brief's sentence and the case's passage, marked")
    outcome: BriefPassage | None = None


class BriefDraft(BaseModel):
    """The skeleton of the predicted service type, with the slots the text fills filled in."""

    origin: str = Field(description="saved: a saved template; extracted: from the similar cases")
    template: str = Field("", description="the saved template's name")
    sources: list[str]
    markdown: str
    filled: dict[str, str]
    found: dict[str, list[str]] = Field(description="every slot value the text gives")


class Brief(BaseModel):
    """Everything the library knows about a new engagement, for one viewer."""

    client: str | None = Field(description="the client as the text names it")
    labels: list[BriefLabel]
    cases: list[BriefCase]
    steps: list[BriefPassage]
    pitfalls: list[BriefPassage]
    draft: BriefDraft | None
    gaps: str | None = None
    notes: list[str] = Field(default_factory=list, description="what could not be done and why")
    took_ms: float = 0.0


@dataclass
class _Text:
    """The brief's text cut into passages as a document would be, embedded once."""

    text: str
    chunks: list[Chunk]
    vectors: np.ndarray  # one per chunk
    vector: np.ndarray  # the normalised mean: the text as a document
    words: set[str] = field(default_factory=set)  # its distinctive words, marked where shared


def _embedded(service: SearchService, text: str) -> _Text:
    if len(text) > MAX_BRIEF_CHARS:
        raise InvalidQueryError(
            f"文字太长（{len(text)} 字，上限 {MAX_BRIEF_CHARS}）：请只保留客户情况和需求部分"
        )
    pieces = chunk_text(text, service.settings.chunk_chars)
    if not pieces:
        raise InvalidQueryError("简报需要一段文字：粘贴客户情况、需求说明或会议纪要")
    chunks = [
        Chunk(
            doc_id="",
            ordinal=p.ordinal,
            heading=" > ".join(p.heading_path),
            start=p.start,
            end=p.end,
            text=p.text,
            tokens="",
        )
        for p in pieces
    ]
    passages = [passage_for_index("", c.heading, c.text) for c in chunks]
    vectors = np.asarray(service.library.embed_passages(passages), dtype=np.float32)
    for chunk in chunks:  # shown in the reasons: "简报 ↔ 客户诉求"
        chunk.heading = chunk.heading or "简报"
    return _Text(text, chunks, vectors, normalize_rows(vectors.mean(axis=0)))


@dataclass
class _Scope:
    """What the brief may draw on: the viewer's documents, less any left out (a held-out case)."""

    service: SearchService
    viewer: Principal
    exclude: frozenset[str]

    @cached_property
    def _seen(self) -> Callable[[str], bool]:
        return self.service.visibility(self.viewer)  # one mask lookup per id, not a snapshot

    def visible(self, doc_id: str) -> bool:
        return doc_id not in self.exclude and self._seen(doc_id)

    def documents(self, doc_type: str | None = None) -> np.ndarray:
        """Over document codes: the visible documents (of a type)."""
        snap = self.service.snapshot()
        wanted = parse_filters([f"type={doc_type}"] if doc_type else [])
        mask = self.service.matching_mask(snap, wanted, self.viewer).copy()
        for doc_id in self.exclude:
            if doc_id in snap.doc_codes:
                mask[snap.doc_codes[doc_id]] = False
        return mask


def _labels(
    classifier: Classifier, scope: _Scope, text: _Text
) -> tuple[list[BriefLabel], list[str]]:
    """Predicted industry, service type and stage, and any other field with a saved model that
    the viewer sees labelled documents of."""
    labels, notes = [], []
    fields = dict.fromkeys([*LABEL_FIELDS, *saved_fields(classifier.library)])
    for field_name in fields:
        name = LABEL_NAMES.get(field_name, field_name)
        if not any(scope.visible(d) for d in classifier.examples(field_name).doc_ids):
            if field_name in LABEL_FIELDS:
                notes.append(f"{name}：库中还没有可见的已标注文档，无法预测")
            continue
        [prediction] = classifier.predict_seen(
            field_name, text.vector.reshape(1, -1), is_visible=scope.visible
        )
        labels.append(
            BriefLabel(
                field=field_name,
                name=name,
                label=prediction.label,
                probability=prediction.probability,
                confident=prediction.probability >= LOW_CONFIDENCE,
                candidates=prediction.candidates,
                evidence=prediction.neighbours,
            )
        )
    return labels, notes


def _markable(word: str) -> bool:
    """A word worth marking: two characters or more, not a bare number."""
    return len(word) > 1 and not word.replace(".", "").isdigit()


def _words(service: SearchService, text: str) -> set[str]:
    return {w for w in service.library.text.words(normalize_for_index(text)) if _markable(w)}


def _distinctive(scope: _Scope, text: str) -> set[str]:
    """The text's words that few visible documents contain (at most COMMON_SHARE of them):
    the ones worth marking; 客户, 同时, 以内 are not."""
    service = scope.service
    snap = service.snapshot()
    visible = scope.documents()
    total = max(int(visible.sum()), 1)
    words = service.library.text.words(normalize_for_index(text))
    kept = set()
    for word, _ in Counter(w for w in words if _markable(w)).most_common(DISTINCT_CANDIDATES):
        codes = np.unique(snap.row_code[snap.lexical.scores([word]) > 0])
        if visible[codes[codes >= 0]].sum() <= COMMON_SHARE * total:
            kept.add(word)
    return kept


def _excerpt(text: str, words: set[str], width: int = EXCERPT) -> str:
    """A window of the text around the words it shares with the brief, those words marked."""
    return snippet(text, sorted(words, key=len, reverse=True), width=width)


def _best_sentence(
    service: SearchService, chunk: Chunk, target: str, distinctive: set[str]
) -> tuple[str, set[str]]:
    """The sentence of the brief's passage sharing the most distinctive words with a case's
    passage (the first of equals), and those words."""
    theirs = _words(service, target) & distinctive
    spans = sentence_spans(chunk.text, 0, len(chunk.text), EXCERPT) or [(0, len(chunk.text))]
    scored = [
        (len(_words(service, chunk.text[s:e]) & theirs), -i, s, e) for i, (s, e) in enumerate(spans)
    ]
    _, _, start, end = max(scored)
    sentence = chunk.text[start:end]
    return sentence, _words(service, sentence) & theirs


def _marked_pairs(scope: _Scope, text: _Text, case: SimilarDocument) -> list[dict]:
    """Each passage pair as the brief's sentence and the case's passage, shared words marked."""
    ids = [p["target"]["chunk_id"] for p in case.passage_pairs]
    with scope.service.library.session() as session:
        chunks = store.get_chunks(session, ids=ids)
    pairs = []
    for pair in case.passage_pairs:
        target = chunks[pair["target"]["chunk_id"]]
        mine = text.chunks[pair["source"]["ordinal"]]
        sentence, shared = _best_sentence(scope.service, mine, target.text, text.words)
        terms = sorted(shared, key=len, reverse=True)
        pairs.append(
            {
                "similarity": pair["similarity"],
                "sentence": mark(sentence, find_spans(sentence, terms)),
                "chunk_id": target.id,
                "heading": target.heading,
                "passage": _excerpt(target.text, shared),
                "shared_words": terms,
            }
        )
    return pairs


def _section_passage(
    service: SearchService, doc_id: str, words: tuple[str, ...], shared: set[str]
) -> BriefPassage | None:
    """The document's first passage under a heading naming one of the words (成效, 建议 …)."""
    with service.library.session() as session:
        chunks = list(store.chunks_of_document(session, doc_id=doc_id))
    for chunk in chunks:
        path = chunk.heading.split(" > ")
        section = path[1] if len(path) > 1 else path[0]  # the top section: 项目成效, 教训与建议
        if any(w in normalize_for_index(section) for w in words):
            title = service.snapshot().docs[doc_id].title
            return BriefPassage(
                doc_id=doc_id,
                title=title,
                chunk_id=chunk.id or 0,
                heading=chunk.heading,
                text=_excerpt(chunk.text, shared & _words(service, chunk.text)),
            )
    return None


def _cases(scope: _Scope, text: _Text, labels: list[BriefLabel]) -> list[BriefCase]:
    """The most similar visible cases, compared by the brief's predicted labels."""
    source = Source(text.chunks, text.vectors, {label.field: label.label for label in labels})
    found = similar_to(
        scope.service, source, viewer=scope.viewer, k=CASES, candidates=scope.documents("case")
    )
    return [
        BriefCase(
            case=case,
            pairs=_marked_pairs(scope, text, case),
            outcome=_section_passage(scope.service, case.doc_id, OUTCOME_WORDS, text.words),
        )
        for case in found
    ]


def _ranked(scope: _Scope, text: _Text, doc_type: str) -> list[int]:
    """Chunk ids of the visible documents of a type, best match for the whole text first (BM25
    on its tokens and the text's vector, fused as a hybrid search does)."""
    service = scope.service
    snap = service.snapshot()
    allowed = snap.row_mask(scope.documents(doc_type))
    if not allowed.any():
        return []
    tokens = service.library.text.query_tokens(text.text)
    lexical, _, _ = snap.lexical.top(tokens, POOL, allowed)
    dense = snap.vectors.search(text.vector, POOL, allowed)
    weights = (service.settings.lexical_weight, service.settings.dense_weight)
    return [chunk_id for chunk_id, _ in convex_fusion(lexical, dense, weights)]


def _passages(scope: _Scope, text: _Text, doc_type: str, count: int) -> list[BriefPassage]:
    """The best passages of a type, at most PER_DOCUMENT from one document."""
    service = scope.service
    snap = service.snapshot()
    ranked = _ranked(scope, text, doc_type)
    with service.library.session() as session:
        chunks = store.get_chunks(session, ids=ranked)
    picked: list[BriefPassage] = []
    per_document: dict[str, int] = {}
    for chunk_id in ranked:
        chunk = chunks.get(chunk_id)
        if chunk is None or per_document.get(chunk.doc_id, 0) >= PER_DOCUMENT:
            continue
        per_document[chunk.doc_id] = per_document.get(chunk.doc_id, 0) + 1
        picked.append(
            BriefPassage(
                doc_id=chunk.doc_id,
                title=snap.docs[chunk.doc_id].title,
                chunk_id=chunk_id,
                heading=chunk.heading,
                text=_excerpt(chunk.text, text.words & _words(service, chunk.text)),
            )
        )
        if len(picked) == count:
            break
    return picked


def _steps(scope: _Scope, text: _Text) -> list[BriefPassage]:
    """SOP passages for the text, in the lifecycle outline of the packs (by the SOP's stage)."""
    snap = scope.service.snapshot()
    steps = _passages(scope, text, "sop", STEPS)
    for step in steps:
        stage = snap.meta[step.doc_id].get("stage")
        step.section = stage_section(stage, DEFAULT_OUTLINE) or DEFAULT_OUTLINE[1]
    order = {name: i for i, name in enumerate(DEFAULT_OUTLINE)}
    return sorted(steps, key=lambda step: order[step.section])  # stable: best first within


def _pitfalls(scope: _Scope, text: _Text) -> list[BriefPassage]:
    """Lessons learned that match the text: the matching passage and the lesson's remedy."""
    pitfalls = []
    seen: set[str] = set()
    for passage in _passages(scope, text, "lesson", PITFALLS * PER_DOCUMENT):
        if passage.doc_id in seen:
            continue
        seen.add(passage.doc_id)
        remedy = _section_passage(scope.service, passage.doc_id, REMEDY_WORDS, text.words)
        if remedy is not None and remedy.chunk_id != passage.chunk_id:
            passage.remedy, passage.remedy_heading = remedy.text, remedy.heading
        pitfalls.append(passage)
    return pitfalls[:PITFALLS]


def _predicted(labels: list[BriefLabel], field_name: str) -> str | None:
    return next((label.label for label in labels if label.field == field_name), None)


def _saved_template(scope: _Scope, service_type: str) -> SavedTemplate | None:
    """A saved template the viewer may see whose sources are cases mostly of the service type."""
    library = scope.service.library
    meta = scope.service.snapshot().meta
    for saved in reversed(visible_templates(library, viewer=scope.viewer)):
        sources = [meta.get(d, {}) for d in saved.sources if d not in scope.exclude]
        if len(sources) < len(saved.sources):
            continue
        kinds = Counter((m.get("type"), m.get("service_type")) for m in sources)
        if kinds and kinds.most_common(1)[0][0] == ("case", service_type):
            return saved
    return None


def _client(text: str, found: dict[str, list[str]]) -> str | None:
    """The client as the text names it: an organisation, or what follows 客户是 / 甲方为."""
    if found.get("机构名称"):
        return found["机构名称"][0]
    named = CLIENT_PATTERN.search(text)
    return named.group(1) if named else None


def _found_slots(text: str) -> dict[str, list[str]]:
    """Every slot value in the text (organisations, people, dates, amounts …), by slot."""
    found: dict[str, list[str]] = {}
    for start, end, name in find_slots(text):
        values = found.setdefault(name, [])
        if text[start:end] not in values:
            values.append(text[start:end])
    return found


def _front_values(
    found: dict[str, list[str]], client: str | None, labels: list[BriefLabel]
) -> dict[str, str]:
    """The front-matter slots the text and the confident labels fill: client, industry,
    service type, stage, and the date when the text has one."""
    filled = {SLOT_FIELDS["date"]: found["日期"][0]} if len(found.get("日期", [])) == 1 else {}
    if client:
        filled[SLOT_FIELDS["client"]] = client
    for label in labels:
        if label.field in SLOT_FIELDS and label.confident:
            filled[SLOT_FIELDS[label.field]] = label.label
    return filled


def _known_block(found: dict[str, list[str]]) -> str:
    """What the text says, for the writer to use (guidance quotes other cases: not filled)."""
    facts = "；".join(f"{name} {'、'.join(values)}" for name, values in found.items())
    return f"> 简报原文中的信息：{facts}\n\n" if facts else ""


def _draft(
    scope: _Scope, labels: list[BriefLabel], cases: list[BriefCase], filled: dict, found: dict
) -> BriefDraft | None:
    """The template of the predicted service type: a saved one, else one extracted from the
    similar cases (of that service type when two or more are among them)."""
    service_type = _predicted(labels, "service_type")
    saved = _saved_template(scope, service_type) if service_type else None
    if saved is not None:
        origin, name, sources, markdown = "saved", saved.name, saved.sources, saved.markdown
    else:
        ids = [c.case.doc_id for c in cases]
        same = [c.case.doc_id for c in cases if c.case.metadata.get("service_type") == service_type]
        sources = same if len(same) >= 2 else ids[:3]
        if len(sources) < 2:
            return None
        template = extract_template(scope.service.library, sources, viewer=scope.viewer)
        origin, name, markdown = "extracted", "", to_markdown(template)
    markdown, used = _filled(markdown, filled, found)
    return BriefDraft(
        origin=origin, template=name, sources=sources, markdown=markdown, filled=used, found=found
    )


def _filled(markdown: str, filled: dict, found: dict) -> tuple[str, dict[str, str]]:
    """The template with its front-matter slots filled and what the text says under the title;
    the guidance quotes other cases, so its slots stay open."""
    head, _, body = markdown.partition("\n---\n")
    used = {slot: value for slot, value in filled.items() if "{{" + slot + "}}" in head}
    for slot, value in used.items():
        head = head.replace('"{{' + slot + '}}"', value).replace("{{" + slot + "}}", value)
    title, _, rest = body.partition("\n\n")
    return f"{head}\n---\n{title}\n\n{_known_block(found)}{rest}", used


def _gaps(scope: _Scope, labels: list[BriefLabel]) -> str | None:
    """Said when the library has few visible cases of the predicted industry x service type."""
    industry, service_type = _predicted(labels, "industry"), _predicted(labels, "service_type")
    if industry is None or service_type is None:
        return None
    snap = scope.service.snapshot()
    visible_cases = scope.documents("case")
    cases = [d for d, code in snap.doc_codes.items() if visible_cases[code]]
    both = sum(
        snap.meta[d].get("industry") == industry
        and snap.meta[d].get("service_type") == service_type
        for d in cases
    )
    if both >= GAP_CASES:
        return None
    same_industry = sum(snap.meta[d].get("industry") == industry for d in cases)
    same_type = sum(snap.meta[d].get("service_type") == service_type for d in cases)
    return (
        f"库中「{industry} × {service_type}」的案例只有 {both} 个（同行业 {same_industry} 个，"
        f"同服务类型 {same_type} 个）：下面的相似案例和模板参考价值有限，做完后请把这个项目沉淀为案例"
    )


def make_brief(
    service: SearchService,
    classifier: Classifier,
    text: str,
    *,
    viewer: Principal,
    exclude: frozenset[str] = frozenset(),
) -> Brief:
    """The brief of a text for a viewer; `exclude` leaves documents out as if unseen."""
    started = time.perf_counter()
    scope = _Scope(service, viewer, frozenset(exclude))
    embedded = _embedded(service, text)
    embedded.words = _distinctive(scope, embedded.text)
    labels, notes = _labels(classifier, scope, embedded)
    cases = _cases(scope, embedded, labels)
    found = _found_slots(embedded.text)
    client = _client(embedded.text, found)
    filled = _front_values(found, client, labels)
    return Brief(
        client=client,
        labels=labels,
        cases=cases,
        steps=_steps(scope, embedded),
        pitfalls=_pitfalls(scope, embedded),
        draft=_draft(scope, labels, cases, filled, found),
        gaps=_gaps(scope, labels),
        notes=notes,
        took_ms=round((time.perf_counter() - started) * 1000, 1),
    )
