"""The web pages: the dispatcher console, the driver's phone view, the requester and approver
pages, replacement planning and the inspectors' page (``/audit``, auditors and administrators
only), plus the static files they load from ``/static``.

Every page but ``/login`` needs the session cookie from ``POST /api/v1/auth/login``; without
a valid one it redirects to ``/login?next=<page>``. Each page's body is a plain HTML file under
``static``; one layout gives every page the same head and top bar, and the few settings they
need (tile URL, display time zone) are put into each page as a JSON block.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from fleet.models import Role, User
from web.deps import SESSION_COOKIE, principal_from_token

STATIC_DIR = Path(__file__).parent / "static"
LAYOUT = Template((Path(__file__).parent / "templates" / "page.html").read_text(encoding="utf-8"))
CONFIG_MARK = "<!--fleet-config-->"
NAV_LINKS = (
    '  <a href="/" data-i18n="nav.console">调度台</a>',
    '  <a href="/replacement" data-i18n="nav.replacement">更新规划</a>',
)
#: Where the links only some roles see go in the bar's navigation, filled as the page is served.
ROLE_NAV_MARK = "<!--fleet-role-nav-->"
#: The inspectors' page, with the module of its labels (the bar's link needs its own label).
AUDIT_LINK = ('<a href="/audit" data-i18n="nav.audit">纪检审计</a>'
              '<script type="module" src="/static/js/labels_audit.js"></script>')
ROLE_NAV_LINKS = {Role.admin: (AUDIT_LINK,), Role.auditor: (AUDIT_LINK,)}
#: The statistics report (dispatchers, administrators, auditors), with its labels' module.
STATISTICS_LINK = ('<a href="/statistics" data-i18n="nav.statistics">统计报表</a>'
                   '<script type="module" src="/static/js/labels_statistics.js"></script>')
STATISTICS_ROLES = (Role.admin, Role.dispatcher, Role.auditor)
for _role in STATISTICS_ROLES:
    ROLE_NAV_LINKS[_role] = (*ROLE_NAV_LINKS.get(_role, ()), STATISTICS_LINK)

router = APIRouter(include_in_schema=False)

@dataclass(frozen=True)
class PageSpec:
    """One page: its body under ``web/static`` and what the shared layout puts around it.

    The layout (``web/templates/page.html``) holds the document head and the top bar every
    page shares; ``heading`` is the bar's i18n key and its Chinese text. ``leaflet`` loads
    Leaflet's stylesheet, ``preloads`` names ES modules under ``static/js`` to preload; the bar
    shows the links to the console and replacement planning (``nav``), the live-feed status
    (``live_status``), the logged-in user (``who``) and the logout button (``logout``).
    """

    file: str
    title: str
    heading: tuple[str, str]
    body_class: str = ""
    viewport: str = "width=device-width, initial-scale=1"
    leaflet: bool = False
    preloads: tuple[str, ...] = ()
    nav: bool = False
    live_status: bool = False
    who: bool = True
    logout: bool = True
    #: Who may open the page (empty: every role); the others are sent to their home page.
    roles: tuple[Role, ...] = ()


APP_TITLE = ("app.title", "公务用车调度平台")
CONSOLE_MODULES = ("console", "api", "i18n", "live", "map", "ui", "vehicle_layer")

#: Page path -> page, and the page each role lands on from ``/``.
PAGES = {
    "/": PageSpec("console.html", "公务用车调度台", APP_TITLE, body_class="console", leaflet=True,
                  preloads=CONSOLE_MODULES, nav=True, live_status=True),
    "/driver": PageSpec("driver.html", "今日行程 · 驾驶员", ("driver.title", "今日行程"), body_class="driver",
                        viewport="width=device-width, initial-scale=1, viewport-fit=cover", live_status=True,
                        who=False),
    "/requests": PageSpec("requests.html", "用车申请", ("requests.title", "用车申请"), leaflet=True),
    "/approvals": PageSpec("approvals.html", "审批", ("approvals.title", "待审批申请")),
    "/replacement": PageSpec("replacement.html", "车辆更新规划", APP_TITLE, nav=True),
    "/audit": PageSpec("audit.html", "纪检审计 · 公务用车", ("audit.title", "纪检审计"), nav=True,
                       roles=(Role.admin, Role.auditor)),
    "/statistics": PageSpec("statistics.html", "统计报表 · 公务用车", ("statistics.title", "统计报表"), nav=True,
                            roles=STATISTICS_ROLES),
    # the dispatch slip of one assignment, to print (the API checks whose it is)
    "/slip/{assignment_id}": PageSpec("slip.html", "派车单 · 公务用车", ("slip.title", "公务用车派车单"),
                                      body_class="slip", preloads=("slip", "labels_slip", "api", "i18n", "ui"),
                                      roles=(Role.admin, Role.dispatcher, Role.auditor, Role.requester,
                                             Role.approver, Role.driver)),
}
LOGIN_PAGE = PageSpec("login.html", "登录 · 公务用车调度平台", APP_TITLE, who=False, logout=False)
HOME_BY_ROLE = {
    Role.admin: "/",
    Role.dispatcher: "/",
    Role.auditor: "/",
    Role.driver: "/driver",
    Role.requester: "/requests",
    Role.approver: "/approvals",
    Role.planner: "/replacement",
}


def static_files() -> StaticFiles:
    """The ``/static`` mount: HTML, ES modules, CSS and vendored Leaflet."""
    return StaticFiles(directory=STATIC_DIR)


def _topbar(page: PageSpec) -> str:
    """The top bar's inner lines: heading, navigation, live status, user and buttons."""
    key, text = page.heading
    lines = [f'<strong data-i18n="{key}">{text}</strong>']
    if page.nav:
        lines += ["<nav>", *NAV_LINKS, ROLE_NAV_MARK, "</nav>"]
    if page.live_status:
        lines.append('<span id="live-status" class="live-status connecting" role="status"></span>')
    lines.append('<span class="spacer"></span>')
    if page.who:
        lines.append('<span id="who"></span>')
    lines.append('<button id="lang-switch" type="button" data-i18n="lang.switch">English</button>')
    if page.logout:
        lines.append('<button id="logout" type="button" data-i18n="nav.logout">退出</button>')
    return "".join(f"  {line}\n" for line in lines)


