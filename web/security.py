"""Security headers on every answer (no MIME sniffing, no framing, same-origin resources only)
and an access log without query strings (queries name clients and cases)."""

from __future__ import annotations

import logging

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response


def content_security_policy(script_sources: list[str] | tuple[str, ...] = ()) -> str:
    """Same-origin resources only; `script_sources` (e.g. hashes) allow named inline scripts."""
    scripts = " ".join(("'self'", *script_sources))
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src {scripts}; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": content_security_policy(),
}


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds HEADERS to every answer; a route may set a stricter or wider CSP of its own."""

    async def dispatch(self, request: Request, call_next) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class WithoutQueryString(logging.Filter):
    """Drops the query string from uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


def quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQueryString) for f in access.filters):
        access.addFilter(WithoutQueryString())
