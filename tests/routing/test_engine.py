"""The ACD engine: events in, decisions out, time passed in."""

from __future__ import annotations

import logging

import pytest

from routing.engine import AcdEngine, explain_agent, explain_call
from routing.errors import EngineError, RoutingError, ScenarioError
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentSelection,
    AgentStateRequested,
    AgentStateSet,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFallback,
    CallId,
    CallOverflowed,
    CallQueued,
    CallStatus,
    CallUnroutable,
    Decision,
    FallbackAction,
    OfferCall,
    QueueConfig,
    RingTimedOut,
    StateRepaired,
    Tick,
)


def A(name: str) -> AgentId:
    return AgentId(name)


def C(name: str) -> CallId:
    return CallId(name)


def offers(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, OfferCall)]


def login(engine: AcdEngine, ts: float, agent: str, ready: bool = True, **skills: int) -> list[Decision]:
    return engine.handle(AgentLoggedOn(ts=ts, agent_id=A(agent), skills=skills, ready=ready))


def queue_call(
    engine: AcdEngine, ts: float, call: str, queue: str = "sales", priority: int = 0, **skills: int
) -> list[Decision]:
    return engine.handle(CallQueued(ts=ts, call_id=C(call), queue=queue, priority=priority, skills=skills))


def ready(engine: AcdEngine, ts: float, agent: str) -> list[Decision]:
    return engine.handle(AgentStateRequested(ts=ts, agent_id=A(agent), state=AgentStatus.READY))


def serve(engine: AcdEngine, ts: float, call: str) -> None:
    engine.handle(CallAnswered(ts=ts, call_id=C(call)))


def test_call_goes_to_the_ready_agent_and_agent_is_reserved() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "a1", sales=5)
    assert offers(queue_call(engine, 1, "c1")) == [("c1", "a1")]
    assert engine.agent_status(A("a1")) is AgentStatus.RESERVED
    assert engine.call_status(C("c1")) is CallStatus.OFFERED
    # a second call waits: a1 is reserved, not offered twice
    assert offers(queue_call(engine, 2, "c2")) == []
    serve(engine, 3, "c1")
    assert engine.agent_status(A("a1")) is AgentStatus.ON_CALL
    assert offers(engine.handle(CallEnded(ts=10, call_id=C("c1")))) == [("c2", "a1")]


def test_highest_priority_first_then_longest_waiting() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 1, "old-low", priority=1)
    queue_call(engine, 2, "vip", priority=5)
    queue_call(engine, 3, "old-vip", priority=5)
    order = []
    for t in (10, 20, 30):
        got = offers(ready(engine, t, "a1"))
        order.append(got[0][0])
        serve(engine, t, got[0][0])
        engine.handle(CallEnded(ts=t + 1, call_id=C(got[0][0])))
        engine.handle(AgentStateRequested(ts=t + 1, agent_id=A("a1"), state=AgentStatus.NOT_READY, reason="x"))
    assert order == ["vip", "old-vip", "old-low"]


def test_priority_across_queues_compares_effective_priority() -> None:
    engine = AcdEngine([QueueConfig("sales"), QueueConfig("support")])
    login(engine, 0, "a1", ready=False, sales=5, support=5)
    queue_call(engine, 1, "s1", "sales", priority=1)
    queue_call(engine, 2, "t1", "support", priority=3)
    assert offers(ready(engine, 5, "a1")) == [("t1", "a1")]


def test_longest_idle_agent_gets_the_call() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "a1", ready=False, sales=5)
    login(engine, 0, "a2", ready=False, sales=5)
    ready(engine, 5, "a2")
    ready(engine, 7, "a1")
    assert offers(queue_call(engine, 10, "c1")) == [("c1", "a2")]
    explanation = explain_call(engine, C("c1"), 10)
    assert explanation.data["offer"]["rule"] == "longest_idle"
    assert explanation.data["offer"]["agent_idle_s"] == 5
    assert "idle 5 s" in explanation.text


