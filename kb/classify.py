"""Case classification per label field: trained from human labels, calibrated probabilities,
nearest labelled documents as the explanation; a nearest-neighbour fallback for fields with very
few examples and a zero-shot fallback (label names and descriptions) for fields with none.
Models are plain files in `<data dir>/classifiers/` and retrain when the labelled set changes."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from kb import store
from kb.chunking import chunk_text
from kb.errors import InvalidQueryError
from kb.library import Library, passage_for_index
from kb.search import document_metadata

if TYPE_CHECKING:  # scikit-learn is imported when a model is first trained, not with the CLI
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

MODEL_DIR = "classifiers"
LABELS_FILE = "labels.yaml"
FORMAT_VERSION = 1
MIN_FOR_MODEL = 8  # fewer labelled documents (or a single class): nearest neighbours
NEIGHBOURS = 5
NEIGHBOUR_POOL = 10  # kept with a prediction, so each viewer can be shown 3 it may see
EXPLAINED = 3
ZERO_SHOT_TEMPERATURE = 0.02
DEFAULT_C = 5.0
C_GRID = (1.0, 2.0, 5.0, 10.0, 20.0)
FREE_TEXT_FIELDS = {"title", "client", "date", "id"}
SEEN_MODELS = 64  # models fitted for viewers who see part of the labelled documents, kept


@dataclass
class Prediction:
    """A predicted label with its probability, the runners-up and the evidence."""

    field: str
    label: str
    probability: float
    method: str
    candidates: list[dict] = field(default_factory=list)
    neighbours: list[dict] = field(default_factory=list)


@dataclass
class Examples:
    """The human-labelled documents of one field."""

    doc_ids: list[str]
    titles: list[str]
    labels: list[str]
    vectors: np.ndarray

    def fingerprint(self, embedder_id: str) -> str:
        digest = hashlib.sha1(embedder_id.encode())
        for doc_id, label in sorted(zip(self.doc_ids, self.labels, strict=True)):
            digest.update(f"{doc_id}\t{label}\n".encode())
        return digest.hexdigest()[:16]


def label_fields(
    library: Library, *, is_visible: Callable[[str], bool] = lambda _doc_id: True
) -> dict[str, dict[str, int]]:
    """Fields that look like labels (short, repeated values), with each label's count over the
    documents a viewer may see."""
    counts: dict[str, Counter[str]] = {}
    with library.session() as session:
        for document in store.list_documents(session):
            if not is_visible(document.id):
                continue
            for name, value in document_metadata(document).items():
                if isinstance(value, str) and name not in FREE_TEXT_FIELDS and len(value) <= 30:
                    counts.setdefault(name, Counter())[value] += 1
    return {
        name: dict(c.most_common())
        for name, c in sorted(counts.items())
        if len(c) < sum(c.values()) or len(c) <= 1
    }


def label_descriptions(library: Library) -> dict[str, dict[str, str]]:
    """The optional `labels.yaml` of the data dir: {field: {label: description}}."""
    path = library.data_dir / LABELS_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(f): {str(k): str(v or "") for k, v in (d or {}).items()} for f, d in data.items()}


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def document_vectors(library: Library, doc_ids: list[str] | None = None) -> dict[str, np.ndarray]:
    """Each document's vector: the normalised mean of its stored passage vectors."""
    with library.session() as session:
        stored = store.document_vectors(session, doc_ids=doc_ids)
    return {
        doc_id: normalize_rows(
            np.mean([np.frombuffer(v, dtype=np.float32) for v in vectors], axis=0)
        )
        for doc_id, vectors in stored.items()
    }


def examples_for(
    library: Library, field_name: str, vectors: dict[str, np.ndarray] | None = None
) -> Examples:
    """Documents with a human label in the field, with their document vectors."""
    vectors = document_vectors(library) if vectors is None else vectors
    with library.session() as session:
        documents = store.list_documents(session)
    rows = [
        (d.id, d.title, str(document_metadata(d)[field_name]))
        for d in documents
        if isinstance(document_metadata(d).get(field_name), str) and d.id in vectors
    ]
    matrix = (
        np.stack([vectors[r[0]] for r in rows]) if rows else np.zeros((0, library.embedder.dim))
    )
    return Examples([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], matrix)


