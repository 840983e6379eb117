"""The link thread: commands reach the PBX in the order the agent gave them."""

from __future__ import annotations

import asyncio
import threading

from agent_desktop.telephony import LinkThread
from bus.messages import AgentStateName
from cti.sim import SimLink, SimPbx


class SlowFirstLink(SimLink):
    """A link whose first state change is slow to go through (a busy PBX or broker)."""

    def __init__(self) -> None:
        super().__init__(SimPbx(extensions=["1001"]))
        self.gate: asyncio.Event | None = None
        self.released = threading.Event()
        self.order: list[str] = []

    async def set_agent_state(self, agent_id: str, state: AgentStateName, **kwargs: object) -> None:
        if self.gate is None:
            self.gate = asyncio.Event()
            self.released.set()
            await self.gate.wait()
        self.order.append(state.value)


def test_commands_run_in_the_order_given(qtbot) -> None:
    link = SlowFirstLink()
    thread = LinkThread(link)
    thread.start()
    try:
        first = thread.command("set_agent_state", "alice", AgentStateName.NOT_READY)
        second = thread.command("set_agent_state", "alice", AgentStateName.READY)
        assert link.released.wait(5)
        assert not second.done(), "the second command waits for the first"
        thread.call_soon(_release(link)).result(5)
        first.result(5)
        second.result(5)
        assert link.order == ["not_ready", "ready"]
    finally:
        thread.stop()


async def _release(link: SlowFirstLink) -> None:
    assert link.gate is not None
    link.gate.set()


async def _loop_of_caller() -> object:
    return asyncio.get_running_loop()


def test_link_threads_share_a_network_thread_and_stop_one_by_one(qtbot) -> None:
    from agent_desktop.telephony import NetworkThread

    network = NetworkThread("shared")
    network.start()
    pbx = SimPbx(extensions=["1001", "1002"])
    first = LinkThread(SimLink(SimPbx(extensions=["1004"])))
    second = LinkThread(SimLink(SimPbx(extensions=["1003"])), network=network)
    shared = LinkThread(SimLink(pbx), network=network)
    try:
        second.start()
        shared.start()
        first.start()  # a link thread without a network thread has one of its own
        loops = {thread.call_soon(_loop_of_caller()).result(5) for thread in (second, shared)}
        assert loops == {network.loop} and first.call_soon(_loop_of_caller()).result(5) is not network.loop
        qtbot.waitUntil(lambda: second.running and shared.running, timeout=5000)
        second.stop()
        assert not second.running and shared.running and network.running, "the others go on"
        shared.command("set_agent_state", "alice", AgentStateName.READY, extension="1001").result(5)
        assert second.command("set_agent_state", "bob", AgentStateName.READY).exception(5) is not None
    finally:
        for thread in (first, second, shared):
            thread.stop()
        network.stop()
    assert not network.running
