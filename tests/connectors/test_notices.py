"""``ccenter api``'s workflow notices wait for a broker that is away at start, and go out once it is up."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from bus.messages import WorkflowChanged
from connectors.notices import Notices
from tests.end2end.test_broker_trust import Broker, broker  # noqa: F401  (the shipped-ACL broker fixture)
from tests.helpers import until


@pytest.mark.expect_log(logging.WARNING, "connectors.notices", match="workflow changes wait for the bus")
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", required=False)
def test_a_change_told_while_the_broker_is_away_goes_out_once_it_is_back(
    broker: Broker, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    broker.stop()
    notices = Notices.from_url(broker.url("svc-api"), site=f"t{uuid.uuid4().hex[:8]}", client_id="svc-api")
    try:
        message = WorkflowChanged(subject="order", item_id=7, customer_id=1, workflow="broadband_order",
                                  state="credit_check", status="in_progress", ts=0.0, actor_name="boss")
        sent = notices.changed(message, "a7")
        assert sent is not None and not sent.done()  # nowhere to go yet
        assert notices.changed(message, None) is None  # no agent took it: nobody to tell

        def refused() -> bool:  # the notices' own attempt found the broker away (not only our look)
            return any(r.name == "connectors.notices" and "wait for the bus" in r.getMessage() for r in caplog.records)

        asyncio.run(until(refused, 30))
        assert not sent.done()
        broker.start()
        sent.result(timeout=60)  # acknowledged by the broker
    finally:
        notices.close()