def text_vectors(library: Library, texts: list[str]) -> np.ndarray:
    """Vectors of texts made the way a document's is: the mean of its passage vectors."""
    passages: list[str] = []
    owners: list[int] = []
    for i, text in enumerate(texts):
        chunks = chunk_text(text, library.settings.chunk_chars)
        if not chunks:
            raise InvalidQueryError(f"第 {i + 1} 段要分类的文本为空")
        for chunk in chunks:
            passages.append(passage_for_index("", " > ".join(chunk.heading_path), chunk.text))
            owners.append(i)
    embedded = library.embed_passages(passages)
    sums = np.zeros((len(texts), embedded.shape[1]), dtype=np.float32)
    np.add.at(sums, np.asarray(owners), embedded)
    return normalize_rows(sums)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass
class LinearModel:
    """Class-balanced logistic regression on document vectors, temperature-calibrated."""

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str]) -> LinearModel:
        strength = _choose_strength(vectors, np.asarray(labels))
        model = _logistic(strength).fit(vectors, labels)
        temperature = _fit_temperature(vectors, np.asarray(labels), strength)
        return cls([str(c) for c in model.classes_], model.coef_, model.intercept_, temperature)

    @classmethod
    def fit_fixed(cls, vectors: np.ndarray, labels: list[str], temperature: float) -> LinearModel:
        """One fit at the default strength with a given temperature."""
        model = _logistic().fit(vectors, labels)
        return cls([str(c) for c in model.classes_], model.coef_, model.intercept_, temperature)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.coef.T + self.intercept
        if len(self.classes) == 2:
            logits = np.column_stack([-logits[:, 0], logits[:, 0]]) / 2
        return _softmax(logits / self.temperature)


def _logistic(strength: float = DEFAULT_C) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression  # on first training: a second to import

    return LogisticRegression(C=strength, class_weight="balanced", max_iter=3000)


def _folds(count: int) -> StratifiedKFold:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(count, shuffle=True, random_state=0)


def _choose_strength(vectors: np.ndarray, labels: np.ndarray) -> float:
    """The inverse regularisation C with the best stratified cross-validated accuracy on the
    training labels (the default when there are too few examples per label to tell)."""
    folds = min(5, min(Counter(labels.tolist()).values()))
    if folds < 3 or len(labels) < 30:
        return DEFAULT_C
    from sklearn.model_selection import cross_val_score

    splitter = _folds(folds)
    scores = {c: cross_val_score(_logistic(c), vectors, labels, cv=splitter).mean() for c in C_GRID}
    return max(C_GRID, key=lambda c: (scores[c], -c))


def _fit_temperature(vectors: np.ndarray, labels: np.ndarray, strength: float) -> float:
    """The temperature that minimises the log-loss of out-of-fold predictions."""
    folds = min(3, min(Counter(labels.tolist()).values()))
    if folds < 2:
        return 1.0
    logits = np.zeros((len(labels), len(set(labels.tolist()))))
    classes = sorted(set(labels.tolist()))
    for train, test in _folds(folds).split(vectors, labels):
        model = _logistic(strength).fit(vectors[train], labels[train])
        raw = model.decision_function(vectors[test])
        raw = np.column_stack([-raw / 2, raw / 2]) if raw.ndim == 1 else raw
        columns = [classes.index(c) for c in model.classes_]
        logits[np.ix_(test, columns)] = raw
    truth = np.asarray([classes.index(c) for c in labels])
    grid = np.exp(np.linspace(np.log(0.01), np.log(10), 61))
    losses = [
        -np.log(_softmax(logits / t)[np.arange(len(truth)), truth] + 1e-12).mean() for t in grid
    ]
    return float(grid[int(np.argmin(losses))])


def _model_paths(library: Library, field_name: str) -> tuple[Path, Path]:
    folder = library.data_dir / MODEL_DIR
    stem = hashlib.sha1(field_name.encode()).hexdigest()[:12]
    return folder / f"{stem}.json", folder / f"{stem}.npz"


def saved_fields(library: Library) -> list[str]:
    """The fields a model has been saved for."""
    folder = library.data_dir / MODEL_DIR
    described = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [json.loads(p.read_text(encoding="utf-8"))["field"] for p in described]


