"""YAML front matter (``---`` blocks) and `<file>.meta.yaml` sidecars, normalised to plain values."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from kb.errors import DocumentError

SIDECAR_SUFFIX = ".meta.yaml"
MAX_FRONT_MATTER = 64 * 1024
_BLOCK = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [str(_plain(v)) for v in value if v is not None]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def parse_yaml_mapping(content: str, name: str) -> dict[str, Any]:
    """A YAML mapping with plain values; DocumentError with the reason otherwise."""
    if len(content) > MAX_FRONT_MATTER:
        raise DocumentError(f"{name}：front matter 超过 {MAX_FRONT_MATTER // 1024} KB，请精简")
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 2} 行" if mark else ""
        raise DocumentError(f"{name}：front matter {where} 不是合法的 YAML（{exc}）") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(f"{name}：front matter 必须是 “字段: 值” 的映射")
    meta = {str(k): _plain(v) for k, v in data.items()}
    if isinstance(meta.get("tags"), str):
        meta["tags"] = [t.strip() for t in re.split(r"[,，、]", meta["tags"]) if t.strip()]
    return meta


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a text; no block means an empty mapping."""
    match = _BLOCK.match(text)
    if not match:
        return {}, text
    return parse_yaml_mapping(match.group(1), name), text[match.end() :]


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict[str, Any]:
    """Metadata of `<file>.meta.yaml` next to a file (for DOCX, PDF, HTML)."""
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    return parse_yaml_mapping(side.read_text(encoding="utf-8", errors="replace"), side.name)
