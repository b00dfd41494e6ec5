"""Annotated dependencies: the library, search service and settings loaded in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kb.classify import Classifier
from kb.config import Settings
from kb.library import Library
from kb.search import SearchService
from kb.suggest_worker import SuggestionWorker


def get_library(request: Request) -> Library:
    return request.app.state.library


def get_service(request: Request) -> SearchService:
    return request.app.state.service


def get_classifier(request: Request) -> Classifier:
    return request.app.state.classifier


def get_suggester(request: Request) -> SuggestionWorker:
    return request.app.state.suggester


def get_settings(request: Request) -> Settings:
    return request.app.state.library.settings


LibraryDep = Annotated[Library, Depends(get_library)]
ServiceDep = Annotated[SearchService, Depends(get_service)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
SuggesterDep = Annotated[SuggestionWorker, Depends(get_suggester)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
