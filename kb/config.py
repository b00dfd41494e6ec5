"""Settings of the library: one class, read from `KB_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb.indexfiles import MANIFEST

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """`indexes/` of the project checkout, whatever the current folder (so every terminal finds
    the same library); outside a checkout, the user's data folder."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "indexes"
    return Path.home() / ".local" / "share" / "kb"


class Settings(BaseSettings):
    """Every tunable of the library; `KB_DATA_DIR=/srv/kb` sets `data_dir`, and so on."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir, description="folder holding the database and indexes"
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    embedder: str = Field("e5", description="e5 | hash | st:<model name or folder>")
    embed_batch_size: int = Field(16, ge=1, description="texts per embedding call")
    chunk_chars: int = Field(400, ge=50, description="target maximum characters per chunk")
    fusion: Literal["rrf", "convex"] = Field(
        "convex", description="how hybrid mode fuses the sides"
    )
    rrf_k: int = Field(60, ge=1, description="rank constant of reciprocal rank fusion")
    lexical_weight: float = Field(1.0, ge=0, description="weight of the BM25 side in fusion")
    dense_weight: float = Field(1.0, ge=0, description="weight of the vector side in fusion")
    dense_floor: float | None = Field(
        None,
        description="similarity below which a passage sharing no word with the query is no hit; "
        "default: the embedder's calibrated floor",
    )
    candidates_factor: int = Field(10, ge=1, description="candidates per side = k x this")
    max_query_chars: int = Field(1000, ge=1, description="longest accepted query")
    max_k: int = Field(100, ge=1, description="largest accepted k")
    max_file_mb: float = Field(50.0, gt=0, description="larger files are refused at ingest")
    ann_threshold: int = Field(
        50_000, ge=1, description="from this many chunks on, vectors are searched with HNSW"
    )
    compact_deltas: int = Field(
        20, ge=1, description="deltas that make a background merge into a new base start"
    )
    compact_share: float = Field(
        0.1, gt=0, description="share of the chunks held by deltas that makes a merge start"
    )
    ef_search: int = Field(1024, ge=8, description="HNSW search breadth (recall against speed)")
    snippet_chars: int = Field(160, ge=20, description="length of a hit's snippet")
    suggest_fields: list[str] = Field(
        default_factory=lambda: ["industry", "service_type"],
        description="label fields suggested for documents that lack them",
    )
    facet_fields: list[str] = Field(
        default_factory=lambda: ["type", "industry", "service_type", "stage", "tags"],
        description="fields counted in facets",
    )

    engine: Literal["local", "milvus"] = Field(
        "local", description="where the search indexes live: files in data_dir, or Milvus"
    )
    milvus_uri: str | None = Field(
        None,
        description="Milvus address: a file path (embedded Milvus Lite, one process) or "
        "http://host:19530 (a server or cluster); default milvus.db in data_dir",
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus token or user:password")
    milvus_prefix: str = Field(
        "kb", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$", description="prefix of the collections"
    )
    milvus_timeout: float = Field(10.0, gt=0, description="seconds to wait for Milvus to answer")

    keys_file: Path | None = Field(None, description="API keys file; default keys.json in data_dir")
    anonymous: Literal["off", "public", "internal"] = Field(
        "internal", description="what a request without a key may read: nothing, public, internal"
    )
    session_hours: float = Field(12.0, gt=0, description="how long a browser login lasts")

    @property
    def has_library(self) -> bool:
        """Whether the data dir holds a library (built indexes, or the SQLite database) without
        creating anything; with another database, only built indexes count."""
        if (self.data_dir / MANIFEST).is_file():
            return True
        return self.database_url is None and self.sqlite_path.is_file()

    @property
    def keys_path(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "kb.sqlite"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
