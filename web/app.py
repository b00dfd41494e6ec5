"""The FastAPI application: `create_app(settings)` loads the library once in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from kb.classify import Classifier
from kb.config import Settings
from kb.keys import KeyStore
from kb.library import Library
from kb.search import SearchService
from kb.suggest_worker import SuggestionWorker
from web import api, api_brief, api_library, login, pages, pages_brief, pages_library
from web.apidocs import install_docs
from web.auth import session_secret
from web.errors import install_error_handlers
from web.security import SecurityHeaders, quiet_access_log

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service over one library; heavy objects (model, indexes) load once, at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        library = Library(settings)
        library.compact_in_background = True  # a write answers once its delta is searchable
        service = SearchService(library)
        library.embedder  # noqa: B018 - load the model before the first request
        if library.manifest() is not None:
            service.snapshot()
        app.state.library = library
        app.state.service = service
        app.state.classifier = Classifier(library)
        app.state.suggester = SuggestionWorker(library).start()
        app.state.keys = KeyStore(settings.keys_path)
        app.state.session_secret = session_secret(settings.data_dir)
        quiet_access_log()
        try:
            yield
        finally:
            app.state.suggester.stop()

    app = FastAPI(
        title="咨询案例知识库",
        description="中文混合检索（BM25 + 向量）、相似案例、文档管理与上传。",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served locally by install_docs
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(api_library.router)
    app.include_router(api_brief.router)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(pages_library.router)
    app.include_router(pages_brief.router)
    install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

    return app
