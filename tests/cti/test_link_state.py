"""The CTI link's up/down state on the bus: ``cti.capabilities`` says when the telephone system is lost.

While the gateway's link is down its retained capabilities say ``online`` false with ``link_up`` false,
since when and why; commands are refused with that reason; desktops (``BusLink``) see the link down
and no capabilities; the ACD offers no call. Back up, all of it turns back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, Command, CommandResult, CtiCapabilities
from bus.transport import InProcessBus, Subscription
from cti.ami.client import AmiLink, AmiSettings
from cti.buslink import BusLink
from cti.errors import LinkUnavailable
from cti.gateway import Gateway
from cti.link import CtiLink
from cti.model import Capability
from cti.sim import SimLink, SimPbx
from routing.acd_config import AcdConfig, AgentProfile
from routing.adapter import AcdAdapter
from routing.model import OfferCall, QueueConfig
from tests.helpers import until

from .ami_server import FakeAsterisk, ReplayAsterisk
from .test_asterisk_captures import CAPTURES, MANAGER_CONF

SITE = "ls"
ACD_CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=10.0),),
    agents={"alice": AgentProfile({"sales": 5}, "1001")},
)


class Announcements:
    """Every ``cti.capabilities`` the gateway publishes, in order."""

    def __init__(self, subscription: Subscription) -> None:
        self.seen: list[CtiCapabilities] = []
        self._task = asyncio.create_task(self._read(subscription))

    async def _read(self, subscription: Subscription) -> None:
        async for envelope in subscription:
            if isinstance(envelope.message, CtiCapabilities):
                self.seen.append(envelope.message)

    async def wait(self, n: int) -> list[CtiCapabilities]:
        await until(lambda: len(self.seen) >= n)
        return self.seen


async def with_gateway(link: CtiLink, scenario: Callable[[InProcessBus, Gateway, Announcements], Awaitable[None]],
                       *, connect: bool = True) -> None:
    bus = InProcessBus()
    async with bus:
        announcements = Announcements(await bus.subscribe(topics.cti_capabilities(SITE)))
        gateway = Gateway(link, bus, site=SITE)
        await gateway.start()
        if connect:
            await link.connect()
        runner = asyncio.create_task(gateway.run())
        try:
            await scenario(bus, gateway, announcements)
        finally:
            await link.close()
            await runner


async def deliver(bus: InProcessBus, command_id: str) -> CommandResult:
    results = await bus.subscribe(topics.cti_results(SITE))
    command = Command(command_id=command_id, name="deliver", ts=0.0, call_id="c1", args={"extension": "1001"})
    await bus.publish(topics.cti_commands(SITE), command, qos=1)
    async for envelope in results:
        message = envelope.message
        if isinstance(message, CommandResult) and message.command_id == command_id:
            await results.close()
            return message
    raise AssertionError("no result")


def offers_while(announcements: list[CtiCapabilities]) -> list[list[str]]:
    """Feed an ACD with a ready agent the gateway's announcements, a call queued after each: what it offers."""
    acd = AcdAdapter(ACD_CONFIG, SITE)
    acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    offered: list[list[str]] = []
    for n, message in enumerate(announcements, start=1):
        decisions = acd.receive(message, float(n))
        if not offered or offered[-1]:
            decisions += acd.receive(CallEvent(type="queue.joined", call_id=f"c{n}", ts=float(n), queue="sales"),
                                     float(n))
        offered.append([d.call_id for d in decisions if isinstance(d, OfferCall)])
        for call_id in offered[-1]:  # answered and over: alice is free for the next one
            acd.receive(CallEvent(type="call.answered", call_id=call_id, ts=float(n)), float(n))
            acd.receive(CallEvent(type="call.ended", call_id=call_id, ts=float(n)), float(n))
    return offered


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"^command d1 \(deliver\) failed: the link to the "
                        r"telephone system is down since \d\d:\d\d:\d\d: switch room on fire$")
def test_a_sim_link_cut_is_on_the_bus_desktops_grey_out_and_the_acd_offers_nothing() -> None:
    link = SimLink(SimPbx(extensions=["1001"]))

    async def scenario(bus: InProcessBus, gateway: Gateway, announcements: Announcements) -> None:
        [first] = await announcements.wait(1)
        assert first.online and first.link_up and first.link_since is None
        desktop = BusLink(bus, site=SITE, agent_id="alice")
        told: list[tuple[bool, str]] = []
        desktop.on_link_state(lambda up, reason: told.append((up, reason)))
        await desktop.connect()
        assert desktop.capabilities and desktop.link_up

        link.cut("switch room on fire")
        _, down = await announcements.wait(2)
        assert not down.online and not down.link_up and down.link_reason == "switch room on fire"
        assert down.link_since is not None and down.link_since == link.link_since
        assert down.capabilities == first.capabilities  # what it can do once back
        await until(lambda: not desktop.link_up)
        assert desktop.capabilities == frozenset() and told == [(False, desktop.link_reason)]
        assert "switch room on fire" in desktop.link_reason and "down since" in desktop.link_reason
        with pytest.raises(LinkUnavailable, match="switch room on fire"):
            await desktop.set_agent_state("alice", "ready", extension="1001")
        result = await deliver(bus, "d1")
        assert not result.ok and result.result == {"kind": "LinkUnavailable"}
        assert "switch room on fire" in (result.error or "")

        link.restore()
        *_, up = await announcements.wait(3)
        assert up.online and up.link_up and up.link_since is not None and up.link_since >= down.link_since
        await until(lambda: desktop.link_up)
        assert Capability.SET_AGENT_STATE in desktop.capabilities and told[-1] == (True, "")
        assert offers_while(announcements.seen) == [["c1"], [], ["c2"]]
        await desktop.close()

    asyncio.run(with_gateway(link, scenario))


