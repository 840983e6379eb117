"""Shared fixtures: real PostgreSQL and Mosquitto, with no skipping in CI.

``CCENTER_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and
``CCENTER_TEST_MQTT`` (default ``mqtt://127.0.0.1:1883``) name the services. A test that needs
one skips when it is unreachable, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
