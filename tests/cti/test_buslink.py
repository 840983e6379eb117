"""BusLink ↔ CTI gateway (over SimLink), on the in-process bus and on the real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bus import topics
from bus.messages import AgentState, AgentStateName, CallEvent, Command, CommandResult, CtiCapabilities
from bus.mqtt import MqttBus
from bus.transport import Bus, InProcessBus
from cti.buslink import BusLink
from cti.errors import CommandFailed, LinkUnavailable, LocalProtocolError, UnsupportedCommand
from cti.gateway import Gateway, gateway_will
from cti.link import CtiLink
from cti.model import CallTracker, Capability, LinkEvent
from cti.sim import SimLink, SimPbx

TIMEOUT = 5.0


class Recorder:
    """Collects a link's events; ``await until(predicate)`` waits for them without sleeping."""

    def __init__(self, link: CtiLink) -> None:
        self.events: list[LinkEvent] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._run(link))

    async def _run(self, link: CtiLink) -> None:
        async for event in link.events():
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def until(self, predicate: Callable[[list[LinkEvent]], bool], timeout: float = TIMEOUT) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.events)), timeout)

    async def call_event(self, kind: str, call_id: str, **fields: object) -> CallEvent:
        def match(event: LinkEvent) -> bool:
            return (
                isinstance(event, CallEvent)
                and event.type == kind
                and event.call_id == call_id
                and all(getattr(event, k) == v for k, v in fields.items())
            )

        await self.until(lambda events: any(match(e) for e in events))
        found = next(e for e in self.events if match(e))
        assert isinstance(found, CallEvent)
        return found

    async def stop(self) -> None:
        await asyncio.wait_for(self._task, TIMEOUT)


@dataclass
class Rig:
    site: str
    pbx: SimPbx
    link: SimLink
    gateway: Gateway
    gateway_bus: Bus
    desk_bus: Bus


@pytest.fixture(params=["inproc", "mqtt"])
def transport(request: pytest.FixtureRequest) -> str | None:
    """``None`` for the in-process bus, else the real broker's URL."""
    if request.param == "inproc":
        return None
    url: str = request.getfixturevalue("mqtt_url")
    return url


def _bus(url: str | None, shared: InProcessBus, client_id: str, site: str) -> Bus:
    return shared if url is None else MqttBus(url, client_id=client_id, site=site)


@contextlib.asynccontextmanager
async def rig(url: str | None, link: SimLink | None = None) -> AsyncIterator[Rig]:
    site = f"t{uuid.uuid4().hex[:10]}"
    shared = InProcessBus()
    gateway_bus = _bus(url, shared, f"gw-{site}", site)
    desk_bus = _bus(url, shared, f"desk-{site}", site)
    await gateway_bus.start()
    if desk_bus is not gateway_bus:
        await desk_bus.start()
    link = link or SimLink(SimPbx(extensions=["1001", "1002", "1003"]))
    gateway = Gateway(link, gateway_bus, site=site, client_id=f"cti-gateway-{site}")
    await gateway.start()
    await link.connect()
    runner = asyncio.create_task(gateway.run())
    try:
        yield Rig(site, link.pbx, link, gateway, gateway_bus, desk_bus)
    finally:
        await link.close()
        await asyncio.wait_for(runner, TIMEOUT)
        if url is not None:
            await gateway_bus.clear_retained(topics.cti_capabilities(site))
        await desk_bus.close()
        if desk_bus is not gateway_bus:
            await gateway_bus.close()