def test_most_skilled_agent_gets_the_call_and_minimum_proficiency_holds() -> None:
    engine = AcdEngine([QueueConfig("sales", agent_selection=AgentSelection.MOST_SKILLED, min_proficiency=3)])
    login(engine, 0, "novice", sales=2)
    login(engine, 1, "good", sales=6)
    login(engine, 2, "expert", sales=9)
    assert offers(queue_call(engine, 10, "c1")) == [("c1", "expert")]
    assert offers(queue_call(engine, 11, "c2")) == [("c2", "good")]
    assert offers(queue_call(engine, 12, "c3")) == []  # novice is below the minimum
    explanation = explain_agent(engine, A("novice"), 12)
    assert explanation.data["waiting_groups"][0]["missing"] == [{"skill": "sales", "needed": 3, "has": 2}]
    assert "lacks the skills" in explanation.text


def test_least_occupied_agent_gets_the_call() -> None:
    engine = AcdEngine([QueueConfig("sales", agent_selection=AgentSelection.LEAST_OCCUPIED)])
    login(engine, 0, "busy", sales=5)
    queue_call(engine, 0, "c0")
    serve(engine, 0, "c0")
    engine.handle(CallEnded(ts=90, call_id=C("c0")))  # busy: 90 s on a call, then ready
    login(engine, 95, "fresh", sales=5)  # fresh: ready since 95, occupancy 0
    # busy has been ready longer (since 90) but is 90 % occupied
    assert offers(queue_call(engine, 100, "c1")) == [("c1", "fresh")]


def test_call_skills_are_all_required() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "english", sales=5, english=9)
    login(engine, 1, "spanish", sales=5, spanish=7)
    assert offers(queue_call(engine, 2, "c1", spanish=5)) == [("c1", "spanish")]


def test_priority_aging_lets_a_low_priority_call_through() -> None:
    engine = AcdEngine([QueueConfig("sales", aging_per_minute=1.0)])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 0, "low", priority=0)
    queue_call(engine, 200, "high", priority=3)  # at t=240: low has 4.0, high has 3.67
    assert offers(ready(engine, 240, "a1")) == [("low", "a1")]


def test_skill_relaxation_after_configured_time() -> None:
    engine = AcdEngine([QueueConfig("sales", min_proficiency=8, relax_after_s=30, relaxed_min_proficiency=3)])
    login(engine, 0, "junior", sales=4)
    assert offers(queue_call(engine, 0, "c1")) == []
    assert offers(engine.handle(Tick(ts=29))) == []
    assert offers(engine.handle(Tick(ts=31))) == [("c1", "junior")]


def test_overflow_to_another_queue_after_configured_time() -> None:
    engine = AcdEngine([QueueConfig("sales", overflow_after_s=60, overflow_to=("support",)), QueueConfig("support")])
    login(engine, 0, "helper", support=5)
    login(engine, 0, "seller", ready=False, sales=5)
    assert offers(queue_call(engine, 0, "c1")) == []
    decisions = engine.handle(Tick(ts=60))
    assert [type(d) for d in decisions] == [CallOverflowed, OfferCall]
    assert offers(decisions) == [("c1", "helper")]
    # statistics stay with the original queue
    serve(engine, 61, "c1")
    assert engine.queue_statistics("sales", 61).answered == 1


def test_max_wait_falls_back_to_voicemail() -> None:
    engine = AcdEngine([QueueConfig("sales", max_wait_s=120, fallback=FallbackAction.VOICEMAIL)])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 0, "c1")
    decisions = engine.handle(Tick(ts=121))
    assert decisions == [CallFallback(120, C("c1"), "sales", FallbackAction.VOICEMAIL, "waited 120 s, the maximum")]
    assert engine.call_status(C("c1")) is CallStatus.FALLBACK
    assert offers(ready(engine, 130, "a1")) == []
    assert engine.queue_statistics("sales", 130).fallback == 1


def test_max_wait_moves_the_call_to_the_fallback_queue() -> None:
    engine = AcdEngine(
        [
            QueueConfig("sales", max_wait_s=60, fallback=FallbackAction.OVERFLOW_QUEUE, fallback_queue="general"),
            QueueConfig("general"),
        ]
    )
    login(engine, 0, "generalist", general=5)
    login(engine, 0, "seller", ready=False, sales=5)  # the call is routable, just unlucky
    queue_call(engine, 0, "c1")
    decisions = engine.handle(Tick(ts=60))
    assert decisions[0] == CallOverflowed(60, C("c1"), "sales", "general", "waited 60 s, the maximum", moved=True)
    assert offers(decisions) == [("c1", "generalist")]
    assert engine.queue_statistics("general", 60).offered == 1
    assert engine.queue_statistics("sales", 60).overflowed_out == 1


