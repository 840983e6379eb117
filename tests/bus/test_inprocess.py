import asyncio
import logging

import pytest

from bus import topics
from bus.errors import BusError
from bus.messages import CallEvent, QueueStats
from bus.transport import InProcessBus, open_bus
from tests.helpers import ExpectLog


def test_open_bus_picks_the_transport() -> None:
    assert isinstance(open_bus("inproc://", client_id="x"), InProcessBus)
    with pytest.raises(BusError, match="unsupported bus URL"):
        open_bus("amqp://host", client_id="x")


async def _roundtrip() -> None:
    async with InProcessBus() as bus:
        calls = await bus.subscribe(topics.calls("hq"))
        other_site = await bus.subscribe(topics.calls("branch"))
        event = CallEvent(type="call.offered", call_id="c1", ts=1.0, calling="+14155550100")
        await bus.publish(topics.call("hq", "c1"), event)
        envelope = await calls.get(timeout=1)
        assert envelope.topic == "ccenter/v1/hq/calls/c1" and envelope.message == event
        with pytest.raises(TimeoutError):
            await other_site.get(timeout=0.05)
        await bus.publish(topics.queue_stats("hq", "billing"), QueueStats(queue="billing", ts=1, waiting=2),
                          retain=True)
        late = await bus.subscribe("ccenter/v1/hq/queues/+/stats")
        assert (await late.get(timeout=1)).message == QueueStats(queue="billing", ts=1, waiting=2)
        await calls.close()
        with pytest.raises(StopAsyncIteration):
            await calls.get(timeout=1)


def test_publish_subscribe_and_retained() -> None:
    asyncio.run(_roundtrip())


def test_invalid_payload_is_logged_and_skipped(expect_log: ExpectLog) -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        subscription = await bus.subscribe("ccenter/v1/hq/#")
        bus._dispatch("ccenter/v1/hq/calls/x", b"{not json")
        good = CallEvent(type="call.ended", call_id="x", ts=2)
        await bus.publish(topics.call("hq", "x"), good)
        assert (await subscription.get(timeout=1)).message == good

    with expect_log(logging.WARNING, "bus.transport", match="^skipped an invalid message on ccenter/v1/hq/calls/x: "):
        asyncio.run(scenario())
