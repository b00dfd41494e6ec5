"""Classification benchmark on FewCLUE TNEWS (few-shot news titles, 15 labels).

Builds a temporary library whose documents are the training texts with their label in front
matter, so that the product's own ingest and classification path is measured, and prints in
one run the dev accuracy (and macro-F1) of a TF-IDF + logistic-regression baseline, of
embedding kNN, and of the product.

    python bench/classify.py [--data-dir DIR] [--embedder e5] [--limit N]

Skips cleanly (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.sparse import csr_matrix, hstack  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from ingest.pipeline import ingest_paths  # noqa: E402
from kb.classify import Classifier, text_vectors  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library  # noqa: E402
from kb.text import TextPipeline  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "evaldata" / "fewclue" / "tnews"
FIELD = "label"


def read_lines(path: Path) -> list[dict]:
    """One JSON object per line, split on "\\n" only."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def label_names(path: Path) -> dict[str, str]:
    """label code -> Chinese name (the file's keys carry stray spaces)."""
    names = {}
    for row in read_lines(path):
        clean = {k.strip(): v for k, v in row.items()}
        names[str(clean["label"])] = clean["label_zh"]
    return names


def write_library(folder: Path, rows: list[dict], names: dict[str, str]) -> None:
    for row in rows:
        label = names[str(row["label"])]
        body = (
            f"---\nid: tnews-{row['id']}\ntype: case\n{FIELD}: {label}\n---\n\n{row['sentence']}\n"
        )
        (folder / f"{row['id']}.md").write_text(body, encoding="utf-8")


def scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    accuracy = float(np.mean([t == p for t, p in zip(truth, predicted, strict=True)]))
    return {
        "accuracy": round(accuracy, 4),
        "macro_f1": round(f1_score(truth, predicted, average="macro"), 4),
    }


def tfidf_features(train: list[dict], dev: list[dict]):
    vectorizer = TfidfVectorizer(analyzer=TextPipeline().index_tokens, sublinear_tf=True)
    return (
        vectorizer.fit_transform([r["sentence"] for r in train]),
        vectorizer.transform([r["sentence"] for r in dev]),
    )


def logistic(train_x, train_y: list[str], dev_x) -> list[str]:
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
    return list(model.fit(train_x, train_y).predict(dev_x))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--limit", type=int, default=0, help="only the first N dev texts")
    args = parser.parse_args()
    files = [
        args.data_dir / n
        for n in ("train_few_all.json", "dev_few_all.json", "label_index2en2zh.json")
    ]
    if not all(f.is_file() for f in files):
        print(f"skip: TNEWS files not found in {args.data_dir}; nothing measured")
        return 0
    train, dev, names = read_lines(files[0]), read_lines(files[1]), label_names(files[2])
    dev = dev[: args.limit] if args.limit else dev
    truth = [names[str(r["label"])] for r in dev]
    train_y = [names[str(r["label"])] for r in train]
    tfidf_train, tfidf_dev = tfidf_features(train, dev)
    results = {"tfidf+lr": scores(truth, logistic(tfidf_train, train_y, tfidf_dev))}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "docs"
        source.mkdir()
        write_library(source, train, names)
        library = Library(Settings(data_dir=Path(tmp) / "index", embedder=args.embedder))
        started = time.perf_counter()
        report = ingest_paths(library, [source])
        print(
            f"ingested {report.count('added')} training texts in {time.perf_counter() - started:.1f}s"
        )
        classifier = Classifier(library)
        started = time.perf_counter()
        classifier.trained(FIELD)
        print(f"trained in {time.perf_counter() - started:.1f}s")
        vectors = text_vectors(library, [r["sentence"] for r in dev])
        knn, classes = classifier._knn(classifier.examples(FIELD), vectors)
        results["embedding-knn"] = scores(truth, [classes[i] for i in knn.argmax(axis=1)])
        started = time.perf_counter()
        predictions = classifier.predict_texts(FIELD, [r["sentence"] for r in dev])
        seconds = time.perf_counter() - started
        results["product"] = scores(truth, [p.label for p in predictions])
        examples = classifier.examples(FIELD)
        order = {doc_id: i for i, doc_id in enumerate(examples.doc_ids)}
        rows = [order[f"tnews-{r['id']}"] for r in train]
        combined_train = hstack([csr_matrix(examples.vectors[rows]), tfidf_train]).tocsr()
        combined_dev = hstack([csr_matrix(vectors), tfidf_dev]).tocsr()
        results["embedding+tfidf (lexical features, measured)"] = scores(
            truth, logistic(combined_train, [examples.labels[i] for i in rows], combined_dev)
        )
    print(
        f"\n{len(train)} training texts, {len(dev)} dev texts, {len(names)} labels, embedder {args.embedder}"
    )
    print(f"product classified {len(dev)} texts in {seconds:.1f}s (embedding included)")
    for name, row in results.items():
        print(f"{name:>46} | accuracy {row['accuracy']:.4f} | macro-F1 {row['macro_f1']:.4f}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
