"""Impossible routing with a call's extra skills, and statistics per priority."""

from __future__ import annotations

from routing.engine import AcdEngine
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFallback,
    CallId,
    CallOverflowed,
    CallQueued,
    CallUnroutable,
    Decision,
    FallbackAction,
    OfferCall,
    QueueConfig,
)


def login(engine: AcdEngine, ts: float, agent: str, ready: bool = True, **skills: int) -> list[Decision]:
    return engine.handle(AgentLoggedOn(ts=ts, agent_id=AgentId(agent), skills=skills, ready=ready))


def queue_call(engine: AcdEngine, ts: float, call: str, priority: int = 0, **skills: int) -> list[Decision]:
    return engine.handle(CallQueued(ts=ts, call_id=CallId(call), queue="sales", priority=priority, skills=skills))


def test_extra_skill_nobody_has_is_unroutable_and_falls_back() -> None:
    engine = AcdEngine([QueueConfig("sales", max_wait_s=600, fallback=FallbackAction.CALLBACK)])
    login(engine, 0, "a1", ready=False, sales=5)
    login(engine, 0, "a2", ready=False, sales=3, french=8)
    decisions = queue_call(engine, 1, "c1", french=5, sales=4)  # a1 lacks french, a2 has sales 3 < 4
    assert [type(d) for d in decisions] == [CallUnroutable, CallFallback]
    assert isinstance(decisions[0], CallUnroutable)
    assert "french>=5" in decisions[0].reason and "sales>=4" in decisions[0].reason
    assert engine.queue_statistics("sales", 1).unroutable == 1
    # The same call with a level someone has is routable and waits for that agent.
    assert queue_call(engine, 2, "c2", french=5) == []
    assert engine.handle(AgentStateRequested(ts=3, agent_id=AgentId("a2"), state=AgentStatus.READY)) == [
        OfferCall(3, CallId("c2"), AgentId("a2"), "sales")
    ]


def test_extra_skills_split_over_two_agents_are_not_enough_and_the_call_overflows() -> None:
    engine = AcdEngine([QueueConfig("sales", overflow_after_s=300, overflow_to=("general",)), QueueConfig("general")])
    login(engine, 0, "fr", ready=False, sales=5, french=5)
    login(engine, 0, "vip", ready=False, sales=5, vip=5, general=2)
    decisions = queue_call(engine, 1, "c1", french=1, vip=1)
    assert [type(d) for d in decisions] == [CallUnroutable, CallOverflowed]
    # Overflowed, the call may go to any agent of the general queue.
    assert engine.handle(AgentStateRequested(ts=2, agent_id=AgentId("vip"), state=AgentStatus.READY)) == [
        OfferCall(2, CallId("c1"), AgentId("vip"), "sales")
    ]


def test_a_relaxing_queue_does_not_call_extra_skills_impossible() -> None:
    engine = AcdEngine([QueueConfig("sales", relax_after_s=30, max_wait_s=600, fallback=FallbackAction.VOICEMAIL)])
    login(engine, 0, "a1", ready=False, sales=5)
    assert queue_call(engine, 1, "c1", french=5) == []  # after 30 s it only needs sales


def test_last_agent_with_the_extra_skill_logging_off_after_its_call_makes_waiting_calls_unroutable() -> None:
    engine = AcdEngine([QueueConfig("sales", max_wait_s=600, fallback=FallbackAction.CALLBACK)])
    login(engine, 0, "fr", sales=5, french=5)
    login(engine, 0, "a1", ready=False, sales=5)
    assert queue_call(engine, 1, "c1") == [OfferCall(1, CallId("c1"), AgentId("fr"), "sales")]
    engine.handle(CallAnswered(ts=2, call_id=CallId("c1")))
    assert queue_call(engine, 3, "c2", french=5) == []
    engine.handle(AgentStateRequested(ts=4, agent_id=AgentId("fr"), state=AgentStatus.LOGGED_OFF))  # after the call
    decisions = engine.handle(CallEnded(ts=5, call_id=CallId("c1")))
    assert [type(d).__name__ for d in decisions] == ["AgentStateSet", "CallUnroutable", "CallFallback"]


def test_statistics_per_priority() -> None:
    engine = AcdEngine([QueueConfig("sales", sl_seconds=20)])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 0, "low1", priority=0)
    queue_call(engine, 0, "low2", priority=0)
    queue_call(engine, 5, "vip", priority=9)
    offered = engine.handle(AgentStateRequested(ts=10, agent_id=AgentId("a1"), state=AgentStatus.READY))
    assert offered == [OfferCall(10, CallId("vip"), AgentId("a1"), "sales")]
    engine.handle(CallAnswered(ts=10, call_id=CallId("vip")))
    engine.handle(CallAbandoned(ts=40, call_id=CallId("low2")))
    by_priority = engine.priority_statistics("sales")
    assert list(by_priority) == [0, 9]
    vip, low = by_priority[9], by_priority[0]
    assert (vip.offered, vip.answered, vip.abandoned, vip.service_level, vip.asa_s) == (1, 1, 0, 1.0, 5.0)
    assert (low.offered, low.answered, low.abandoned, low.service_level, low.asa_s) == (2, 0, 1, 0.0, None)
    total = engine.queue_statistics("sales", 40)
    assert total.offered == sum(s.offered for s in by_priority.values())
    assert total.answered == sum(s.answered for s in by_priority.values())
    engine.start_interval(50)
    assert engine.priority_statistics("sales", interval=True) == {}
    assert engine.priority_statistics("sales")[9].answered == 1
