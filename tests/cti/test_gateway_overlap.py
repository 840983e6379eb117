"""The gateway does not make the whole site wait for one round trip at a time: the commands of
different senders are served side by side (each sender's in order), and call events are published
without waiting for the broker's acknowledgement of the one before, except on the same topic."""

from __future__ import annotations

import asyncio
from typing import Any

from bus import topics
from bus.messages import AgentStateName, CallEvent, Command, CommandResult, Message
from bus.transport import QOS_EVENT, InProcessBus
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx


class _HeldLink(SimLink):
    """A simulated PBX that answers an agent-state request for agent ``a1`` only when released."""

    def __init__(self, pbx: SimPbx) -> None:
        super().__init__(pbx)
        self.release = asyncio.Event()
        self.order: list[str] = []

    async def set_agent_state(self, agent_id: str, state: AgentStateName, **kw: Any) -> None:
        if agent_id == "a1" and state == AgentStateName.NOT_READY:
            await self.release.wait()
        self.order.append(f"{agent_id} {state.value if isinstance(state, AgentStateName) else state}")
        await super().set_agent_state(agent_id, state, **kw)


def _state(command_id: str, state: str, extension: str) -> Command:
    return Command(command_id=command_id, name="set_agent_state", ts=0.0, args={"state": state, "extension": extension})


def test_one_agents_slow_command_does_not_hold_up_another_agents() -> None:
    async def go() -> tuple[list[str], list[str]]:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001", "1002"])
        link = _HeldLink(pbx)
        async with bus:
            first = await bus.subscribe(topics.agent_events("hq", "a1"))
            second = await bus.subscribe(topics.agent_events("hq", "a2"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            await bus.publish(topics.agent_commands("hq", "a1"), _state("c1", "not_ready", "1001"), qos=1)
            await bus.publish(topics.agent_commands("hq", "a1"), _state("c2", "ready", "1001"), qos=1)
            await bus.publish(topics.agent_commands("hq", "a2"), _state("c3", "ready", "1002"), qos=1)
            results: list[str] = []
            while not results:  # a2's command is done while a1's first one is still at the PBX
                message = (await second.get(timeout=5)).message
                if isinstance(message, CommandResult):
                    results.append(f"{message.command_id} {message.ok}")
            assert not link.release.is_set() and link.order == ["a2 ready"]
            link.release.set()
            while len(results) < 3:
                message = (await first.get(timeout=5)).message
                if isinstance(message, CommandResult):
                    results.append(f"{message.command_id} {message.ok}")
            await link.close()
            await asyncio.wait_for(runner, 5)
            return results, link.order

    results, order = asyncio.run(go())
    assert results == ["c3 True", "c1 True", "c2 True"]  # a1's second command waited for its first
    assert order == ["a2 ready", "a1 not_ready", "a1 ready"]


class _SlowAckBus(InProcessBus):
    """Delivers every message at once, but acknowledges those on ``held`` topics only when released."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()
        self.release = asyncio.Event()

    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None:
        await super().publish(topic, message, qos=qos, retain=retain)
        if topic in self.held:
            await self.release.wait()


def test_call_events_overlap_across_calls_and_keep_their_order_on_each() -> None:
    async def go() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        bus = _SlowAckBus()
        pbx = SimPbx(extensions=["1001", "1002"])
        link = SimLink(pbx)
        async with bus:
            calls = await bus.subscribe(topics.calls("hq"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            first = await link.make_call("1001", "5550100")
            bus.held.add(topics.call("hq", first))  # the broker does not acknowledge this call's events
            await link.hangup(first, "1001")
            second = await link.make_call("1002", "5550101")
            seen: list[tuple[str, str]] = []
            while not any(call == second for call, _ in seen):
                event = (await calls.get(timeout=5)).message
                assert isinstance(event, CallEvent)
                seen.append((event.call_id, event.type))
            before = list(seen)
            bus.release.set()
            while (first, "call.ended") not in seen:
                event = (await calls.get(timeout=5)).message
                assert isinstance(event, CallEvent)
                seen.append((event.call_id, event.type))
            await link.close()
            await asyncio.wait_for(runner, 5)
            return before, seen

    before, seen = asyncio.run(go())
    first_call = seen[0][0]
    # The second call's events went out while the first call's were waiting for their acknowledgement...
    assert (first_call, "call.ended") not in before
    # ...and each call's events came in the order the PBX reported them.
    assert [t for c, t in seen if c == first_call] == ["call.offered", "call.alerting", "call.ended"]
