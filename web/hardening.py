"""Request hardening around the whole application.

- ``SecurityHeadersMiddleware`` puts a Content-Security-Policy (no inline script or style on
  the platform's pages), ``X-Content-Type-Options``, frame and referrer policies, and in
  production HSTS on every answer.
- ``RequestGuardMiddleware`` reads at most ``FLEET_WEB_BODY_MAX_BYTES`` of a request body
  (413 past that) and parses JSON bodies strictly before any route sees them: ``NaN``,
  ``Infinity`` and numbers too large for a float (``1e999``) are refused with 422 naming the
  field, as are bodies nested deeper than ``MAX_JSON_DEPTH`` and query values spelled as
  non-finite numbers (``?lat=nan``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Deepest nesting of arrays and objects accepted in a JSON body (GeoJSON needs about 6).
MAX_JSON_DEPTH = 32
#: Bodies larger than this are parsed in a worker thread, off the event loop, bytes.
THREAD_PARSE_BYTES = 64 * 1024
#: HSTS lifetime sent in production mode, seconds (one year).
HSTS_MAX_AGE_S = 365 * 24 * 3600
_DOCS_MODULES = frozenset({"fastapi.applications", "fastapi_offline.core"})
_NOT_FINITE = "Input should be a finite number (NaN and Infinity are not JSON)"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def _tile_source(tile_url: str) -> str:
    """The CSP source that admits the map tiles of ``tile_url`` (empty when none): its origin,
    with a ``{s}`` subdomain placeholder as ``*``; its scheme alone for other templates."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url)
    host = re.sub(r"^\{[a-z]+\}\.", "*.", parts.netloc)
    if "{" in host or not parts.scheme:
        return f"{parts.scheme}:" if parts.scheme else ""
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str, script_hashes: list[str] | None = None) -> str:
    """The policy of the platform's pages: scripts, styles and connections from this origin
    only (plus the tile server's images); ``script_hashes`` admit named inline scripts and
    inline styles, for the framework's API documentation pages."""
    tiles = _tile_source(tile_url)
    scripts = " ".join(["'self'", *(f"'{h}'" for h in script_hashes or [])])
    styles = "'self' 'unsafe-inline'" if script_hashes is not None else "'self'"
    directives = {
        "default-src": "'self'",
        "script-src": scripts,
        "style-src": styles,
        "img-src": f"'self' data: {tiles}".strip(),
        "connect-src": f"'self' {tiles}".strip(),
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def documentation_paths(app: FastAPI) -> frozenset[str]:
    """The paths of the API documentation pages (Swagger UI, ReDoc), whose HTML FastAPI or
    fastapi-offline write with inline scripts of their own."""
    return frozenset(route.path for route in app.router.routes
                     if isinstance(route, APIRoute) and route.endpoint.__module__ in _DOCS_MODULES)


def _hashes_of_inline_scripts(html: bytes) -> list[str]:
    return ["sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
            for body in _INLINE_SCRIPT.findall(html)]


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP answer. The framework's documentation pages
    (``docs_paths``) carry inline scripts of their own; their policy admits exactly those
    scripts by hash."""

    def __init__(self, app: ASGIApp, *, tile_url: str, hsts: bool, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.tile_url = tile_url
        self.policy = content_security_policy(tile_url)
        self.hsts = hsts
        self.docs_paths = docs_paths

    def _add(self, headers: MutableHeaders, policy: str) -> None:
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if self.hsts:
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}; includeSubDomains")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs_page(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(MutableHeaders(scope=message), self.policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold a documentation page until its body is complete, then send it with a policy
        naming the hashes of its inline scripts."""
        start: Message | None = None
        body = bytearray()

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False) and start is not None:
                headers = MutableHeaders(scope=start)
                self._add(headers, content_security_policy(self.tile_url, _hashes_of_inline_scripts(bytes(body))))
                await send(start)
                await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, collect)


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this type as JSON (it does so without a type too)."""
    if not content_type:
        return True
    subtype = content_type.split(";", 1)[0].strip().lower().rsplit("/", 1)[-1]
    return subtype == "json" or subtype.endswith("+json")


def _problem(kind: str, loc: list[str | int], msg: str) -> JSONResponse:
    return JSONResponse({"detail": [{"type": kind, "loc": loc, "msg": msg}]}, status_code=422)


def json_body_problem(body: bytes) -> JSONResponse | None:
    """A 422 answer when ``body`` is not strict JSON, else None: a syntax error, a number
    that is not finite (``NaN``, ``Infinity``, ``1e999``), or nesting deeper than
    ``MAX_JSON_DEPTH``. The answer's ``loc`` names the field."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        return _problem("json_invalid", ["body", exc.pos], f"JSON decode error: {exc.msg}")
    except RecursionError:
        return _problem("json_depth", ["body"], f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as exc:  # an integer of more than 4,300 digits, invalid UTF-8
        return _problem("json_invalid", ["body"], f"JSON decode error: {str(exc)[:120]}")
    if isinstance(document, float) and not math.isfinite(document):
        return _problem("finite_number", ["body"], _NOT_FINITE)
    stack: list[tuple[Any, list[str | int]]] = [(document, ["body"])] if isinstance(document, dict | list) else []
    while stack:
        container, loc = stack.pop()
        if len(loc) > MAX_JSON_DEPTH:
            return _problem("json_depth", loc, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        for key, item in container.items() if isinstance(container, dict) else enumerate(container):
            if isinstance(item, float) and not math.isfinite(item):
                return _problem("finite_number", [*loc, key], _NOT_FINITE)
            if isinstance(item, dict | list):
                stack.append((item, [*loc, key]))
    return None


def query_problem(query_string: bytes) -> JSONResponse | None:
    """A 422 answer when a query value is spelled as a non-finite number (``nan``, ``inf``,
    ``-Infinity``, ``1e999``), which a float parameter would otherwise take."""
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        try:
            number = float(value)
        except ValueError:
            continue
        if not math.isfinite(number):
            return _problem("finite_number", ["query", name], _NOT_FINITE)
    return None


class RequestGuardMiddleware:
    """Read each HTTP request body whole, up to ``max_body_bytes`` (413 past that, before any
    route runs), refuse non-strict JSON and non-finite query numbers with 422, then hand the
    body on unchanged."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> JSONResponse:
        return JSONResponse({"detail": f"request body larger than {self.max_body_bytes} bytes"}, status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = query_problem(scope.get("query_string", b""))
        if problem is not None:
            await problem(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large()(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await self._too_large()(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if body and _is_json(headers.get("content-type")):
            if len(body) > THREAD_PARSE_BYTES:
                problem = await anyio.to_thread.run_sync(json_body_problem, bytes(body))
            else:
                problem = json_body_problem(bytes(body))
            if problem is not None:
                await problem(scope, receive, send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields ``body`` once, then waits on the client's channel (for
    its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
