"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL as well when
``FLEET_TEST_DATABASE_URL`` is set (every database test then runs once per backend)."""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import structlog
import typer.testing
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from fleet.db import make_engine, upgrade
from tests.builders import click_command, free_port

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FLEET_TEST_DATABASE_URL") else [])


#: How many collections of the middle generation come before one of the oldest (Python's
#: default is 10). A test run leaves many short-lived object cycles behind (apps, clients,
#: sessions) while over a million objects stay alive; each full collection walks all of them
#: (0.3 s), and at the default it took 7 % of the run.
FULL_COLLECTION_EVERY = 100


def pytest_configure(config: pytest.Config) -> None:
    """``CliRunner.invoke`` reuses the click command built from an unchanged command tree, and
    the garbage collector walks the oldest generation a tenth as often."""
    typer.testing._get_command = click_command  # type: ignore[attr-defined]
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data folder and a fixed secret; settings are re-read."""
    from fleet.settings import get_settings

    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLEET_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("FLEET_ENV", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _plain_tracebacks() -> None:
    """structlog's default pipeline with the plain tracebacks the platform's own logging
    configuration uses: the default renderer draws every frame's local variables, which took
    seconds for one logged database error. Applied afresh for each test, since commands under
    test configure logging their own way."""
    structlog.reset_defaults()
    *processors, _rich_renderer = structlog.get_config()["processors"]
    structlog.configure(processors=[*processors,
                                    structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)])


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "fleet.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def fresh_sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of another empty, fully migrated SQLite database of the test's own (a copy of
    the session's migrated template, so no migration runs)."""
    target = tmp_path / "fresh.db"
    shutil.copy(_sqlite_template, target)
    return f"sqlite:///{target}"


@contextmanager
def own_postgres_database(purpose: str) -> Iterator[str]:
    """An empty database of its own on the FLEET_TEST_DATABASE_URL server, named after
    ``purpose`` and this process, so that runs side by side never lock each other; dropped
    at the end. Yields its URL."""
    server_url = make_url(os.environ["FLEET_TEST_DATABASE_URL"])
    name = f"{server_url.database}_{purpose}{os.getpid()}"
    admin = make_engine(server_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[str]:
    """This test run's migrated PostgreSQL database."""
    with own_postgres_database("run") as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, fully migrated database of each configured backend."""
    if request.param == "sqlite":
        target = tmp_path / "fleet.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("_postgres_migrated")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An engine on the test database; FLEET_DATABASE_URL points there too."""
    from fleet.settings import get_settings

    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    get_settings.cache_clear()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """A broker for the tests: FLEET_TEST_MQTT_URL, else a local Mosquitto on 1883, else an
    embedded amqtt broker started for the session."""
    from fleet.broker import EmbeddedBroker, broker_answers

    configured = os.environ.get("FLEET_TEST_MQTT_URL")
    if configured:
        yield configured
        return
    if broker_answers("mqtt://127.0.0.1:1883", timeout_s=1.0):
        yield "mqtt://127.0.0.1:1883"
        return
    broker = EmbeddedBroker("127.0.0.1", free_port())
    broker.start()
    yield broker.url
    broker.stop()
