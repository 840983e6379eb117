"""The gateway acts on who sent a command (the topic), answers every command and never stops serving.

In-process bus here; tests/end2end/test_broker_trust.py runs the same rules on Mosquitto with the
shipped ACL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bus import topics
from bus.messages import AcdLeader, CallEvent, Command, CommandResult
from bus.transport import InProcessBus, Subscription
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx

SITE = "hq"
TIMEOUT = 5.0


@dataclass
class Rig:
    bus: InProcessBus
    pbx: SimPbx
    gateway: Gateway


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    bus = InProcessBus()
    pbx = SimPbx(extensions=["1001", "1002"])
    link = SimLink(pbx)
    async with bus:
        gateway = Gateway(link, bus, site=SITE)
        await gateway.start()
        await link.connect()
        runner = asyncio.create_task(gateway.run())
        try:
            yield Rig(bus, pbx, gateway)
        finally:
            await link.close()
            await asyncio.wait_for(runner, TIMEOUT)


async def result(inbox: Subscription, command_id: str) -> CommandResult:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = (await inbox.get()).message
            if isinstance(message, CommandResult) and message.command_id == command_id:
                return message


async def ask(bus: InProcessBus, inbox: Subscription, topic: str, command: Command) -> CommandResult:
    await bus.publish(topic, command, qos=1)
    return await result(inbox, command.command_id)


def agent_command(command_id: str, name: str, **fields: Any) -> Command:
    return Command(command_id=command_id, name=name, ts=0.0, **fields)


async def logged_in(r: Rig, agent: str, extension: str) -> Subscription:
    inbox = await r.bus.subscribe(topics.agent_events(SITE, agent))
    login = agent_command(f"login-{agent}", "set_agent_state", args={"state": "ready", "extension": extension})
    assert (await ask(r.bus, inbox, topics.agent_commands(SITE, agent), login)).ok
    return inbox


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"failed: agent a7: command")
def test_an_agent_commands_only_its_own_extension_and_calls() -> None:
    async def go() -> None:
        async with rig() as r:
            a7 = await logged_in(r, "a7", "1001")
            a8 = await logged_in(r, "a8", "1002")
            r.pbx.schedule_inbound(0.0, "+14155550100", "800", ring="1002")
            r.pbx.advance(0.0)
            seen: list[str] = []
            while "call.alerting" not in seen:  # a8 hears of its call on its own topic
                message = (await a8.get(timeout=TIMEOUT)).message
                if isinstance(message, CallEvent):
                    seen.append(message.type)
            mine = topics.agent_commands(SITE, "a7")
            refused = [
                agent_command("c1", "hangup", call_id="sim-1"),  # a8's call
                agent_command("c2", "make_call", args={"from_device": "1002", "to_number": "+19005550100"}),
                agent_command("c3", "set_agent_state", agent_id="a8", args={"state": "logged_off"}),
                agent_command("c4", "set_agent_state", args={"state": "ready", "extension": "1002"}),
                agent_command("c5", "dial_out", args={"number": "+19005550100", "queue": "sales"}),
                agent_command("c6", "deliver", call_id="sim-1", args={"extension": "1001", "epoch": 9 * 10**18}),
                agent_command("c7", "answer", call_id="sim-1", args={"device": "1002"}),
            ]
            for command in refused:
                reply = await ask(r.bus, a7, mine, command)
                assert not reply.ok and reply.result["kind"] == "Forbidden", (command.command_id, reply)
            assert r.pbx.live_calls == ["sim-1"] and r.gateway.acd_epoch == 0
            # Its own extension and calls work.
            made = await ask(r.bus, a7, mine, agent_command(
                "c8", "make_call", args={"from_device": "1001", "to_number": "+14155550101"}))
            assert made.ok
            assert (await ask(r.bus, a7, mine, agent_command("c9", "hangup", call_id=made.result["call_id"]))).ok

    asyncio.run(go())


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"failed: .*(must be|more than one step|epoch)")
def test_malformed_and_absurd_commands_get_an_error_and_the_gateway_serves_on() -> None:
    async def go() -> None:
        async with rig() as r:
            a7 = await logged_in(r, "a7", "1001")
            results = await r.bus.subscribe(topics.cti_results(SITE))
            mine = topics.agent_commands(SITE, "a7")
            bad = await ask(r.bus, a7, mine, agent_command("m1", "answer", args=[]))  # type: ignore[arg-type]
            assert not bad.ok and "'args' must be an object" in (bad.error or "")
            await r.bus.publish(topics.acd_leader(SITE), AcdLeader(client_id="acd-1", epoch=3, ts=0.0), retain=True)
            acd = topics.cti_commands(SITE)
            absurd = await ask(r.bus, results, acd, agent_command(
                "e1", "fallback", call_id="sim-9", args={"action": "voicemail", "epoch": 9 * 10**18}))
            assert not absurd.ok and absurd.result["kind"] == "BadEpoch"
            text = await ask(r.bus, results, acd, agent_command("e2", "fallback", args={"epoch": "9"}))
            assert text.result["kind"] == "BadEpoch"
            assert r.gateway.acd_epoch == 3
            # The leader's next command still goes through, and so do the agent's.
            r.pbx.schedule_inbound(0.0, "+14155550100", "800", queue="sales")
            r.pbx.advance(0.0)
            deliver = agent_command("d1", "deliver", call_id="sim-1", args={"extension": "1001", "epoch": 3})
            assert (await ask(r.bus, results, acd, deliver)).ok
            live = await ask(r.bus, a7, mine, agent_command("l1", "live_calls", args={"call_ids": ["sim-1"]}))
            assert live.ok and live.result == {"live": ["sim-1"]}

    asyncio.run(go())


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_NAMES = st.sampled_from(["make_call", "answer", "hangup", "hold", "consult", "attended_transfer", "mute",
                          "set_agent_state", "attach_data", "live_calls", "deliver", "dial_out", "fallback",
                          "withdraw", "", "nonsense"])
_ARG_NAMES = st.sampled_from(["call_id", "device", "from_device", "to_number", "extension", "state", "data",
                              "digits", "epoch", "call_ids", "consult_call_id", "number", "queue", "action"])
_ARGS = st.dictionaries(_ARG_NAMES, _JSON, max_size=5) | _JSON


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    commands=st.lists(
        st.tuples(
            st.booleans(),  # the ACD's topic, or agent a7's
            st.text(min_size=1, max_size=6),  # command id
            _NAMES | st.text(max_size=5),
            _ARGS,
            st.none() | st.text(max_size=6) | st.just("sim-1"),  # call_id
            st.none() | st.just("a7") | st.just("a8") | st.text(max_size=4),  # agent_id
        ),
        min_size=1,
        max_size=4,
    )
)
def test_fuzzed_commands_each_get_a_result_and_never_stop_the_gateway(commands: list[tuple[Any, ...]]) -> None:
    async def go() -> None:
        async with rig() as r:
            a7 = await logged_in(r, "a7", "1001")
            everything = await r.bus.subscribe(topics.everything(SITE))
            for n, (acd, command_id, name, args, call_id, agent_id) in enumerate(commands):
                command = Command(command_id=f"f{n}-{command_id}", name=name, ts=0.0, args=args, call_id=call_id,
                                  agent_id=agent_id)
                topic = topics.cti_commands(SITE) if acd else topics.agent_commands(SITE, "a7")
                await r.bus.publish(topic, command, qos=1)
                await result(everything, command.command_id)  # answered, wherever
            alive = agent_command("alive", "live_calls", args={"call_ids": []})
            assert (await ask(r.bus, a7, topics.agent_commands(SITE, "a7"), alive)).ok

    # Refusals (warnings) are expected here, in any number; an error (a command that failed
    # unexpectedly, a loop that broke) still fails the test (tests/helpers/logfail.py).
    gateway_logger = logging.getLogger("cti.gateway")
    level = gateway_logger.level
    gateway_logger.setLevel(logging.ERROR)
    try:
        asyncio.run(go())
    finally:
        gateway_logger.setLevel(level)


def test_an_agents_events_carry_what_the_site_knew_of_its_call_and_the_ivrs_data() -> None:
    async def go() -> None:
        async with rig() as r:
            a7 = await logged_in(r, "a7", "1001")
            r.pbx.schedule_inbound(0.0, "+14155550100", "800", queue="sales")
            r.pbx.advance(0.0)
            # The IVR attaches data on the call's topic before the ACD delivers the call.
            ivr = CallEvent(type="call.data", call_id="sim-1", ts=1.0, data={"customer_id": "42"})
            await r.bus.publish(topics.call(SITE, "sim-1"), ivr, qos=1)
            deliver = agent_command("d1", "deliver", call_id="sim-1", args={"extension": "1001", "epoch": 1})
            await ask(r.bus, await r.bus.subscribe(topics.cti_results(SITE)), topics.cti_commands(SITE), deliver)
            got: list[CallEvent] = []
            while not any(e.type == "call.alerting" for e in got):
                message = (await a7.get(timeout=TIMEOUT)).message
                if isinstance(message, CallEvent):
                    got.append(message)
            known = got[0]
            assert known.type == "call.data" and known.calling == "+14155550100"
            assert known.data == {"customer_id": "42"} and known.queue == "sales"
            later = CallEvent(type="call.data", call_id="sim-1", ts=2.0, data={"intent": "billing"})
            await r.bus.publish(topics.call(SITE, "sim-1"), later, qos=1)
            while True:
                message = (await a7.get(timeout=TIMEOUT)).message
                if isinstance(message, CallEvent) and message.data.get("intent") == "billing":
                    break

    asyncio.run(go())
