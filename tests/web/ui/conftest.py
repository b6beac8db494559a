"""Fixtures for the pages, the live hub and the driver actions: the web world plus a day of
work for today, the real app served by uvicorn on a free port, and a headless Chromium
(Debian's package) driven by Playwright; a screenshot lands in test-artifacts/ when a
browser test fails."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from web_ui_world import MqttProbe, add_todays_work  # type: ignore[import-not-found]

from fleet.settings import get_settings
from tests.builders import free_port
from tests.web.conftest import World, app, build_world, client, world  # noqa: F401  (fixtures)

CHROMIUM = os.environ.get("FLEET_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is slow (``-m "not slow"`` leaves them out): pages in Chromium,
    the app served by uvicorn, and live sockets waiting on the broker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def static_client(_sqlite_template, tmp_path, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The app on a copy of the migrated SQLite template, for tests that need no data (once,
    not once per backend)."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    target = tmp_path / "static.db"
    shutil.copy(_sqlite_template, target)
    monkeypatch.setenv("FLEET_DATABASE_URL", f"sqlite:///{target}")
    monkeypatch.setenv("FLEET_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def ui_world(session: Session, engine, mqtt_url, monkeypatch) -> World:  # type: ignore[no-untyped-def]
    """The web world (every role's login has the password ``PASSWORD``) and today's work."""
    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    w = build_world(session)
    add_todays_work(session, w)
    return w


@dataclass
class LiveServer:
    url: str
    app: Any


@contextmanager
def serving() -> Iterator[LiveServer]:
    """The real app under uvicorn on a free port, on the database and broker the settings
    name (FLEET_DATABASE_URL, FLEET_MQTT_URL)."""
    import uvicorn

    from web.app import create_app

    served = create_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test web server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=served)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(ui_world: World) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free port, on the test database and broker."""
    with serving() as server:
        yield server


@pytest.fixture
def demo_server(tmp_path: Path, mqtt_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """The app under uvicorn on a SQLite database seeded as `fleet demo` seeds it (the
    synthetic Lianyungang fleet and its demo logins, ``<role>-demo-2021``)."""
    from fleet.db import upgrade
    from fleet.seed import seed_database

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("FLEET_DATABASE_URL", url)
    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    upgrade(url)
    seed_database(url)
    with serving() as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; skips where there is none."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` package (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _open_page(browser: Any, request: pytest.FixtureRequest, **context_options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A desktop-sized page."""
    yield from _open_page(browser, request, viewport={"width": 1400, "height": 900})


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A phone-sized touch page that may read the (fake) location."""
    yield from _open_page(browser, request, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                          permissions=["geolocation"], geolocation={"latitude": 34.601, "longitude": 119.201})


@pytest.fixture
def mqtt_probe(mqtt_url: str) -> Iterator[MqttProbe]:
    probe = MqttProbe(mqtt_url)
    yield probe
    probe.close()
