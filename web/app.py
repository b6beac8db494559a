"""The FastAPI application: REST API under /api/v1, operational endpoints, offline docs."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

import fleet
from fleet.db import make_engine
from fleet.settings import Settings, get_settings
from web import access_log, observability, pages
from web.errors import install_error_handlers
from web.hardening import RequestGuardMiddleware, SecurityHeadersMiddleware, documentation_paths
from web.hub import LiveHub
from web.hub import router as live_router
from web.routers import (
    alert_reviews,
    assignments,
    auth,
    compliance,
    dispatch,
    dispatch_slips,
    driver_actions,
    fleet_assets,
    geo_layers,
    lessors,
    organisations,
    places,
    records,
    replacement,
    statistics,
    trip_requests,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every REST router under /api/v1."""
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(organisations.router)
    for router in fleet_assets.routers:
        api.include_router(router)
    api.include_router(lessors.router)
    api.include_router(trip_requests.router)
    api.include_router(assignments.router)
    api.include_router(records.router)
    api.include_router(alert_reviews.router)
    api.include_router(compliance.router)
    api.include_router(dispatch.router)
    api.include_router(replacement.router)
    api.include_router(driver_actions.router)
    api.include_router(dispatch_slips.router)
    api.include_router(geo_layers.router)
    api.include_router(places.router)
    api.include_router(statistics.router)
    return api


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.hub.start()
        # What exists once started (modules, models, routes: some 250,000 objects) lives as
        # long as the process; frozen, the garbage collector no longer walks it in each full
        # collection, which otherwise paused the whole server for 0.1-0.8 s at a time.
        gc.freeze()
        yield
        gc.unfreeze()
        await app.state.hub.stop()
        app.state.engine.dispose()

    app = FastAPIOffline(
        title="Official-vehicle fleet platform",
        version=fleet.__version__,
        description="Pooled and leased official cars: requests, dispatch, telematics, compliance.",
        lifespan=lifespan,
    )
    bind_settings(app, settings)
    access_log.redact_tokens_in_request_logs()
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.web.body_max_bytes)
    app.add_middleware(observability.MetricsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, tile_url=settings.web.tile_url, hsts=settings.env == "production",
                       docs_paths=documentation_paths(app))
    install_error_handlers(app)
    app.include_router(observability.router)
    app.include_router(api_router())
    app.include_router(live_router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    return app


def bind_settings(app: FastAPI, settings: Settings) -> None:
    """Point ``app`` at what ``settings`` name: its database engine, token signing key and live
    hub, read on every request. The middleware keeps the body limit, tile origin and HSTS of
    the settings ``create_app`` was given. Call it before the app starts serving."""
    app.state.settings = settings
    app.state.engine = make_engine(settings.resolved_database_url)
    app.state.signing_key = settings.signing_key()
    app.state.hub = LiveHub(settings, app.state.engine)
