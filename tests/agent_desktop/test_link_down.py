"""The desktop hears when the telephony link loses the telephone system, and when it is back."""

from __future__ import annotations

from agent_desktop.telephony import LinkThread
from cti.sim import SimLink, SimPbx


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