@lru_cache(maxsize=16)
def _page_text(page: PageSpec) -> str:
    """The page's whole document: the shared layout filled with its head, bar and body."""
    head = ['<link rel="stylesheet" href="/static/vendor/leaflet-1.9.4.css">'] if page.leaflet else []
    head += [f'<link rel="modulepreload" href="/static/js/{module}.js">' for module in page.preloads]
    return LAYOUT.substitute(
        viewport=page.viewport,
        title=page.title,
        head="".join(f"{line}\n" for line in head),
        body_class=f' class="{page.body_class}"' if page.body_class else "",
        topbar=_topbar(page),
        main=(STATIC_DIR / page.file).read_text(encoding="utf-8"),
    )


def _render(request: Request, page: PageSpec, role: Role | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    role_links = "".join(f"  {link}\n" for link in ROLE_NAV_LINKS.get(role, ())) if role else ""
    config = {"tileUrl": settings.web.tile_url, "timeZone": settings.display_timezone}
    block = (
        '<script type="application/json" id="fleet-config">'
        + json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        + "</script>"
    )
    text = _page_text(page).replace(CONFIG_MARK, block).replace(ROLE_NAV_MARK, role_links)
    return HTMLResponse(text, headers={"Cache-Control": "no-store"})


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


def _page_route(path: str, spec: PageSpec) -> None:
    def page(request: Request) -> Response:
        user = _logged_in_user(request)
        if user is None:
            return _to_login(request)
        if path == "/" and HOME_BY_ROLE[Role(user.role)] != "/":
            return RedirectResponse(HOME_BY_ROLE[Role(user.role)], status_code=303)
        if spec.roles and Role(user.role) not in spec.roles:
            return RedirectResponse(HOME_BY_ROLE[Role(user.role)], status_code=303)
        return _render(request, spec, Role(user.role))

    page.__name__ = f"page_{spec.file.removesuffix('.html')}"
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for _path, _spec in PAGES.items():
    _page_route(_path, _spec)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _render(request, LOGIN_PAGE)
