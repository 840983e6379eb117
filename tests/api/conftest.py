"""A real ``ccenter api`` (uvicorn on loopback) over a fresh database with customers, agents and tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import requests
import uvicorn
from sqlalchemy import Engine

from api.app import create_app
from connectors.boss import OrderSystem
from crm import db
from crm.models import Account, Agent, AgentSkill, Customer, PhoneNumber, Skill, Tier
from crm.repository import tokens
from crm.secrets import hash_secret

SYSTEMS = {
    "boss": ["status:write"],
    "backoffice": ["backoffice:write"],
    "bi": ["campaigns:write", "campaigns:read"],
    "billing": ["communications:write"],
    "sms": ["communications:write"],
}


@dataclass
class Api:
    url: str
    engine: Engine
    tokens: dict[str, str]
    customers: dict[str, int]
    session: requests.Session = field(default_factory=requests.Session)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str, **kwargs: object) -> requests.Response:
        return self.session.get(self.url + path, headers=self.headers(who), timeout=10, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, who: str, **kwargs: object) -> requests.Response:
        return self.session.post(self.url + path, headers=self.headers(who), timeout=10, **kwargs)  # type: ignore[arg-type]


def seed(engine: Engine) -> tuple[dict[str, str], dict[str, int]]:
    with db.transaction(db.session_factory(engine)) as s:
        vip = Skill(name="vip")
        s.add(vip)
        ann = Agent(login="ann", name="Ann Lee", extension="1001", password_hash=hash_secret("ann-pass", n=2**10))
        vera = Agent(login="vera", name="Vera Cruz", extension="1002", password_hash=hash_secret("vera-pass", n=2**10))
        vera.skills = [AgentSkill(skill=vip, proficiency=9)]
        standard = Customer(name="Wei Zhang", language="zh", time_zone="Asia/Shanghai")
        standard.phones = [PhoneNumber(e164="+14155550101", is_primary=True)]
        standard.accounts = [Account(account_number="ACC-1001", balance=Decimal("10.00"))]
        important = Customer(name="Grace Hopper", tier=Tier.VIP, language="en", time_zone="America/New_York")
        important.phones = [PhoneNumber(e164="+14155550199", is_primary=True)]
        important.accounts = [Account(account_number="ACC-9001", balance=Decimal("0.00"))]
        s.add_all([ann, vera, standard, important])
        s.flush()
        issued = {name: tokens.issue_system_token(s, name, scopes) for name, scopes in SYSTEMS.items()}
        return issued, {"standard": standard.id, "vip": important.id}


def serve(app: object) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def login(url: str, login_name: str, password: str) -> str:
    answer = requests.post(f"{url}/v1/auth/login", json={"login": login_name, "password": password}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    issued, customers = seed(engine)
    app = create_app(db.session_factory(engine))
    for url in serve(app):
        issued["ann"] = login(url, "ann", "ann-pass")
        issued["vera"] = login(url, "vera", "vera-pass")
        yield Api(url, engine, issued, customers)


def api_with_orders(engine: Engine, orders: OrderSystem) -> Iterator[str]:
    yield from serve(create_app(db.session_factory(engine), orders=orders))