def test_full_call_through_buslink(transport: str | None) -> None:
    async def go() -> tuple[list[str], CallTracker, BusLink]:
        async with rig(transport) as r:
            desk = BusLink(r.desk_bus, site=r.site, agent_id="a1", command_timeout=TIMEOUT)
            other = BusLink(r.desk_bus, site=r.site, agent_id="a2", command_timeout=TIMEOUT)
            await desk.connect()
            await other.connect()
            seen = Recorder(desk)
            assert desk.capabilities == frozenset(Capability)
            assert desk.gateway is not None and desk.gateway.link == "SimLink"

            await desk.set_agent_state("a1", AgentStateName.READY, extension="1001")
            await seen.until(lambda ev: any(isinstance(e, AgentState) and e.state == "ready" for e in ev))
            await other.set_agent_state("a2", AgentStateName.READY, extension="1002")

            r.pbx.schedule_inbound(0.0, "5550100", "800", ring="1001")
            r.pbx.advance(0.0)
            await seen.call_event("call.alerting", "sim-1", extension="1001")
            await desk.answer("sim-1", "1001")
            answered = await seen.call_event("call.answered", "sim-1")
            assert answered.agent_id == "a1" and answered.extension == "1001"
            await desk.hold("sim-1", "1001")
            await seen.call_event("call.held", "sim-1")
            await desk.retrieve("sim-1", "1001")
            await seen.call_event("call.retrieved", "sim-1")

            consult = await desk.consult("sim-1", "1001", "1002")
            assert consult == "sim-2"
            await seen.call_event("call.alerting", consult, extension="1002")
            await other.answer(consult, "1002")
            await seen.call_event("call.answered", consult)
            await desk.attended_transfer("sim-1", consult, "1001")
            await seen.call_event("call.transferred", "sim-1", extension="1002")
            await seen.call_event("call.ended", consult, cause="transferred")
            assert r.pbx.parties("sim-1") == {"far": "connected", "1001": "null", "1002": "connected"}

            await other.hangup("sim-1", "1002")
            await seen.call_event("call.ended", "sim-1", cause="normal")
            assert r.pbx.live_calls == []
            await other.close()
            await desk.close()
            await seen.stop()
            tracker = CallTracker()
            for event in seen.events:
                tracker.apply(event)
            kinds = [e.type for e in seen.events if isinstance(e, CallEvent) and e.call_id == "sim-1"]
            return kinds, tracker, desk

    kinds, tracker, desk = asyncio.run(go())
    assert kinds == [
        "call.data",  # what the site knew of the call when it reached the agent (the offer before)
        "call.alerting",
        "call.answered",
        "call.held",
        "call.retrieved",
        "call.held",
        "call.transferred",
        "call.ended",
    ]
    assert len(tracker) == 0
    assert not desk.connected


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"\(hold\) failed: no live call 'sim-9'")
@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"\(make_call\) failed: '4711' is not an extension")
@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"\(send_dtmf\) failed: DTMF digits are")
def test_refused_commands_come_back_with_the_reason(transport: str | None) -> None:
    async def go() -> Gateway:
        async with rig(transport) as r:
            desk = BusLink(r.desk_bus, site=r.site, command_timeout=TIMEOUT)
            await desk.connect()
            with pytest.raises(CommandFailed, match="no live call 'sim-9' on the simulated PBX"):
                await desk.hold("sim-9", "1001")
            with pytest.raises(CommandFailed, match="'4711' is not an extension"):
                await desk.make_call("4711", "5550100")
            call_id = await desk.make_call("1001", "5550100", data={"account": "42"})
            assert call_id == "sim-1" and r.pbx.call_data("sim-1") == {"account": "42"}
            r.pbx.advance(5.0)  # the far end answers
            with pytest.raises(LocalProtocolError, match="DTMF digits"):
                await desk.send_dtmf(call_id, "1001", "12x")
            await desk.send_dtmf(call_id, "1001", "12#")
            assert r.pbx.dtmf_sent(call_id) == "12#"
            await desk.close()
            return r.gateway

    gateway = asyncio.run(go())
    assert gateway.commands_failed == 3 and gateway.commands_done == 2


def test_a_duplicate_command_runs_once_and_gets_the_same_result(transport: str | None) -> None:
    async def go() -> tuple[list[CommandResult], list[str], Gateway]:
        async with rig(transport) as r:
            results = await r.desk_bus.subscribe(topics.cti_results(r.site))
            command = Command(
                command_id="dup-1",
                name="make_call",
                ts=time.time(),
                args={"from_device": "1001", "to_number": "5550100"},
            )
            await r.desk_bus.publish(topics.cti_commands(r.site), command, qos=1)
            await r.desk_bus.publish(topics.cti_commands(r.site), command, qos=1)  # QoS 1 redelivery
            got = [await results.get(timeout=TIMEOUT) for _ in range(2)]
            await results.close()
            return [e.message for e in got if isinstance(e.message, CommandResult)], r.pbx.live_calls, r.gateway

    replies, live, gateway = asyncio.run(go())
    assert live == ["sim-1"]
    assert gateway.commands_done == 1
    assert [(m.command_id, m.ok, m.result, m.name) for m in replies] == [
        ("dup-1", True, {"call_id": "sim-1"}, "make_call")
    ] * 2


class _NoConference(SimLink):
    capabilities = frozenset(Capability) - {Capability.CONFERENCE, Capability.ATTENDED_TRANSFER}


def test_capabilities_follow_the_gateway() -> None:
    async def go() -> None:
        changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
        async with rig(None, _NoConference(SimPbx(extensions=["1001"]))) as r:
            desk = BusLink(r.desk_bus, site=r.site, on_capabilities=changes.put_nowait)
            await desk.connect()
            assert Capability.HOLD in desk.capabilities and Capability.CONFERENCE not in desk.capabilities
            assert await changes.get() == desk.capabilities
            with pytest.raises(UnsupportedCommand, match=r"\(_NoConference\) cannot conference"):
                await desk.conference("sim-1", "sim-2", "1001")
            assert r.gateway.commands_failed == 0  # refused before anything was sent
            await r.link.close()  # the gateway stops and says so
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset()
            assert desk.capabilities == frozenset()
            assert desk.gateway is not None and not desk.gateway.online
            with pytest.raises(LinkUnavailable, match="no CTI gateway is online"):
                await desk.hold("sim-1", "1001")
            await desk.close()

    asyncio.run(go())


