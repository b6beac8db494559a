"""Every file under web/static is served, the pages need a session and send each role to
its own page, and the map layers answer GeoJSON in scope."""

from __future__ import annotations

import re

from web.pages import PAGES, STATIC_DIR

ASSETS = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file())


def test_leaflet_is_vendored_with_its_licence():
    assert "vendor/leaflet-1.9.4.js" in ASSETS and "vendor/leaflet-1.9.4.css" in ASSETS
    assert "BSD 2-Clause" in (STATIC_DIR / "vendor/LICENSE-leaflet-1.9.4.txt").read_text()


def test_every_static_asset_is_served(static_client):
    for asset in ASSETS:
        r = static_client.get(f"/static/{asset}")
        assert r.status_code == 200, asset
        assert r.content == (STATIC_DIR / asset).read_bytes(), asset


def test_every_referenced_asset_exists():
    """Each src/href/import in the pages and modules points at a file that is shipped."""
    referenced = set()
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text(encoding="utf-8")
            referenced |= set(re.findall(r'(?:src|href)="/static/([^"]+)"', text))
            if path.suffix == ".js":
                referenced |= {(path.parent / m).resolve().relative_to(STATIC_DIR).as_posix()
                               for m in re.findall(r'from "(\./[^"]+)"', text)}
            if path.suffix == ".css":
                referenced |= {(path.parent / m).resolve().relative_to(STATIC_DIR).as_posix()
                               for m in re.findall(r"url\(([\w./-]+\.png)\)", text)}
    missing = sorted(r for r in referenced if not (STATIC_DIR / r).is_file())
    assert not missing
    assert len(referenced) > 15


def test_pages_redirect_to_login_without_a_session(static_client):
    client = static_client
    for path in [*PAGES, "/driver?x=1"]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next="), path
    assert client.get("/driver?x=1", follow_redirects=False).headers["location"] == "/login?next=%2Fdriver%3Fx%3D1"


HOMES = [("dispatcher", "/"), ("driver", "/driver"), ("requester", "/requests"), ("approver", "/approvals")]


def test_login_cookie_opens_the_roles_home(client, world):
    for role, home in HOMES:
        client.cookies.clear()
        login = client.post("/api/v1/auth/login", data={"username": role, "password": "correct-horse-42"})
        assert login.status_code == 200
        r = client.get("/", follow_redirects=False)
        if home == "/":
            assert r.status_code == 200 and 'id="map"' in r.text
            assert '<script type="application/json" id="fleet-config">' in r.text
        else:
            assert r.status_code == 303 and r.headers["location"] == home
            assert client.get(home).status_code == 200


def test_login_page_is_public(static_client):
    r = static_client.get("/login")
    assert r.status_code == 200 and 'id="login-form"' in r.text


def test_map_layers_are_geojson_in_scope(client, world):
    vehicles = client.get("/api/v1/map/vehicles", headers=world.auth("dispatcher")).json()
    assert vehicles["type"] == "FeatureCollection"
    (car,) = vehicles["features"]
    assert car["geometry"] == {"type": "Point", "coordinates": [119.2, 34.6]}
    assert car["properties"]["plate"] == "苏G12345" and car["properties"]["ownership"] == "pool"
    zones = client.get("/api/v1/map/zones", headers=world.auth("driver")).json()
    assert zones["features"][0]["properties"]["kind"] == "forbidden_venue"
    assert client.get("/api/v1/map/depots", headers=world.auth("requester")).status_code == 403
    card = client.get(f"/api/v1/map/vehicles/{world.ids['vehicle']}", headers=world.auth("dispatcher")).json()
    assert card["vehicle"]["plate"] == "苏G12345" and card["last_position"]["lat"] == 34.6


#: Each role and the pages it opens in the browser under the Content-Security-Policy.
CSP_PAGES = {"dispatcher": ["/", "/replacement"], "driver": ["/driver"], "requester": ["/requests"],
             "approver": ["/approvals"]}
CSP_WATCH = """window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


def _watch_policy(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Record CSP violations (events and console reports) of every document the page opens."""
    reports: list[str] = []
    page.add_init_script(CSP_WATCH)
    page.on("console", lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None)
    return reports


def test_every_page_runs_under_the_content_security_policy(browser, live_server, ui_world):
    """Each page arrives with a policy that forbids inline script, and still does all its
    work in Chromium (its scripts mark the page ready) without one violation."""
    from web_ui_world import log_in  # type: ignore[import-not-found]

    for role, paths in CSP_PAGES.items():
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        page.set_default_timeout(15_000)
        reports = _watch_policy(page)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, live_server, role, paths[0])
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (role, path, policy)
            page.wait_for_selector("body[data-ready='true']")
            violations = page.evaluate("window.__cspViolations")
            assert not violations and not reports, (role, path, violations, reports)
        assert not errors, (role, errors)
        context.close()


def test_api_docs_render_under_their_policy(page, live_server):
    page.set_default_timeout(30_000)  # Swagger UI and ReDoc are megabytes of script
    reports = _watch_policy(page)
    response = page.goto(f"{live_server.url}/docs")
    assert "sha256-" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("redoc h1")
    # ReDoc's logo from its CDN is an image the policy keeps out (the docs stay offline);
    # every script and style of both pages runs
    violations = [v for v in page.evaluate("window.__cspViolations") if not v.startswith("img-src https://cdn.")]
    assert not violations and not [r for r in reports if "Loading the image 'https://cdn." not in r], reports


def test_login_goes_only_to_a_local_next_page(page, live_server, ui_world):
    """A ``next`` that a browser would read as another host (``/\\host``, ``//host``, an
    absolute URL) leads home instead; one that only looks like it (``/.//host``) stays on this
    origin; a local one is followed."""
    from urllib.parse import urlsplit

    from web_ui_world import PASSWORD  # type: ignore[import-not-found]

    page.route(lambda url: urlsplit(url).hostname == "evil.example", lambda route: route.fulfill(body="evil"))
    for next_param, landing in [("/%5Cevil.example/x", "/"), ("//evil.example/x", "/"),
                                ("https%3A%2F%2Fevil.example%2Fx", "/"), ("/.//evil.example/x", "//evil.example/x"),
                                ("%2Freplacement%3Fyear%3D2027", "/replacement?year=2027")]:
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login?next={next_param}")
        page.fill("#username", "dispatcher")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(lambda url: "/login" not in url)
        assert page.url == f"{live_server.url}{landing}", (next_param, page.url)
