"""Schemathesis against ``/openapi.json``: generated requests to every operation find no server error.

Each operation is called with a token of the scope it needs (and without one, by schemathesis's own
negative cases), a bounded number of examples each, so the run stays well under a minute.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from connectors.boss import OrderSystem
from connectors.config import parse_connector
from crm import db
from tests.api.conftest import Api, login, seed, serve
from tests.helpers.boss import TestBoss


@pytest.fixture(scope="module")
def fuzz_api(_sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("fuzz") / "api.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    issued, customers = seed(engine)
    boss = TestBoss().start()
    boss.bills["ACC-1001"] = {"balance": {"value": "10.00", "currency": "USD"}, "items": []}
    orders = OrderSystem(parse_connector("boss", boss.connector_table()))
    for url in serve(create_app(db.session_factory(engine), orders=orders)):
        issued["vera"] = login(url, "vera", "vera-pass")
        yield Api(url, engine, issued, customers)
    orders.close()
    boss.stop()
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_api: Api) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_api.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")

WHO = (("/v1/desk", "vera"), ("/v1/backoffice", "backoffice"),
        ("/v1/campaigns", "bi"), ("/v1/communications", "billing"), ("/v1/status", "boss"))


def _token_for(path: str) -> str | None:
    return next((who for prefix, who in WHO if path.startswith(prefix)), None)


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_request_makes_a_server_error(case: schemathesis.Case, fuzz_api: Api) -> None:
    who = _token_for(case.path)
    response = case.call(headers=fuzz_api.headers(who) if who else None, timeout=10)
    case.validate_response(response, checks=[not_a_server_error])


def test_the_openapi_description_is_served(fuzz_api: Api) -> None:
    doc = fuzz_api.session.get(f"{fuzz_api.url}/openapi.json", timeout=10).json()
    assert doc["info"]["title"] == "ccenter API"
    assert {"/v1/status", "/v1/communications", "/v1/campaigns/plans", "/v1/desk/contacts"} <= set(doc["paths"])
    assert Path(__file__).exists()
