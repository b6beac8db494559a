"""Operational endpoints: /livez, /readyz (database and broker), /metrics (Prometheus, behind
``FLEET_WEB_METRICS_TOKEN``)."""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from fleet.broker import broker_answers

router = APIRouter(tags=["operations"])

HTTP_REQUESTS = Counter(
    "fleet_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "fleet_http_request_duration_seconds", "HTTP request latency, seconds", ["method", "route"]
)


class MetricsMiddleware(BaseHTTPMiddleware):
    """Count requests and time them per route template (not per raw path)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        template = route_template(request)
        HTTP_REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, template).observe(time.perf_counter() - started)
        return response


def route_template(request: Request) -> str:
    """The matched path with its parameters named, e.g. ``/api/v1/vehicles/{object_id}``;
    ``unmatched`` when no route matched (so random paths do not multiply label values)."""
    if request.scope.get("route") is None:
        return "unmatched"
    by_value = {str(v): k for k, v in request.path_params.items()}
    return "/".join(f"{{{by_value[seg]}}}" if seg in by_value else seg for seg in request.url.path.split("/"))


@router.get("/livez", summary="The process is alive")
def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database and MQTT broker answer")
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(_ping_database, request)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    url = request.app.state.settings.resolved_mqtt_url
    checks["broker"] = "ok" if await run_in_threadpool(broker_answers, url, 2.0) else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


def _ping_database(request: Request) -> None:
    with request.app.state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    """The process's metrics, for a scraper that sends ``Authorization: Bearer
    <FLEET_WEB_METRICS_TOKEN>``; with no token set, open in development mode only."""
    settings = request.app.state.settings
    if settings.web.metrics_token:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(credentials.encode(), settings.web.metrics_token.encode()):
            return JSONResponse({"detail": "metrics need the bearer token FLEET_WEB_METRICS_TOKEN"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
    elif settings.env == "production":
        return JSONResponse({"detail": "metrics are closed in production until FLEET_WEB_METRICS_TOKEN is set"},
                            status_code=403)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
