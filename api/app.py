"""The FastAPI application."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.rendered import RenderedViews
from api.routers import (
    automations,
    items,
    journeys,
    metrics,
    signals,
    structure,
    tickets,
    views,
    webhooks,
    workspace,
)
from model.errors import Conflict, InvalidInput, JourneyOpsError, NotFound
from model.settings import get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


class BodySizeLimit:
    """Refuse request bodies over the limit before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse(
                {"detail": f"request body over {self.limit} bytes"},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ValueError("request body over the limit")
            return message

        await self.app(scope, counted, send)


def _error(status_code: int, error: JourneyOpsError) -> JSONResponse:
    body: dict[str, Any] = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    return JSONResponse(body, status_code=status_code)


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Everything loaded at start-up lives as long as the process: keep it out of the
    # collector's full passes, which would otherwise walk it every few large requests.
    gc.collect()
    gc.freeze()
    yield


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the API on ``database_url`` (default: the configured database)."""
    app = FastAPI(
        lifespan=_lifespan,
        title="journeyops",
        summary="A living customer journey: the journey model over HTTP.",
        version="0.1.0",
    )
    settings = get_settings()
    app.state.database_url = database_url or settings.resolved_database_url
    app.state.rendered = RenderedViews(settings.map_cache_mb * 2**20)

    @app.exception_handler(InvalidInput)
    def invalid(_: Request, error: InvalidInput) -> JSONResponse:
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, error)

    @app.exception_handler(NotFound)
    def not_found(_: Request, error: NotFound) -> JSONResponse:
        return _error(status.HTTP_404_NOT_FOUND, error)

    @app.exception_handler(Conflict)
    def conflict(_: Request, error: Conflict) -> JSONResponse:
        return _error(status.HTTP_409_CONFLICT, error)

    @app.exception_handler(DataError)
    def out_of_range(_: Request, error: DataError) -> JSONResponse:
        # A value the database cannot hold (a number past its integer range, a text past its
        # column) that validation let through: the request is at fault, not the service.
        log.info("refused a value the database cannot hold: %s", error.orig)
        return JSONResponse(
            {
                "detail": "a value does not fit the database: a number past its range or a text "
                "past its length; check the numbers, ids and texts sent"
            },
            status_code=422,
        )

    @app.exception_handler(RequestValidationError)
    def validation(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}"
            for e in error.errors()
        ]
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    @app.get("/health", tags=["health"], summary="Whether the service is up")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # Webhooks first: providers send bursts, and routes are matched in order.
    app.include_router(webhooks.router)
    app.include_router(journeys.router)
    app.include_router(views.router)
    app.include_router(items.router)
    app.include_router(metrics.router)
    app.include_router(structure.router)
    app.include_router(signals.router)
    app.include_router(tickets.router)
    app.include_router(workspace.router)
    app.include_router(automations.router)
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    return app