def test_ring_no_answer_requeues_at_head_and_sets_agent_not_ready() -> None:
    engine = AcdEngine([QueueConfig("sales", ring_timeout_s=15)])
    login(engine, 0, "sleepy", sales=5)
    queue_call(engine, 1, "first")
    login(engine, 2, "other", ready=False, sales=5)
    queue_call(engine, 3, "second")
    decisions = engine.handle(Tick(ts=16))
    assert AgentStateSet(16, A("sleepy"), AgentStatus.NOT_READY, "ring_no_answer") in decisions
    assert engine.agent_status(A("sleepy")) is AgentStatus.NOT_READY
    # back at the head: the next ready agent gets "first", not "second"
    assert offers(ready(engine, 20, "other")) == [("first", "other")]


def test_explicit_ring_timeout_event_and_late_answer_are_handled() -> None:
    engine = AcdEngine([QueueConfig("sales", ring_timeout_s=None)])
    login(engine, 0, "a1", sales=5)
    queue_call(engine, 0, "c1")
    engine.handle(RingTimedOut(ts=5, call_id=C("c1")))
    assert engine.call_status(C("c1")) is CallStatus.QUEUED
    with pytest.raises(EngineError, match="answered but is queued"):
        serve(engine, 6, "c1")


def test_wrap_up_per_queue_then_ready() -> None:
    engine = AcdEngine([QueueConfig("sales", wrap_up_s=30)])
    login(engine, 0, "a1", sales=5)
    queue_call(engine, 0, "c1")
    serve(engine, 1, "c1")
    queue_call(engine, 5, "c2")
    assert offers(engine.handle(CallEnded(ts=60, call_id=C("c1")))) == []
    assert engine.agent_status(A("a1")) is AgentStatus.WRAP_UP
    assert engine.next_timer() == 90
    assert offers(engine.handle(Tick(ts=95))) == [("c2", "a1")]
    stats = engine.agent_statistics(A("a1"), 95)
    assert stats.state_durations_s[AgentStatus.ON_CALL] == 59
    assert stats.state_durations_s[AgentStatus.WRAP_UP] == 30
    assert stats.handled == 1


def test_not_ready_requested_during_a_call_applies_after_it() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "a1", sales=5)
    queue_call(engine, 0, "c1")
    serve(engine, 1, "c1")
    engine.handle(AgentStateRequested(ts=2, agent_id=A("a1"), state=AgentStatus.NOT_READY, reason="lunch"))
    queue_call(engine, 3, "c2")
    decisions = engine.handle(CallEnded(ts=10, call_id=C("c1")))
    assert decisions == [AgentStateSet(10, A("a1"), AgentStatus.NOT_READY, "lunch")]


def test_unroutable_call_is_reported_and_overflows() -> None:
    engine = AcdEngine([QueueConfig("french", overflow_to=("general",), overflow_after_s=300), QueueConfig("general")])
    login(engine, 0, "a1", ready=False, general=5)
    decisions = queue_call(engine, 1, "c1", "french")
    assert isinstance(decisions[0], CallUnroutable)
    assert "french" in decisions[0].reason
    assert isinstance(decisions[1], CallOverflowed)
    assert offers(ready(engine, 5, "a1")) == [("c1", "a1")]


def test_unroutable_call_without_overflow_falls_back_when_last_agent_logs_off() -> None:
    engine = AcdEngine([QueueConfig("sales", max_wait_s=600, fallback=FallbackAction.CALLBACK)])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 1, "c1")
    decisions = engine.handle(AgentStateRequested(ts=2, agent_id=A("a1"), state=AgentStatus.LOGGED_OFF))
    assert [type(d) for d in decisions] == [CallUnroutable, CallFallback]
    assert engine.queue_statistics("sales", 2).unroutable == 1


