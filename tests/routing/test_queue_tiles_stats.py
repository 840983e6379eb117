"""What the ACD publishes for the supervisor's queue tiles: agents by state and the recent service level."""

from __future__ import annotations

from bus.messages import AgentState, CallEvent
from routing.acd_config import AcdConfig, AgentProfile
from routing.adapter import AcdAdapter
from routing.model import QueueConfig

CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=30.0, ring_timeout_s=None, sl_seconds=20.0, sl_target=0.9),),
    agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"sales": 3}, "1002"),
            "carol": AgentProfile({"sales": 3}, "1003"), "dave": AgentProfile({"billing": 3}, "1004")},
)


def answered_call(acd: AcdAdapter, call_id: str, joined: float, answered: float) -> None:
    acd.receive(CallEvent(type="queue.joined", call_id=call_id, ts=joined, queue="sales"), joined)
    acd.receive(CallEvent(type="call.answered", call_id=call_id, ts=answered), answered)
    acd.receive(CallEvent(type="call.ended", call_id=call_id, ts=answered + 1), answered + 1)


def test_agents_by_state_and_the_service_level_of_the_last_15_minutes() -> None:
    acd = AcdAdapter(CONFIG, "t")
    for agent in ("bob", "dave"):
        acd.receive(AgentState(agent_id=agent, state="ready", ts=0.0), 0.0)
    acd.receive(AgentState(agent_id="carol", state="not_ready", ts=0.0, reason="Lunch"), 0.0)
    stats = acd.queue_stats("sales", 0.0)
    assert (stats.agents_ready, stats.agents_not_ready, stats.agents_on_call) == (1, 1, 0)  # dave lacks the skill
    assert (stats.sl_target, stats.sl_seconds, stats.service_level_15m) == (0.9, 20.0, None)

    answered_call(acd, "early", 10.0, 15.0)  # within 20 s: bob takes it, then wraps up
    stats = acd.queue_stats("sales", 20.0)
    assert (stats.agents_wrap_up, stats.agents_ready, stats.agents_busy) == (1, 0, 1)
    assert stats.service_level == 1.0 and stats.service_level_15m == 1.0
    for t in range(30, 1500, 10):  # the screen refreshes; nothing else happens for 25 minutes
        acd.queue_stats("sales", float(t))
    acd.receive(AgentState(agent_id="bob", state="ready", ts=1500.0), 1500.0)
    answered_call(acd, "late", 1500.0, 1560.0)  # a minute's wait: outside the service level
    stats = acd.queue_stats("sales", 1570.0)
    assert stats.service_level == 0.5  # the day
    assert stats.service_level_15m == 0.0  # the last 15 minutes hold only the late call
