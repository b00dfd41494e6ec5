"""Jinja templates of the browser page (autoescaped) and the error page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kb.access import ROLE_NAMES, Principal, normalize_level
from kb.errors import InvalidFilterError
from kb.filters import parse_filter

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

FIELD_LABELS = {
    "type": "类型",
    "industry": "行业",
    "service_type": "服务类型",
    "stage": "阶段",
    "tags": "标签",
    "client": "客户",
    "date": "日期",
    "confidentiality": "密级",
    "title": "标题",
}
TYPE_LABELS = {"case": "案例", "sop": "SOP", "lesson": "经验教训"}
VALUE_LABELS = {
    "type": TYPE_LABELS,
    "confidentiality": {"public": "公开", "internal": "内部", "confidential": "机密"},
}


def value_label(field: str, value: object) -> str:
    """How a field value is shown (``case`` -> ``案例``); lists are joined with 、."""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return VALUE_LABELS.get(field, {}).get(str(value), str(value))


OPERATORS = {"=": "：", "!=": " ≠ ", ">=": " ≥ ", "<=": " ≤ ", ">": " > ", "<": " < "}


def filter_label(expression: str) -> str:
    """A filter as the sidebar names it (``industry:零售`` -> ``行业：零售``)."""
    try:
        condition = parse_filter(expression)
    except InvalidFilterError:
        return expression
    name = FIELD_LABELS.get(condition.field, condition.field)
    value = value_label(condition.field, condition.value)
    return f"{name}{OPERATORS[condition.op]}{value}"


def viewer(request: Request) -> Principal | None:
    """Who the page is for (None where the route did not ask)."""
    return getattr(request.state, "principal", None)


def viewer_can(request: Request, role: str) -> bool:
    """Whether the viewer holds the role: pages show only the actions they may take."""
    principal = viewer(request)
    return principal is not None and principal.has_role(role)


def shows_levels(request: Request) -> bool:
    """Confidentiality badges are for viewers who can see confidential documents at all."""
    principal = viewer(request)
    return principal is not None and ("confidential" in principal.levels or bool(principal.grants))


def level_of(metadata: dict[str, Any]) -> str:
    """A document's confidentiality level (public, internal or confidential)."""
    return normalize_level(metadata.get("confidentiality"))


def login_url(request: Request) -> str:
    """The login page, coming back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here)


def short_heading(heading: str, title: str) -> str:
    """A heading path without the document title it often starts with."""
    parts = heading.split(" > ")
    return " > ".join(parts[1:] if parts and parts[0] == title else parts)


def local_path(target: str, default: str = "/") -> str:
    """Only paths of this site (no `//host`, `/\\host` or `scheme:`) are followed by redirects."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else default


def query_string(params: list[tuple[str, str]]) -> str:
    return urlencode([(k, v) for k, v in params if v not in ("", None)])


TEMPLATES.env.globals.update(
    field_labels=FIELD_LABELS,
    type_labels=TYPE_LABELS,
    value_label=value_label,
    role_names=ROLE_NAMES,
    viewer=viewer,
    viewer_can=viewer_can,
    shows_levels=shows_levels,
    level_of=level_of,
    login_url=login_url,
)
TEMPLATES.env.filters["short_heading"] = short_heading
TEMPLATES.env.filters["filter_label"] = filter_label


def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "message": message}, status)