def test_the_retained_state_says_offline_to_whoever_subscribes_while_the_link_is_down() -> None:
    link = SimLink(SimPbx(extensions=["1001"]))

    async def scenario(bus: InProcessBus, gateway: Gateway, announcements: Announcements) -> None:
        await announcements.wait(1)
        link.cut("maintenance")
        await announcements.wait(2)
        late = await bus.subscribe(topics.cti_capabilities(SITE))  # a desktop or an ACD starting now
        envelope = await asyncio.wait_for(late.__anext__(), 5)
        assert isinstance(envelope.message, CtiCapabilities)
        assert not envelope.message.online and envelope.message.link_reason == "maintenance"
        acd = AcdAdapter(ACD_CONFIG, SITE)
        acd.receive(envelope.message, 1.0)
        acd.receive(AgentState(agent_id="alice", state="ready", ts=1.0), 1.0)
        assert acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=2.0, queue="sales"), 2.0) == []
        assert acd.waiting_calls() == ["c1"]
        link.restore()
        *_, up = await announcements.wait(3)
        [offer] = acd.receive(up, 3.0)
        assert isinstance(offer, OfferCall) and (offer.call_id, offer.agent_id) == ("c1", "alice")
        await late.close()

    asyncio.run(with_gateway(link, scenario))


@pytest.mark.expect_log(logging.WARNING, "cti.ami.client",
                        match=r"^AMI link to 127.0.0.1:\d+ lost: the AMI server closed the connection; reconnecting")
def test_an_asterisk_capture_cut_and_resumed_publishes_down_then_up() -> None:
    """The captured queue call, cut after the answer; the reconnection plays the rest."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    cut = capture.index(b"Event: AgentComplete")
    resync_end = capture.index(b"Event: Newchannel")

    async def main() -> None:
        server = ReplayAsterisk(capture[:cut] + capture[:resync_end], MANAGER_CONF, username="ccenter")
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="ccenter", secret="s3cret",
                                   tech="IAX2", ping_interval=3600, reconnect_min=0.01, reconnect_max=0.05,
                                   action_timeout=3.0))

        async def scenario(bus: InProcessBus, gateway: Gateway, announcements: Announcements) -> None:
            await announcements.wait(1)  # the gateway runs: the drop that comes is published
            await link.connect()
            await asyncio.wait_for(server.finished.wait(), 5)
            await until(lambda: link.sessions == 2 and link.logged_in.is_set())
            first, down, up = await announcements.wait(3)
            assert [(m.online, m.link_up) for m in (first, down, up)] == [(True, True), (False, False), (True, True)]
            assert down.link_reason.endswith("the AMI server closed the connection")
            assert down.link_since is not None and up.link_since is not None and up.link_since >= down.link_since
            assert first.capabilities == up.capabilities == sorted(c.value for c in link.capabilities)

        try:
            await with_gateway(link, scenario, connect=False)
        finally:
            await server.stop()

    asyncio.run(main())


@pytest.mark.expect_log(logging.WARNING, "cti.ami.client", match=r"^AMI link to 127.0.0.1:\d+ lost: ")
@pytest.mark.expect_log(logging.WARNING, "cti.gateway",
                        match=r"^command d1 \(deliver\) failed: the link to the telephone system is down since ")
def test_asterisk_away_for_a_while_then_back() -> None:
    async def main() -> None:
        server = FakeAsterisk()
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="cc", secret="s3cret",
                                   reconnect_min=0.02, reconnect_max=0.1, action_timeout=2.0, connect_timeout=3.0))

        async def scenario(bus: InProcessBus, gateway: Gateway, announcements: Announcements) -> None:
            await announcements.wait(1)
            await server.stop()  # Asterisk stops: the connection drops and nobody answers
            _, down = await announcements.wait(2)
            assert not down.online and not down.link_up and down.link_since is not None
            result = await deliver(bus, "d1")
            assert not result.ok and result.result == {"kind": "LinkUnavailable"}
            assert server.redirects == []
            await server.start()  # back, on the same port
            await until(lambda: link.logged_in.is_set())
            *_, up = await announcements.wait(3)
            assert up.online and up.link_up
            assert [(m.online, m.link_up) for m in announcements.seen] == [(True, True), (False, False), (True, True)]

        try:
            await with_gateway(link, scenario)
        finally:
            await server.stop()

    asyncio.run(main())
