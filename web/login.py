"""Browser login with an API key: a form that sets a signed, HttpOnly session cookie, and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.auth import COOKIE, session_cookie, set_login
from web.deps import SettingsDep
from web.templating import local_path, render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": local_path(next), "error": None})


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    settings: SettingsDep,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> HTMLResponse | RedirectResponse:
    entry = request.app.state.keys.find(key.strip()) if key.strip() else None
    if entry is None:
        context = {"next": local_path(next), "error": "密钥不正确或已被吊销，请重新输入"}
        return render(request, "login.html", context, status=401)
    response = RedirectResponse(local_path(next), status_code=303)
    value = session_cookie(
        request.app.state.session_secret, entry.name, entry.key_hash, settings.session_hours
    )
    set_login(response, request, value, settings.session_hours)
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
