"""Who may see and change what: principals with a role, the confidentiality levels they see
without a grant, and grants that open confidential documents to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.errors import PermissionDeniedError
from kb.filters import parse_filter

ROLES = ("reader", "editor", "admin")
LEVELS = ("public", "internal", "confidential")
LEVEL_ALIASES = {
    "公开": "public",
    "公開": "public",
    "内部": "internal",
    "內部": "internal",
    "机密": "confidential",
    "機密": "confidential",
    "保密": "confidential",
    "secret": "confidential",
}
ROLE_NAMES = {"reader": "读者", "editor": "编辑", "admin": "管理员"}


def normalize_level(value: object) -> str:
    """A front-matter confidentiality as one of LEVELS; unknown values are the strictest."""
    text = str(value or "internal").strip().lower()
    text = LEVEL_ALIASES.get(text, text)
    return text if text in LEVELS else "confidential"


def grant_matches(grant: str, doc_id: str, meta: dict[str, Any]) -> bool:
    """A grant is `*` (every confidential document), `field=value` or a document id."""
    if grant == "*":
        return True
    if "=" in grant or ":" in grant:
        return parse_filter(grant).matches(meta)
    return grant == doc_id


def validate_grant(grant: str) -> str:
    grant = grant.strip()
    if "=" in grant or ":" in grant:
        parse_filter(grant)
    return grant


@dataclass(frozen=True)
class Principal:
    """The caller: a named key with a role, or anonymous (role None, read-only)."""

    name: str
    role: str | None
    levels: frozenset[str] = frozenset({"public", "internal"})
    grants: tuple[str, ...] = field(default=())
    owner: bool = False  # the data directory's owner (the command line): sees server paths

    @property
    def sees_everything(self) -> bool:
        return "confidential" in self.levels or "*" in self.grants

    @property
    def scope(self) -> tuple:
        """What decides visibility; principals with equal scopes see the same documents."""
        return (self.levels, self.grants)

    def can_see(self, doc_id: str, meta: dict[str, Any]) -> bool:
        level = normalize_level(meta.get("confidentiality"))
        if level in self.levels:
            return True
        return level == "confidential" and any(grant_matches(g, doc_id, meta) for g in self.grants)

    def has_role(self, role: str) -> bool:
        return self.role is not None and ROLES.index(self.role) >= ROLES.index(role)

    def require(self, role: str) -> None:
        if not self.has_role(role):
            who = "匿名访问" if self.role is None else f"密钥 {self.name}（{self.role}）"
            raise PermissionDeniedError(
                f"{who} 无权执行此操作：需要 {role}（{ROLE_NAMES[role]}）或更高的角色，请联系管理员"
            )


def principal_for(name: str, role: str, grants: list[str] | tuple[str, ...] = ()) -> Principal:
    """A key's principal: admins see every level, others public and internal plus grants."""
    levels = frozenset(LEVELS) if role == "admin" else frozenset({"public", "internal"})
    return Principal(name, role, levels, tuple(grants))


def anonymous(mode: str) -> Principal | None:
    """The principal of a request without a key: None when anonymous reading is off."""
    if mode == "off":
        return None
    levels = frozenset({"public"}) if mode == "public" else frozenset({"public", "internal"})
    return Principal("anonymous", None, levels)


LOCAL = Principal("local", "admin", frozenset(LEVELS), owner=True)  # whoever holds the data dir
