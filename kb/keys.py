"""API keys: a JSON file of named keys, each stored as a SHA-256 hash with its role and grants;
the raw key is shown once, when it is made."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.access import ROLES, Principal, principal_for, validate_grant
from kb.errors import InvalidQueryError, NotFoundError

FORMAT_VERSION = 1
KEY_PREFIX = "kb_"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class KeyEntry:
    name: str
    role: str
    key_hash: str
    grants: list[str] = field(default_factory=list)
    created_at: str = ""

    def principal(self) -> Principal:
        return principal_for(self.name, self.role, self.grants)


class KeyStore:
    """The keys file; re-read when it changes, so `kb keys` takes effect in a running service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._entries: dict[str, KeyEntry] = {}

    def entries(self) -> dict[str, KeyEntry]:
        mtime = self.path.stat().st_mtime_ns if self.path.exists() else None
        if mtime != self._mtime:
            self._entries = self._read() if mtime is not None else {}
            self._mtime = mtime
        return self._entries

    def _read(self) -> dict[str, KeyEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = [KeyEntry(**item) for item in data["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidQueryError(
                f"密钥文件 {self.path} 无法读取（{exc}）：请修复或删除后用 kb keys add 重建"
            ) from exc
        return {e.name: e for e in entries}

    def _write(self, entries: dict[str, KeyEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format_version": FORMAT_VERSION, "keys": [asdict(e) for e in entries.values()]}
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
        os.replace(temporary, self.path)

    def add(self, name: str, role: str, grants: list[str] | None = None) -> str:
        """Make a key and return it (the only time it is visible)."""
        if role not in ROLES:
            raise InvalidQueryError(f"未知角色 {role!r}：可用 {', '.join(ROLES)}")
        if not name.strip() or any(c.isspace() for c in name):
            raise InvalidQueryError("密钥名称不能为空，也不能含空白")
        entries = dict(self.entries())
        if name in entries:
            raise InvalidQueryError(f"密钥 {name} 已存在：换个名称，或先 kb keys revoke {name}")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        entries[name] = KeyEntry(
            name=name,
            role=role,
            key_hash=hash_key(raw),
            grants=[validate_grant(g) for g in grants or []],
            created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        self._write(entries)
        return raw

    def revoke(self, name: str) -> None:
        entries = dict(self.entries())
        if entries.pop(name, None) is None:
            raise NotFoundError(f"密钥 {name} 不存在")
        self._write(entries)

    def set_grants(self, name: str, grants: list[str]) -> KeyEntry:
        entries = dict(self.entries())
        if name not in entries:
            raise NotFoundError(f"密钥 {name} 不存在")
        entries[name].grants = [validate_grant(g) for g in grants]
        self._write(entries)
        return entries[name]

    def find(self, raw: str) -> KeyEntry | None:
        """The entry of a raw key, compared in constant time."""
        wanted = hash_key(raw)
        found = None
        for entry in self.entries().values():
            if hmac.compare_digest(entry.key_hash, wanted):
                found = entry
        return found
