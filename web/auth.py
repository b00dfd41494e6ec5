"""Who is calling: an API key (`Authorization: Bearer`, `X-API-Key`) or the browser's signed
login cookie, else the anonymous reader when the settings allow it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, Response

from kb.access import Principal, anonymous
from kb.errors import AuthenticationError, PermissionDeniedError
from kb.keys import KeyStore

COOKIE = "kb_session"
SECRET_FILE = "session.secret"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def session_secret(data_dir: Path) -> bytes:
    """The server's cookie-signing secret, made once and readable by its owner only."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def _signature(secret: bytes, name: str, expires: int, key_hash: str) -> str:
    message = f"{name}|{expires}|{key_hash}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def session_cookie(secret: bytes, name: str, key_hash: str, hours: float) -> str:
    """`name.expires.signature`; the key's hash is signed in, so revoking a key ends its logins."""
    expires = int(time.time() + hours * 3600)
    encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    return f"{encoded}.{expires}.{_signature(secret, name, expires, key_hash)}"


def cookie_principal(value: str, secret: bytes, keys: KeyStore) -> Principal | None:
    try:
        encoded, expires_text, signature = value.split(".")
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        expires = int(expires_text)
    except ValueError:
        return None
    entry = keys.entries().get(name)
    if entry is None or expires < time.time():
        return None
    expected = _signature(secret, name, expires, entry.key_hash)
    return entry.principal() if hmac.compare_digest(expected, signature) else None


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return request.headers.get("x-api-key")


def get_principal(request: Request) -> Principal:
    """The caller; an invalid key is refused rather than treated as anonymous."""
    state = request.app.state
    raw = presented_key(request)
    principal: Principal | None
    if raw:
        entry = state.keys.find(raw)
        if entry is None:
            raise AuthenticationError("API 密钥无效或已被吊销：请检查密钥，或向管理员申请新密钥")
        principal = entry.principal()
    else:
        cookie = request.cookies.get(COOKIE)
        principal = cookie_principal(cookie, state.session_secret, state.keys) if cookie else None
        cross_site = request.headers.get("sec-fetch-site") in ("cross-site", "same-site")
        if principal and cross_site and request.method not in SAFE_METHODS:
            raise PermissionDeniedError("拒绝跨站提交：请在本站页面上操作")
        principal = principal or anonymous(state.library.settings.anonymous)
    if principal is None:
        raise AuthenticationError(
            "需要登录：请提供 API 密钥（Authorization: Bearer …）或在页面登录"
        )
    request.state.principal = principal
    return principal


def maybe_principal(request: Request) -> Principal | None:
    """The caller, or None where a key would be needed and none was given (a wrong key is
    still refused)."""
    try:
        return get_principal(request)
    except AuthenticationError:
        if presented_key(request):
            raise
        return None


def require_role(role: str):
    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require(role)
        return principal

    return dependency


def set_login(response: Response, request: Request, value: str, hours: float) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


ViewerDep = Annotated[Principal, Depends(get_principal)]
EditorDep = Annotated[Principal, Depends(require_role("editor"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
