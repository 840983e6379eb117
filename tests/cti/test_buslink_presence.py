"""A desktop's view of its CTI gateway across the gateway's last will: the will (its capabilities,
offline) takes it offline, and a call event the gateway sends after it, which can only come from the
gateway connected to the broker again, takes it back online as it was. A broker restart otherwise left
a window where a call event the gateway sent again reached the desktop while the gateway still looked
away, and the agent's answer was refused (docs/faults.md)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import topics
from bus.messages import CallEvent, CtiCapabilities
from bus.transport import InProcessBus
from cti.buslink import BusLink
from cti.errors import LinkUnavailable
from cti.model import Capability

SITE = "hq"
AGENT = "a7"
TIMEOUT = 5.0
BOTH = frozenset({Capability.ANSWER, Capability.HANGUP})


async def _desk(bus: InProcessBus) -> tuple[BusLink, asyncio.Queue[frozenset[Capability]]]:
    changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
    desk = BusLink(bus, site=SITE, agent_id=AGENT, capabilities_timeout=0.05, on_capabilities=changes.put_nowait)
    await desk.connect()
    await bus.publish(
        topics.cti_capabilities(SITE),
        CtiCapabilities(online=True, ts=time.time(), capabilities=["answer", "hangup"], link="AmiLink"),
        qos=1,
        retain=True,
    )
    assert await asyncio.wait_for(changes.get(), TIMEOUT) == BOTH
    return desk, changes


async def _ringing(bus: InProcessBus) -> None:
    await bus.publish(
        topics.agent_events(SITE, AGENT),
        CallEvent(type="call.offered", call_id="sim-1", ts=time.time(), calling="+14155550100", agent_id=AGENT,
                  extension="1001"),
        qos=1,
    )


def test_a_call_event_after_the_gateways_last_will_takes_it_back_online_as_it_was() -> None:
    async def go() -> None:
        async with InProcessBus() as bus:
            desk, changes = await _desk(bus)
            will = CtiCapabilities(online=False, ts=time.time())  # what the broker says for a dead gateway
            await bus.publish(topics.cti_capabilities(SITE), will, qos=1, retain=True)
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset()
            with pytest.raises(LinkUnavailable, match="no CTI gateway is online"):
                await desk.answer("sim-1", "1001")
            await _ringing(bus)  # the gateway again, sending what it held over the outage
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == BOTH
            assert desk.gateway is not None and desk.gateway.online and desk.gateway.link == "AmiLink"
            await desk.close()

    asyncio.run(go())


def test_a_call_event_while_the_gateways_pbx_link_is_down_does_not_say_it_is_up() -> None:
    """Offline because the PBX link is down (the gateway itself is there and said so): a call event
    changes nothing, the next capabilities do."""

    async def go() -> None:
        async with InProcessBus() as bus:
            desk, changes = await _desk(bus)
            down = CtiCapabilities(online=False, ts=time.time(), capabilities=["answer", "hangup"], link="AmiLink",
                                   link_up=False, link_since=time.time(), link_reason="connection refused")
            await bus.publish(topics.cti_capabilities(SITE), down, qos=1, retain=True)
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset()
            await _ringing(bus)
            with pytest.raises(LinkUnavailable):
                await desk.answer("sim-1", "1001")
            assert changes.empty()
            assert desk.gateway is not None and not desk.gateway.online
            await desk.close()

    asyncio.run(go())