def test_queue_statistics_service_level_asa_abandon() -> None:
    engine = AcdEngine([QueueConfig("sales", sl_seconds=20, short_abandon_s=5)])
    login(engine, 0, "a1", ready=False, sales=5)
    queue_call(engine, 0, "fast")
    queue_call(engine, 0, "slow")
    queue_call(engine, 0, "gone")
    queue_call(engine, 0, "short")
    engine.handle(CallAbandoned(ts=3, call_id=C("short")))
    engine.handle(CallAbandoned(ts=40, call_id=C("gone")))
    for call, t in (("fast", 10), ("slow", 50)):
        assert offers(ready(engine, t, "a1")) == [(call, "a1")]
        serve(engine, t, call)
        engine.handle(CallEnded(ts=t + 1, call_id=C(call)))
        engine.handle(AgentStateRequested(ts=t + 1, agent_id=A("a1"), state=AgentStatus.NOT_READY))
    queue_call(engine, 60, "waiting")
    stats = engine.queue_statistics("sales", 70)
    assert (stats.offered, stats.answered, stats.abandoned, stats.short_abandoned) == (5, 2, 2, 1)
    assert stats.service_level == pytest.approx(1 / 3)  # fast in SL; slow and gone count against
    assert stats.asa_s == pytest.approx(30)
    assert (stats.waiting, stats.longest_waiting_s) == (1, 10)
    interval = engine.start_interval(70)["sales"]
    assert interval.offered == 5
    assert engine.queue_statistics("sales", 70, interval=True).offered == 0


def test_abandon_while_ringing_frees_the_agent_for_the_next_call() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    login(engine, 0, "a1", sales=5)
    queue_call(engine, 0, "c1")
    queue_call(engine, 1, "c2")
    assert offers(engine.handle(CallAbandoned(ts=2, call_id=C("c1")))) == [("c2", "a1")]


@pytest.mark.expect_log(logging.WARNING, "routing.engine", match=r"^reconciliation: call offered and unanswered")
def test_reconciliation_repairs_a_stuck_reservation_with_audit(caplog: pytest.LogCaptureFixture) -> None:
    engine = AcdEngine([QueueConfig("sales", ring_timeout_s=None)], stuck_bound_s=60, reconcile_every_s=5)
    login(engine, 0, "a1", sales=5)
    login(engine, 0, "a2", ready=False, sales=5)
    queue_call(engine, 0, "c1")
    assert engine.handle(Tick(ts=30)) == []
    decisions = engine.handle(Tick(ts=61))
    assert any(isinstance(d, StateRepaired) for d in decisions)
    assert engine.audit[0].call_id == "c1" and engine.audit[0].agent_id == "a1"
    assert "reconciliation: call offered and unanswered for 61 s" in caplog.text
    assert engine.agent_status(A("a1")) is AgentStatus.NOT_READY
    assert offers(ready(engine, 62, "a2")) == [("c1", "a2")]


def test_explain_waiting_call() -> None:
    engine = AcdEngine([QueueConfig("sales", max_wait_s=300, fallback=FallbackAction.VOICEMAIL)])
    login(engine, 0, "a1", sales=5)
    queue_call(engine, 0, "c1")
    serve(engine, 0, "c1")
    queue_call(engine, 10, "c2", priority=2)
    queue_call(engine, 20, "c3")
    why = explain_call(engine, C("c3"), 30)
    assert why.data["eligible_agents"] == {"on_call": 1}
    assert why.data["calls_ahead"] == 1
    assert why.data["next_steps"] == [{"step": "fallback", "in_s": 290}]
    assert "1 eligible calls are ahead" in why.text
    assert explain_agent(engine, A("a1"), 30).text == "Agent a1 is on_call with call c1."


def test_bad_configuration_names_the_key() -> None:
    with pytest.raises(ScenarioError, match=r"queues\.sales\.min_proficiency"):
        QueueConfig("sales", min_proficiency=11)
    with pytest.raises(ScenarioError, match="names unknown queue 'nowhere'"):
        AcdEngine([QueueConfig("sales", overflow_to=("nowhere",), overflow_after_s=5)])
    with pytest.raises(ScenarioError, match="fallback"):
        QueueConfig("sales", max_wait_s=5)
    assert issubclass(ScenarioError, RoutingError)


def test_unknown_call_and_agent_are_refused() -> None:
    engine = AcdEngine([QueueConfig("sales")])
    with pytest.raises(EngineError, match="unknown queue"):
        queue_call(engine, 0, "c1", "nowhere")
    with pytest.raises(EngineError, match="unknown agent"):
        ready(engine, 0, "ghost")
