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
