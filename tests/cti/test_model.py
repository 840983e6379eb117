from __future__ import annotations

import asyncio

import pytest

from bus.messages import CallEvent, Command
from cti.errors import LocalProtocolError, UnsupportedCommand
from cti.link import CtiLink, dispatch
from cti.model import CallState, CallTracker, Capability


def ev(type_: str, call_id: str = "c1", ts: float = 1.0, **kw: object) -> CallEvent:
    return CallEvent(type=type_, call_id=call_id, ts=ts, **kw)  # type: ignore[arg-type]


def test_tracker_follows_a_call_to_its_end() -> None:
    tracker = CallTracker()
    tracker.apply(ev("call.offered", calling="+15551230000", called="800"))
    tracker.apply(ev("call.alerting", extension="1001"))
    call = tracker.apply(ev("call.answered", ts=5.0, extension="1001", agent_id="a1"))
    assert call is not None and call.state is CallState.CONNECTED and call.answered == 5.0
    tracker.apply(ev("call.data", data={"account": "42"}))
    held = tracker.apply(ev("call.held", extension="1001"))
    assert held is not None and held.state is CallState.HELD and held.data == {"account": "42"}
    # A late alerting never moves an answered call back.
    assert tracker.apply(ev("call.alerting")).state is CallState.HELD  # type: ignore[union-attr]
    assert len(tracker) == 1
    ended = tracker.apply(ev("call.ended", cause="normal"))
    assert ended is not None and ended.state is CallState.ENDED
    assert len(tracker) == 0


class NoopLink(CtiLink):
    capabilities = frozenset({Capability.HANGUP})

    def __init__(self) -> None:
        super().__init__()
        self.hung_up: list[tuple[str, str | None]] = []

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        self._end_events()

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        self.hung_up.append((call_id, device))


def test_dispatch_runs_supported_and_refuses_the_rest() -> None:
    link = NoopLink()

    async def go() -> None:
        await dispatch(link, Command(command_id="1", name="hangup", ts=0.0, call_id="c9"))
        with pytest.raises(UnsupportedCommand, match="cannot hold"):
            await dispatch(link, Command(command_id="2", name="hold", ts=0.0, call_id="c9"))
        with pytest.raises(UnsupportedCommand):
            await link.make_call("1001", "5551234")

    asyncio.run(go())
    assert link.hung_up == [("c9", None)]


def test_dispatch_names_a_missing_argument() -> None:
    class AnswerLink(NoopLink):
        capabilities = frozenset({Capability.ANSWER})

    with pytest.raises(LocalProtocolError, match="lacks 'device'"):
        asyncio.run(dispatch(AnswerLink(), Command(command_id="7", name="answer", ts=0.0, call_id="c1")))


def test_events_end_when_link_closes() -> None:
    async def go() -> list[object]:
        link = NoopLink()
        link._emit(ev("call.offered"))
        await link.close()
        return [e async for e in link.events()]

    assert [e.type for e in asyncio.run(go())] == ["call.offered"]  # type: ignore[attr-defined]
