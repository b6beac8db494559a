"""The web pages: the dispatcher console, the driver's phone view, the requester and approver
pages and replacement planning, plus the static files they load from ``/static``.

Every page but ``/login`` needs the session cookie from ``POST /api/v1/auth/login``; without
a valid one it redirects to ``/login?next=<page>``. The pages are plain HTML files; the few
settings they need (tile URL, display time zone) are put into each page as a JSON block.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from fleet.models import Role, User
from web.deps import SESSION_COOKIE, principal_from_token

STATIC_DIR = Path(__file__).parent / "static"
CONFIG_MARK = "<!--fleet-config-->"

router = APIRouter(include_in_schema=False)

#: Page path -> HTML file, and the page each role lands on from ``/``.
PAGES = {
    "/": "console.html",
    "/driver": "driver.html",
    "/requests": "requests.html",
    "/approvals": "approvals.html",
    "/replacement": "replacement.html",
}
HOME_BY_ROLE = {
    Role.admin: "/",
    Role.dispatcher: "/",
    Role.auditor: "/",
    Role.driver: "/driver",
    Role.requester: "/requests",
    Role.approver: "/approvals",
}


def static_files() -> StaticFiles:
    """The ``/static`` mount: HTML, ES modules, CSS and vendored Leaflet."""
    return StaticFiles(directory=STATIC_DIR)


@lru_cache(maxsize=16)
def _page_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _render(request: Request, name: str) -> HTMLResponse:
    settings = request.app.state.settings
    config = {"tileUrl": settings.tile_url, "timeZone": settings.display_timezone}
    block = (
        '<script type="application/json" id="fleet-config">'
        + json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        + "</script>"
    )
    return HTMLResponse(_page_text(name).replace(CONFIG_MARK, block), headers={"Cache-Control": "no-store"})


def _logged_in_user(request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with Session(request.app.state.engine) as session:
        principal = principal_from_token(session, token, request.app.state.signing_key)
        return principal.user if principal is not None else None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _page_route(path: str, name: str) -> None:
    def page(request: Request) -> Response:
        user = _logged_in_user(request)
        if user is None:
            return _to_login(request)
        if path == "/" and HOME_BY_ROLE[Role(user.role)] != "/":
            return RedirectResponse(HOME_BY_ROLE[Role(user.role)], status_code=303)
        return _render(request, name)

    page.__name__ = f"page_{name.removesuffix('.html')}"
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for _path, _name in PAGES.items():
    _page_route(_path, _name)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html")
