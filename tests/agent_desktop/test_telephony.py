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
