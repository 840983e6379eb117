"""Property tests: whatever the event sequence, no call is offered twice and nobody idles needlessly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.engine import AcdEngine
from routing.errors import EngineError
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallId,
    CallQueued,
    CallStatus,
    FallbackAction,
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
    RingTimedOut,
    Tick,
)

QUEUES = [
    QueueConfig("q0", ring_timeout_s=8, aging_per_minute=2, wrap_up_s=3),
    QueueConfig(
        "q1", min_proficiency=5, relax_after_s=6, relaxed_min_proficiency=2, overflow_after_s=9, overflow_to=("q2",)
    ),
    QueueConfig("q2", max_wait_s=12, fallback=FallbackAction.CALLBACK),
]
SKILLS = ["q0", "q1", "q2"]

ops = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *("login", "queue", "queue", "queue", "ready", "ready", "not_ready", "logoff"),
                *("answer", "answer", "end", "end", "abandon", "rona", "tick", "tick"),
            ]
        ),
        st.integers(0, 7),  # which agent / call
        st.integers(0, 4),  # priority / time step
        st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), min_size=1, max_size=3),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_no_double_offer_and_no_needless_idling(sequence: list[tuple[str, int, int, dict[str, int]]]) -> None:
    engine = AcdEngine(QUEUES, stuck_bound_s=30, reconcile_every_s=5)
    now = 0.0
    holder: dict[str, str] = {}  # call -> agent it is offered to or connected with
    calls_made = 0
    for i, skills in enumerate(({"q0": 5, "q1": 7}, {"q1": 3, "q2": 5}, {"q2": 9}, {"q0": 2, "q1": 5, "q2": 1})):
        engine.handle(AgentLoggedOn(ts=0, agent_id=AgentId(f"a{i}"), skills=skills))
    for op, who, n, skills in sequence:
        now += n * 0.7
        agent = AgentId(f"a{who}")
        try:
            if op == "login":
                decisions = engine.handle(AgentLoggedOn(ts=now, agent_id=agent, skills=skills, ready=n % 2 == 0))
            elif op == "queue":
                calls_made += 1
                decisions = engine.handle(
                    CallQueued(ts=now, call_id=CallId(f"c{calls_made}"), queue=f"q{who % 3}", priority=n)
                )
            elif op in ("ready", "not_ready", "logoff"):
                state = {"ready": AgentStatus.READY, "not_ready": AgentStatus.NOT_READY}.get(op, AgentStatus.LOGGED_OFF)
                decisions = engine.handle(AgentStateRequested(ts=now, agent_id=agent, state=state, reason="r"))
            elif op == "tick":
                decisions = engine.handle(Tick(ts=now))
            else:
                call = CallId(f"c{who + 1}")
                event = {"answer": CallAnswered, "end": CallEnded, "abandon": CallAbandoned, "rona": RingTimedOut}[op]
                decisions = engine.handle(event(ts=now, call_id=call))
        except EngineError:
            continue  # refused events change nothing
        # Calls the caller side ended (abandon, hang-up) free their agent without a decision.
        for call_id in list(holder):
            if engine.call_status(CallId(call_id)) in (CallStatus.ENDED, CallStatus.ABANDONED):
                del holder[call_id]
        for d in decisions:
            if isinstance(d, OfferCall):
                assert d.call_id not in holder, f"{d.call_id} offered twice"
                assert d.agent_id not in holder.values(), f"{d.agent_id} got two calls"
                holder[d.call_id] = d.agent_id
            elif isinstance(d, OfferWithdrawn):
                assert holder.pop(d.call_id) == d.agent_id
        # Calls that left their agent free the slot in our model.
        for call_id in list(holder):
            if engine.call_status(CallId(call_id)) not in (CallStatus.OFFERED, CallStatus.CONNECTED):
                del holder[call_id]
        # The engine agrees with our model of who holds what.
        for call_id, agent_id in holder.items():
            assert engine.call_agent(CallId(call_id)) == agent_id
            assert engine.agent_status(AgentId(agent_id)) in (AgentStatus.RESERVED, AgentStatus.ON_CALL)
        # Invariant: no ready agent is eligible for a queued call.
        ready_agents = [a for a in engine.agent_ids() if engine.agent_status(a) is AgentStatus.READY]
        for group in engine._active.values():
            live = [
                e
                for e in group.heap
                if engine._calls[e[3]].version == e[4] and engine._calls[e[3]].status is CallStatus.QUEUED
            ]
            if live:
                assert not any(engine._eligible(engine._agents[a], group) for a in ready_agents)
