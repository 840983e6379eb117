"""The desktop hears when the telephony link loses the telephone system, and when it is back."""

from __future__ import annotations

from agent_desktop.telephony import LinkThread
from cti.sim import SimLink, SimPbx

from .test_workstation import Desk, desk  # noqa: F401  (the desktop on a simulated PBX)


async def _cut(link: SimLink) -> None:
    link.cut("PBX restarting")


async def _restore(link: SimLink) -> None:
    link.restore()


def test_link_down_and_up_reach_the_gui(qtbot) -> None:
    link = SimLink(SimPbx(extensions=["1001"]))
    thread = LinkThread(link)
    with qtbot.waitSignal(thread.link_up, timeout=5000):
        thread.start()
    try:
        with qtbot.waitSignal(thread.link_down, timeout=5000) as down:
            thread.call_soon(_cut(link)).result(5)
        assert down.args == ["PBX restarting"]
        with qtbot.waitSignal(thread.link_up, timeout=5000):
            thread.call_soon(_restore(link)).result(5)
    finally:
        thread.stop()


def test_the_telephony_buttons_grey_out_while_the_link_is_down(qtbot, desk: Desk) -> None:  # noqa: F811
    w = desk.window
    sim = desk.link.link
    assert isinstance(sim, SimLink)
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    qtbot.waitUntil(lambda: w.softphone.answer_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(w.link.link_down, timeout=5000):
        desk.on_link(lambda: sim.cut("PBX restarting"))
    assert not w.softphone.answer_button.isEnabled() and w.link.capabilities == frozenset()
    assert w.link_label.text() == "Telephony link lost: PBX restarting"
    with qtbot.waitSignal(w.link.link_up, timeout=5000):
        desk.on_link(sim.restore)
    assert w.softphone.answer_button.isEnabled() and w.link_label.text() == ""


def test_the_agents_state_is_said_again_when_the_link_is_back(qtbot, desk: Desk) -> None:  # noqa: F811
    """A gateway started again (or a softphone's link, which keeps the agent's state itself) has lost who is
    logged on where: when the link is back the desktop says the agent's state and extension again."""
    from bus.messages import AgentState, AgentStateName

    w = desk.window
    sim = desk.link.link
    assert isinstance(sim, SimLink)
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.link.link_down, timeout=5000):
        desk.on_link(lambda: sim.cut("gateway restarting"))
    desk.on_link(lambda: sim.pbx._agents.clear())  # what the new gateway knows of the agents: nothing

    def said_again(event: object) -> bool:
        return isinstance(event, AgentState) and (event.agent_id, event.state, event.extension) == (
            "alice", AgentStateName.READY, "1001")

    with qtbot.waitSignal(w.link.event_received, timeout=5000, check_params_cb=said_again):
        desk.on_link(sim.restore)
    assert w.session.state is AgentStateName.READY


def test_the_state_the_agent_chose_is_the_one_said_again() -> None:
    from agent_desktop.session import AgentSession
    from bus.messages import AgentStateName

    session = AgentSession("alice", "1001", wrap_up_seconds=30, now=0.0)
    assert session.chosen_state() is None, "logged off: nothing to say"
    session.log_on(0.0)
    assert session.chosen_state() == (AgentStateName.NOT_READY, "logged on")
