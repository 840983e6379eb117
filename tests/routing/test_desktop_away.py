"""An agent whose desktop is gone (AcdEngine.set_agent_away): offered nothing, its state kept."""

from __future__ import annotations

from routing.engine import AcdEngine
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAnswered,
    CallEnded,
    CallId,
    CallQueued,
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
    Tick,
)

A, B = AgentId("a7"), AgentId("a8")


def engine_with_two_agents() -> AcdEngine:
    engine = AcdEngine([QueueConfig("sales", skill="sales", wrap_up_s=5.0)])
    engine.handle(AgentLoggedOn(ts=0.0, agent_id=A, skills={"sales": 5}))  # the longest idle
    engine.handle(AgentLoggedOn(ts=1.0, agent_id=B, skills={"sales": 5}))
    return engine


def offers(decisions: list[object]) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, OfferCall)]


def test_an_agent_away_is_offered_nothing_and_gets_calls_again_when_back() -> None:
    engine = engine_with_two_agents()
    assert engine.set_agent_away(A, True, 2.0) == []
    assert engine.agent_away(A) and engine.agent_status(A) is AgentStatus.READY
    assert offers(engine.handle(CallQueued(ts=3.0, call_id=CallId("c1"), queue="sales"))) == [("c1", B)]
    assert offers(engine.handle(CallQueued(ts=4.0, call_id=CallId("c2"), queue="sales"))) == []  # a7 is away
    # Back: it takes the waiting call at once, in the state it had.
    assert offers(engine.set_agent_away(A, False, 5.0)) == [("c2", A)]
    assert not engine.agent_away(A)


def test_an_offer_ringing_is_taken_back_and_goes_to_another_agent() -> None:
    engine = engine_with_two_agents()
    engine.handle(AgentStateRequested(ts=1.5, agent_id=B, state=AgentStatus.NOT_READY, reason="break"))
    assert offers(engine.handle(CallQueued(ts=2.0, call_id=CallId("c1"), queue="sales"))) == [("c1", A)]
    engine.handle(AgentStateRequested(ts=2.5, agent_id=B, state=AgentStatus.READY))  # c1 already rings at a7
    decisions = engine.set_agent_away(A, True, 3.0)
    assert [(d.call_id, d.agent_id, d.reason) for d in decisions if isinstance(d, OfferWithdrawn)] == [
        ("c1", A, "desktop_gone")
    ]
    assert offers(decisions) == [("c1", B)]
    assert engine.agent_status(A) is AgentStatus.READY and engine.call_agent(CallId("c1")) == B


def test_a_call_in_progress_goes_on_and_wrap_up_ends_without_an_offer() -> None:
    engine = engine_with_two_agents()
    engine.handle(AgentStateRequested(ts=1.5, agent_id=B, state=AgentStatus.NOT_READY, reason="break"))
    engine.handle(CallQueued(ts=2.0, call_id=CallId("c1"), queue="sales"))
    engine.handle(CallAnswered(ts=3.0, call_id=CallId("c1")))
    engine.set_agent_away(A, True, 4.0)
    assert engine.agent_status(A) is AgentStatus.ON_CALL
    engine.handle(CallEnded(ts=5.0, call_id=CallId("c1")))
    engine.handle(CallQueued(ts=6.0, call_id=CallId("c2"), queue="sales"))
    assert offers(engine.handle(Tick(ts=20.0))) == []  # wrap-up over: ready, but away
    assert engine.agent_status(A) is AgentStatus.READY and engine.call_agent(CallId("c2")) is None


def test_logging_off_ends_the_away_and_a_new_log_on_is_offered_calls() -> None:
    engine = engine_with_two_agents()
    engine.set_agent_away(A, True, 2.0)
    engine.handle(AgentStateRequested(ts=3.0, agent_id=A, state=AgentStatus.LOGGED_OFF))
    assert not engine.agent_away(A)
    assert engine.set_agent_away(A, True, 3.5) == [] and not engine.agent_away(A)  # logged off: nothing to park
    engine.handle(AgentStateRequested(ts=3.8, agent_id=B, state=AgentStatus.NOT_READY, reason="break"))
    engine.handle(AgentLoggedOn(ts=4.0, agent_id=A, skills={"sales": 5}))
    assert offers(engine.handle(CallQueued(ts=5.0, call_id=CallId("c1"), queue="sales"))) == [("c1", A)]
