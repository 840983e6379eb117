"""The order's whole journey with real processes: `ccenter api` with a connector to a test BOSS on loopback.

An agent logged in through the API (no database credentials) saves a call's contact with an order for
a campaign's work item; the API process delivers it to the BOSS exactly once, follows its status
there, and the customer view and BI's results file show it installed. A bill posted by billing shows
in the same view with its lines.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from agent_desktop.outbox import ContactOutbox
from bench._ports import free_port
from connectors.center import ApiUnavailable, CenterDirectory
from crm import db
from crm.models import Channel
from crm.repository import ContactRecord, OrderLine
from crm.workflows import Subject
from tests.api.conftest import seed
from tests.helpers.boss import TestBoss

PLAN = json.loads((Path(__file__).resolve().parents[2] / "resources" / "campaigns" / "fiber-cn-plan.json")
                  .read_text(encoding="utf-8"))


def toml(table: dict[str, Any], prefix: str) -> str:
    """The connector's table as TOML (strings, numbers and nested tables are all it holds)."""
    plain = [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    text = f"[{prefix}]\n" + "\n".join(plain) + "\n"
    for key, value in table.items():
        if isinstance(value, dict):
            text += toml(value, f"{prefix}.{key}")
    return text


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def boss() -> Iterator[TestBoss]:
    server = TestBoss().start()
    yield server
    server.stop()


def test_an_order_travels_to_the_back_end_and_comes_back_installed(
        _sqlite_template: str, tmp_path: Path, boss: TestBoss) -> None:
    path = tmp_path / "center.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = db.connect(url)
    issued, customers = seed(engine)
    engine.dispose()
    config = tmp_path / "ccenter.toml"
    config.write_text(toml(boss.connector_table(poll_s=0.1), "connectors.boss"), encoding="utf-8")
    port = free_port(udp=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCENTER_")}
    server = subprocess.Popen([sys.executable, "-m", "ccenter", "api", "--listen", f"127.0.0.1:{port}",
                               "--config", str(config), "--db", url], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    api = f"http://127.0.0.1:{port}"
    desk = CenterDirectory(api)
    try:
        def started() -> bool:
            try:
                return desk.authenticate("ann", "ann-pass") is not None
            except ApiUnavailable:
                assert server.poll() is None, server.communicate()
                return False

        wait_for(started, "`ccenter api` answers")
        bi = {"Authorization": f"Bearer {issued['bi']}"}
        plan = {**PLAN, "targets": [{"phone": "+14155550101", "offer": "FIBRE-500"}]}
        assert requests.post(f"{api}/v1/campaigns/plans", json=plan, headers=bi, timeout=10).status_code == 200
        key = ""

        def results() -> list[dict[str, str]]:
            answer = requests.get(f"{api}/v1/campaigns/{key}/results", headers=bi, timeout=10)
            assert answer.status_code == 200, answer.text
            return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))

        [campaign] = requests.get(f"{api}/v1/campaigns", headers=bi, timeout=10).json()
        key = campaign["campaign_key"]
        item = next(r for r in results() if r["channel"] == "inbound_offer")
        agent = desk.agent
        assert agent is not None
        now = datetime.now(UTC)
        record = ContactRecord(client_ref="call-1", channel=Channel.VOICE_IN, started_at=now, ended_at=now,
                               disposition="order_placed", customer_id=customers["standard"], agent_id=agent.id,
                               cti_call_id="sim-1", work_item_id=int(item["work_item_id"]),
                               orders=(OrderLine("FIBRE-500", Decimal("39.90")),))
        outbox = ContactOutbox(None, tmp_path / "outbox-ann.jsonl", write=desk.save_contact)
        saved = outbox.save(record)
        assert saved is not None
        [order_id] = saved.order_ids

        wait_for(lambda: boss.created, "the BOSS receives the order")
        assert boss.created == [{"externalId": order_id, "offer": {"code": "FIBRE-500", "quantity": 1},
                                 "customer": {"account": "ACC-1001", "name": "Wei Zhang"}}]
        boss.advance(3)

        def installed() -> bool:
            return [o.state for o in desk.load(customers["standard"]).open_orders] == ["installed"]

        wait_for(installed, "the order shows installed in the customer view")
        history = desk.workflow(Subject.ORDER, order_id).history
        assert [(h.actor_name, h.to_state) for h in history] == [
            ("ann", "submitted"), ("boss", "credit_check"), ("boss", "provisioning"), ("boss", "installed")]
        row = next(r for r in results() if r["work_item_id"] == item["work_item_id"])
        assert (row["order_ids"], row["order_states"]) == (str(order_id), "installed")
        assert len(boss.created) == 1

        billing = {"Authorization": f"Bearer {issued['billing']}"}
        posted = requests.post(f"{api}/v1/communications", headers=billing, timeout=10, json={
            "account_number": "ACC-1001", "kind": "bill", "channel": "post", "subject": "December bill",
            "amount": "39.90", "currency": "USD", "lines": [{"label": "Fibre 500", "amount": "39.90"}]})
        assert posted.status_code == 201
        [bill] = desk.load(customers["standard"]).communications
        assert (bill.subject, bill.lines) == ("December bill", (("Fibre 500", Decimal("39.90")),))
    finally:
        desk.close()
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
