"""The interactive API docs at /docs: Swagger UI from the files of the `swagger-ui-bundle-v2`
package (no CDN, so it works offline), under a CSP that allows its one inline start-up script
by hash."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from web.security import content_security_policy

ASSETS = "/static/swagger-ui"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hash(script: str) -> str:
    """The CSP source (`'sha256-…'`) that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI's assets locally and /docs with its own script hashes in the CSP."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} · API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None},  # the validator badge is a remote image
    )
    body = bytes(page.body).decode()
    hashes = [script_hash(script) for script in INLINE_SCRIPT.findall(body)]
    policy = content_security_policy(script_sources=hashes)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})
