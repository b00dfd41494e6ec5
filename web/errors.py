"""The one place where errors become HTTP answers: JSON `{"error": {"code", "message"}}` under
/api, an error page elsewhere."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from kb.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    DocumentError,
    EmbedderUnavailableError,
    EngineUnavailableError,
    IndexMismatchError,
    IndexMissingError,
    InvalidQueryError,
    KBError,
    NotFoundError,
    PermissionDeniedError,
    UnsupportedFileError,
)
from web.templating import login_url, render_error

logger = logging.getLogger(__name__)

STATUS = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (InvalidQueryError, 400),
    (NotFoundError, 404),
    (UnsupportedFileError, 415),
    (DocumentError, 422),
    (IndexMissingError, 503),
    (IndexMismatchError, 503),
    (EmbedderUnavailableError, 503),
    (DatabaseUnavailableError, 503),
    (EngineUnavailableError, 503),
]


class RequestTooLargeError(KBError):
    """An upload or body over the configured limit."""

    code = "too_large"


def status_of(exc: KBError) -> int:
    if isinstance(exc, RequestTooLargeError):
        return 413
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 400)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "请求参数有误：" + "；".join(parts)


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    return render_error(request, status, message)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KBError)
    async def kb_error(request: Request, exc: KBError) -> Response:
        response = error_response(request, status_of(exc), exc.code, exc.message)
        if isinstance(exc, AuthenticationError):
            if not isinstance(response, JSONResponse):
                return RedirectResponse(login_url(request), status_code=303)
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, "invalid_request", _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "页面不存在" if exc.status_code == 404 else str(exc.detail)
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path)
        return error_response(
            request, 500, "internal_error", "服务器内部错误，请稍后再试或联系管理员"
        )
