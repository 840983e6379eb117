"""Shared fixtures: real PostgreSQL and Mosquitto, with no skipping in CI.

``CCENTER_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and
``CCENTER_TEST_MQTT`` (default ``mqtt://127.0.0.1:1883``) name the services. A test that needs
one skips when it is unreachable, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A WARNING or worse that a test did not declare fails it: tests/helpers/logfail.py.
pytest_plugins = ["tests.helpers.logfail"]

PG_URL = os.environ.get("CCENTER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MQTT_URL = os.environ.get("CCENTER_TEST_MQTT", "mqtt://127.0.0.1:1883")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_service(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    message = f"{what} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true, so tests that need it must run", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    require_service(PG_URL, 5432, "PostgreSQL")
    return PG_URL


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    require_service(MQTT_URL, 1883, "the MQTT broker")
    return MQTT_URL


# --- databases ---------------------------------------------------------------------------------
# Each test gets its own migrated, empty database: on SQLite a copy of a migrated file, on
# PostgreSQL a database created from a migrated template (fast, and nothing leaks between tests).

_counter = iter(range(1_000_000))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    from crm import db

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = db.connect(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


def _pg_admin(server_url: str):
    from sqlalchemy import create_engine

    return create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def _pg_template(pg_server_url: str):
    from sqlalchemy.engine import make_url

    from crm import db

    name = f"ccenter_tpl_{os.getpid()}"
    admin = _pg_admin(pg_server_url)
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    engine = db.connect(url)
    db.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@contextlib.contextmanager
def _new_pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    server_url = request.getfixturevalue("pg_server_url")
    template = request.getfixturevalue("_pg_template")
    name = f"ccenter_t_{os.getpid()}_{next(_counter)}"
    admin = _pg_admin(server_url)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path):
    """The URL of a new, migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        import shutil

        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with _new_pg_database(request) as url:
        yield url


@pytest.fixture
def pg_db_url(request: pytest.FixtureRequest):
    """A new, migrated, empty PostgreSQL database (for tests of server behaviour, such as outages)."""
    with _new_pg_database(request) as url:
        yield url


@pytest.fixture
def engine(db_url: str):
    from crm import db

    engine = db.connect(db_url)
    yield engine
    engine.dispose()


# --- Python's cycle collector ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _collect_cycles_between_tests():
    """Once a GUI test made background work, the desktop collects cycles from a GUI timer only
    (``agent_desktop.workers``); tests that never turn the event loop still get theirs collected."""
    yield
    import gc

    if not gc.isenabled():
        gc.collect()
