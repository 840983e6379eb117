"""A desktop's view of its CTI gateway through the gateway's presence: its last will takes it offline, and
the same gateway process back on the broker (its presence online, which it publishes before anything it
sends again) takes it back online as it was, before its capabilities are announced again. A broker
restart otherwise left a window where a call event the gateway sent again reached the desktop while the
gateway still looked away, and the agent's answer was refused (docs/faults.md)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import topics
from bus.messages import CtiCapabilities, Presence
from bus.transport import InProcessBus
from cti.buslink import BusLink
from cti.errors import LinkUnavailable
from cti.model import Capability

SITE = "hq"
TIMEOUT = 5.0
GATEWAY = "cti-gateway-hq-1a2b3c4d"


def test_the_same_gateway_back_on_the_broker_is_online_again_from_its_presence() -> None:
    async def go() -> None:
        async with InProcessBus() as bus:
            changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
            desk = BusLink(bus, site=SITE, capabilities_timeout=0.05, on_capabilities=changes.put_nowait)
            await desk.connect()
            announce = CtiCapabilities(
                online=True, ts=time.time(), capabilities=["answer", "hangup"], link="AmiLink", client_id=GATEWAY
            )
            await bus.publish(topics.cti_capabilities(SITE), announce, qos=1, retain=True)
            both = frozenset({Capability.ANSWER, Capability.HANGUP})
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == both

            async def presence(client_id: str, online: bool) -> None:
                await bus.publish(
                    topics.presence(SITE, client_id),
                    Presence(client_id=client_id, online=online, ts=time.time(), role="cti-gateway"),
                    qos=1,
                    retain=True,
                )

            await presence(GATEWAY, False)  # its last will: the broker went away under it
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset()
            assert desk.gateway is not None and not desk.gateway.online
            with pytest.raises(LinkUnavailable, match="no CTI gateway is online"):
                await desk.answer("sim-1", "1001")
            await presence("cti-gateway-hq-99999999", True)  # another process: not the gateway we knew
            await presence(GATEWAY, True)  # the same process back, before anything it sends again
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == both
            assert desk.gateway is not None and desk.gateway.online and desk.gateway.client_id == GATEWAY
            assert changes.empty()
            await desk.close()

    asyncio.run(go())


def test_a_gateway_restarted_as_a_new_process_must_announce_itself() -> None:
    """After a kill, the new gateway process (a new client id) resyncs and announces its capabilities
    itself: its presence alone does not bring back the old one's."""

    async def go() -> None:
        async with InProcessBus() as bus:
            changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
            desk = BusLink(bus, site=SITE, capabilities_timeout=0.05, on_capabilities=changes.put_nowait)
            await desk.connect()
            await bus.publish(
                topics.cti_capabilities(SITE),
                CtiCapabilities(online=True, ts=time.time(), capabilities=["answer"], client_id=GATEWAY),
                qos=1,
                retain=True,
            )
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset({Capability.ANSWER})
            for client_id, online in ((GATEWAY, False), ("cti-gateway-hq-5e6f7a8b", True)):
                await bus.publish(
                    topics.presence(SITE, client_id),
                    Presence(client_id=client_id, online=online, ts=time.time()),
                    qos=1,
                    retain=True,
                )
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset()
            # The new process announces itself: the next change is its announcement (a restored old gateway
            # would have come first, with the old capabilities).
            await bus.publish(
                topics.cti_capabilities(SITE),
                CtiCapabilities(
                    online=True, ts=time.time(), capabilities=["answer", "hangup"], client_id="cti-gateway-hq-5e6f7a8b"
                ),
                qos=1,
                retain=True,
            )
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == {Capability.ANSWER, Capability.HANGUP}
            assert desk.gateway is not None and desk.gateway.client_id == "cti-gateway-hq-5e6f7a8b"
            await desk.close()

    asyncio.run(go())