def test_a_gateway_that_does_not_answer_times_out_with_a_clear_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cti.buslink")

    async def go() -> None:
        async with InProcessBus() as bus:
            changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
            desk = BusLink(
                bus, site="hq", capabilities_timeout=0.05, command_timeout=0.2, on_capabilities=changes.put_nowait
            )
            await desk.connect()  # no gateway yet: connects without capabilities
            assert desk.capabilities == frozenset()
            with pytest.raises(LinkUnavailable, match="no CTI gateway is online for site hq"):
                await desk.answer("sim-1", "1001")
            # A gateway announces itself, then never answers.
            announce = CtiCapabilities(online=True, ts=time.time(), capabilities=["answer"], link="AmiLink")
            await bus.publish(topics.cti_capabilities("hq"), announce, qos=1, retain=True)
            assert await asyncio.wait_for(changes.get(), TIMEOUT) == frozenset({Capability.ANSWER})
            with pytest.raises(CommandFailed, match=r"did not answer answer \(\w+\) within 0.2 s: is `ccenter "):
                await desk.answer("sim-1", "1001")
            await desk.close()

    asyncio.run(go())
    assert "no CTI gateway online for site hq yet" in caplog.text


# the dead gateway's own client notices its connection is gone
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=r"^MQTT link to mqtt://127.0.0.1:\d+ lost")
def test_a_gateway_that_dies_is_seen_offline_through_its_last_will(mqtt_url: str) -> None:
    """The gateway's process dies: its last will, retained on the capabilities topic, says offline (the
    desktop reads no presence topic)."""
    from tests.bus.test_mqtt import CuttableProxy

    async def go() -> None:
        site = f"t{uuid.uuid4().hex[:10]}"
        host, port = mqtt_url.removeprefix("mqtt://").split(":")
        proxy = CuttableProxy(host, int(port))
        proxy_port = await proxy.start()
        gateway_bus = MqttBus(f"mqtt://127.0.0.1:{proxy_port}", client_id=f"cti-gateway-{site}", site=site,
                              keepalive=5, will=gateway_will(site))
        desk_bus = MqttBus(mqtt_url, client_id=f"desk-{site}", site=site)
        await gateway_bus.start()
        await desk_bus.start()
        link = SimLink(SimPbx(extensions=["1001"]))
        gateway = Gateway(link, gateway_bus, site=site, client_id=f"cti-gateway-{site}")
        await gateway.start()
        await link.connect()
        runner = asyncio.create_task(gateway.run())
        changes: asyncio.Queue[frozenset[Capability]] = asyncio.Queue()
        desk = BusLink(desk_bus, site=site, on_capabilities=changes.put_nowait)
        try:
            await desk.connect()
            assert Capability.ANSWER in desk.capabilities
            await changes.get()
            runner.cancel()  # the process is gone: nothing more is said on purpose ...
            proxy.cut()  # ... and its connection drops without a goodbye
            assert await asyncio.wait_for(changes.get(), 20) == frozenset()
            assert desk.gateway is not None and not desk.gateway.online
            assert not any("/presence/" in pattern for pattern in desk._readers)
        finally:
            await desk.close()
            await gateway_bus.close()
            await desk_bus.clear_retained(topics.cti_capabilities(site))
            await desk_bus.close()
            await proxy.close()

    asyncio.run(go())


def test_the_gateway_says_which_calls_are_still_up(transport: str | None) -> None:
    async def go() -> None:
        async with rig(transport) as r:
            desk = BusLink(r.desk_bus, site=r.site, agent_id="alice")
            await desk.connect()
            events = desk.events()
            await desk.set_agent_state("alice", AgentStateName.READY, extension="1001")
            assert isinstance(await asyncio.wait_for(anext(events), TIMEOUT), AgentState)
            r.pbx.schedule_inbound(0.0, "+14155550100", "800", ring="1001")
            r.pbx.schedule_inbound(0.0, "+14155550199", "800", ring="1002")  # not alice's
            r.pbx.advance(0.0)
            seen = [await asyncio.wait_for(anext(events), TIMEOUT) for _ in range(2)]  # what was known, alerting
            assert [e.type for e in seen if isinstance(e, CallEvent)] == ["call.data", "call.alerting"]
            assert seen[0].calling == "+14155550100"  # type: ignore[union-attr]
            # Alice hears only of her own calls, and may not ask about the others.
            assert await desk.live_calls(["sim-1", "sim-2", "sim-404"]) == {"sim-1"}
            r.pbx.far_hangup("sim-1")
            await asyncio.wait_for(anext(events), TIMEOUT)  # ended
            assert await desk.live_calls(["sim-1"]) == set()
            await desk.close()

    asyncio.run(go())