def save_model(library: Library, field_name: str, meta: dict, model: LinearModel | None) -> None:
    """Write the model's arrays and its description (no pickle), description last."""
    meta_path, array_path = _model_paths(library, field_name)
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    if model is not None:
        tmp = array_path.with_suffix(".tmp.npz")
        np.savez(tmp, coef=model.coef, intercept=model.intercept)
        tmp.replace(array_path)
        meta = {**meta, "classes": model.classes, "temperature": model.temperature}
    tmp_meta = meta_path.with_suffix(".tmp")
    tmp_meta.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp_meta.replace(meta_path)


def load_model(library: Library, field_name: str) -> tuple[dict, LinearModel | None] | None:
    meta_path, array_path = _model_paths(library, field_name)
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        return None
    if meta["method"] != "model":
        return meta, None
    arrays = np.load(array_path)
    model = LinearModel(meta["classes"], arrays["coef"], arrays["intercept"], meta["temperature"])
    return meta, model


class Classifier:
    """Predicts label fields for texts and documents; trains or retrains on demand."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._examples: dict[str, Examples] = {}
        self._models: dict[str, tuple[dict, LinearModel | None]] = {}
        self._vectors: dict[str, np.ndarray] | None = None
        self._generation: str | None = None
        self._seen_models: dict[tuple[str, str], tuple[str, LinearModel | None]] = {}

    def _follow_library(self) -> None:
        """Drop the caches once any process has changed the library: every change builds a new
        index generation (several `kb serve` workers each have a classifier)."""
        manifest = self.library.manifest()
        generation = manifest.state if manifest else ""
        if generation != self._generation:
            self.forget()
            self._generation = generation

    def document_vectors(self) -> dict[str, np.ndarray]:
        """Every document's vector, read once per index generation, shared by all fields."""
        self._follow_library()
        if self._vectors is None:
            self._vectors = document_vectors(self.library)
        return self._vectors

    def examples(self, field_name: str) -> Examples:
        self._follow_library()
        if field_name not in self._examples:
            self._examples[field_name] = examples_for(
                self.library, field_name, self.document_vectors()
            )
        return self._examples[field_name]

    def forget(self) -> None:
        """Drop cached vectors and examples (after labels changed); models retrain when used."""
        self._examples.clear()
        self._vectors = None

    def trained(self, field_name: str) -> tuple[dict, LinearModel | None]:
        """The field's model, retrained when the labelled set differs from the saved one."""
        self.refresh(field_name)
        return self._models[field_name]

    def at_hand(self, field_name: str) -> tuple[dict, LinearModel | None]:
        """The field's model in memory or saved, even if the labelled set changed since it was
        trained (for suggestions that should not wait for training)."""
        cached = self._models.get(field_name) or load_model(self.library, field_name)
        if cached is None:
            raise InvalidQueryError(f"字段 {field_name} 的分类模型还没有训练")
        self._models[field_name] = cached
        return cached

    def refresh(self, field_name: str) -> bool:
        """Make the field's model match its labelled set: kept, loaded from the file another
        classifier (or process) saved, or trained; whether it had to train."""
        examples = self.examples(field_name)
        fingerprint = examples.fingerprint(self.library.embedder.id)
        cached = self._models.get(field_name)
        if cached is None or cached[0]["fingerprint"] != fingerprint:
            cached = load_model(self.library, field_name)
        trains = cached is None or cached[0]["fingerprint"] != fingerprint
        if trains:
            cached = self._train(field_name, examples, fingerprint)
        self._models[field_name] = cached
        return trains

    def _train(
        self, field_name: str, examples: Examples, fingerprint: str
    ) -> tuple[dict, LinearModel | None]:
        counts = Counter(examples.labels)
        method, model = self._fit(examples.labels, examples.vectors)
        meta = {
            "format_version": FORMAT_VERSION,
            "field": field_name,
            "method": method,
            "fingerprint": fingerprint,
            "embedder": self.library.embedder.id,
            "examples": len(examples.labels),
            "labels": dict(counts),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        save_model(self.library, field_name, meta, model)
        return meta, model

    def predict_texts(
        self,
        field_name: str,
        texts: list[str],
        *,
        is_visible: Callable[[str], bool] | None = None,
    ) -> list[Prediction]:
        vectors = text_vectors(self.library, texts)
        return self.predict_vectors(field_name, vectors, is_visible=is_visible)

    def predict_vectors(
        self,
        field_name: str,
        vectors: np.ndarray,
        *,
        is_visible: Callable[[str], bool] | None = None,
        stale_ok: bool = False,
    ) -> list[Prediction]:
        """Predictions for document or text vectors; with `is_visible`, only labels the viewer
        can see on some document (or in labels.yaml) and neighbours it may see are given; with
        `stale_ok`, from the model at hand instead of one retrained for the current labels."""
        meta, model = self.at_hand(field_name) if stale_ok else self.trained(field_name)
        examples = self.examples(field_name)
        return self._predict(field_name, meta["method"], model, examples, vectors, is_visible)

    def predict_seen(
        self, field_name: str, vectors: np.ndarray, *, is_visible: Callable[[str], bool]
    ) -> list[Prediction]:
        """Predictions that no document hidden from the viewer shapes: the field's model (as
        trained, or at hand) when the viewer sees every labelled document, else one fitted on
        the labelled documents it sees (kept per such set)."""
        examples = self.examples(field_name)
        seen = [i for i, d in enumerate(examples.doc_ids) if is_visible(d)]
        at_hand = self._at_hand_or_none(field_name)
        if len(seen) == len(examples.doc_ids):
            stale_ok = at_hand is not None
            return self.predict_vectors(
                field_name, vectors, is_visible=is_visible, stale_ok=stale_ok
            )
        subset = Examples(
            [examples.doc_ids[i] for i in seen],
            [examples.titles[i] for i in seen],
            [examples.labels[i] for i in seen],
            examples.vectors[seen],
        )
        key = (field_name, subset.fingerprint(self.library.embedder.id))
        if len(self._seen_models) >= SEEN_MODELS:
            self._seen_models.clear()
        if key not in self._seen_models:
            full = at_hand[1] if at_hand else None
            self._seen_models[key] = self._fit_quickly(subset, full.temperature if full else 1.0)
        method, model = self._seen_models[key]
        return self._predict(field_name, method, model, subset, vectors, is_visible)

    def _at_hand_or_none(self, field_name: str) -> tuple[dict, LinearModel | None] | None:
        try:
            return self.at_hand(field_name)
        except InvalidQueryError:
            return None

    @staticmethod
    def _method(labels: list[str]) -> str:
        """What a labelled set allows: a model, nearest neighbours, or zero-shot (none)."""
        if len(labels) >= MIN_FOR_MODEL and len(set(labels)) >= 2:
            return "model"
        return "knn" if labels else "zero-shot"

    def _fit(self, labels: list[str], vectors: np.ndarray) -> tuple[str, LinearModel | None]:
        method = self._method(labels)
        return method, LinearModel.fit(vectors, labels) if method == "model" else None

    def _fit_quickly(self, subset: Examples, temperature: float) -> tuple[str, LinearModel | None]:
        """A model of part of the labelled documents: one fit at the default strength with the
        field's own model's temperature (no cross-validation: a viewer waits for it)."""
        method = self._method(subset.labels)
        if method != "model":
            return method, None
        return method, LinearModel.fit_fixed(subset.vectors, subset.labels, temperature)

    def _predict(
        self,
        field_name: str,
        method: str,
        model: LinearModel | None,
        examples: Examples,
        vectors: np.ndarray,
        is_visible: Callable[[str], bool] | None,
    ) -> list[Prediction]:
        if method == "model" and model is not None:
            probabilities, classes = model.probabilities(vectors), model.classes
        elif method == "knn":
            probabilities, classes = self._knn(examples, vectors)
        else:
            probabilities, classes = self._zero_shot(field_name, vectors)
        if is_visible is not None:
            probabilities = self._visible_labels_only(
                field_name, examples, classes, probabilities, is_visible
            )
        predictions = [
            self._prediction(field_name, method, classes, p, v, examples)
            for p, v in zip(probabilities, vectors, strict=True)
        ]
        if is_visible is None:
            return predictions
        return [for_viewer(p, is_visible) for p in predictions]

    def _visible_labels_only(
        self,
        field_name: str,
        examples: Examples,
        classes: list[str],
        probabilities: np.ndarray,
        is_visible: Callable[[str], bool],
    ) -> np.ndarray:
        """Probabilities renormalised over the labels a viewer may know of."""
        known = {
            label
            for d, label in zip(examples.doc_ids, examples.labels, strict=True)
            if is_visible(d)
        } | set(label_descriptions(self.library).get(field_name, {}))
        keep = np.asarray([c in known for c in classes], dtype=float)
        if not keep.any():
            raise InvalidQueryError(f"字段 {field_name} 还没有你可见的已标注文档，无法分类")
        masked = probabilities * keep
        totals = masked.sum(axis=1, keepdims=True)
        uniform = keep / keep.sum()
        return np.where(totals > 0, masked / np.where(totals > 0, totals, 1), uniform)

    @staticmethod
    def _knn(examples: Examples, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        classes = sorted(set(examples.labels))
        labels = np.asarray([classes.index(label) for label in examples.labels])
        sims = vectors @ examples.vectors.T
        out = np.zeros((len(vectors), len(classes)))
        for row, sim in enumerate(sims):
            for i in np.argsort(-sim)[:NEIGHBOURS]:
                out[row, labels[i]] += max(float(sim[i]), 0.0) + 1e-6
        return out / out.sum(axis=1, keepdims=True), classes

    def _zero_shot(self, field_name: str, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        described = label_descriptions(self.library).get(field_name, {})
        if not described:
            raise InvalidQueryError(
                f"字段 {field_name} 还没有任何人工标注，也没有在 {LABELS_FILE} 中列出候选标签："
                f"请先标注几篇文档，或在数据目录的 {LABELS_FILE} 中写出 {field_name} 的标签与说明"
            )
        classes = list(described)
        names = [f"{label}：{text}" if text else label for label, text in described.items()]
        label_vectors = normalize_rows(self.library.embedder.embed_passages(names))
        return _softmax((vectors @ label_vectors.T) / ZERO_SHOT_TEMPERATURE), classes

    @staticmethod
    def _prediction(
        field_name: str,
        method: str,
        classes: list[str],
        probs: np.ndarray,
        vector: np.ndarray,
        examples: Examples,
    ) -> Prediction:
        order = np.argsort(-probs)
        candidates = [
            {"label": classes[i], "probability": round(float(probs[i]), 4)}
            for rank, i in enumerate(order[:3])
            if rank == 0 or probs[i] > 0
        ]
        neighbours = []
        if len(examples.labels):
            sims = examples.vectors @ vector
            for i in np.argsort(-sims)[:NEIGHBOUR_POOL]:
                neighbours.append(
                    {
                        "doc_id": examples.doc_ids[i],
                        "title": examples.titles[i],
                        "label": examples.labels[i],
                        "similarity": round(float(sims[i]), 4),
                    }
                )
        best = candidates[0]
        return Prediction(
            field_name, best["label"], best["probability"], method, candidates, neighbours
        )


def visible_neighbours(neighbours: list[dict], is_visible: Callable[[str], bool]) -> list[dict]:
    """The explaining neighbours a viewer may see: documents it cannot see are left out."""
    return [n for n in neighbours if is_visible(n["doc_id"])][:EXPLAINED]


def for_viewer(prediction: Prediction, is_visible: Callable[[str], bool]) -> Prediction:
    return replace(prediction, neighbours=visible_neighbours(prediction.neighbours, is_visible))


def evaluate(classifier: Classifier, field_name: str, folds: int = 5) -> dict:
    """Stratified k-fold accuracy, macro-F1 and the most confused label pairs of a field."""
    from sklearn.metrics import f1_score

    examples = classifier.examples(field_name)
    labels = np.asarray(examples.labels)
    smallest = min(Counter(examples.labels).values(), default=0)
    folds = min(folds, smallest)
    if folds < 2 or len(set(examples.labels)) < 2:
        raise InvalidQueryError(
            f"字段 {field_name} 的人工标注太少（每个标签至少要 2 篇）才能做交叉验证"
        )
    predicted = np.empty(len(labels), dtype=object)
    splitter = _folds(folds)
    for train, test in splitter.split(examples.vectors, labels):
        model = LinearModel.fit(examples.vectors[train], labels[train].tolist())
        probabilities = model.probabilities(examples.vectors[test])
        predicted[test] = [model.classes[i] for i in probabilities.argmax(axis=1)]
    confusions = Counter((t, p) for t, p in zip(labels, predicted, strict=True) if t != p)
    return {
        "field": field_name,
        "documents": len(labels),
        "labels": len(set(examples.labels)),
        "folds": folds,
        "accuracy": round(float((predicted == labels).mean()), 4),
        "macro_f1": round(float(f1_score(labels, predicted.astype(str), average="macro")), 4),
        "confused": [
            {"true": str(t), "predicted": str(p), "count": n}
            for (t, p), n in confusions.most_common(5)
        ],
    }
