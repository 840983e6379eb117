"""The ACD's configuration read from the data model (through crm.acd_data), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from crm import db
from crm.models import Agent, AgentSkill, Queue, Skill
from routing.acd_config import acd_config_from_db
from routing.errors import ScenarioError


def test_queues_and_active_agents_with_skills_become_the_configuration(engine) -> None:
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as session:
        with pytest.raises(ScenarioError, match="no queue"):
            acd_config_from_db(session)
        sales, vip = Skill(name="sales"), Skill(name="vip")
        session.add_all([sales, vip])
        session.flush()
        session.add_all([
            Queue(name="sales", skill_id=sales.id, service_level_seconds=15, service_level_target=0.9,
                  wrap_up_seconds=10),
            Queue(name="general"),  # no skill: its own name is the skill
        ])
        alice = Agent(login="alice", name="Alice", extension="1001")
        gone = Agent(login="gone", name="Gone", active=False)
        idle = Agent(login="idle", name="No skills")
        session.add_all([alice, gone, idle])
        session.flush()
        session.add_all([AgentSkill(agent_id=alice.id, skill_id=sales.id, proficiency=7),
                         AgentSkill(agent_id=alice.id, skill_id=vip.id, proficiency=3),
                         AgentSkill(agent_id=gone.id, skill_id=sales.id, proficiency=9)])
        session.commit()
        config = acd_config_from_db(session)
    assert [(q.name, q.skill) for q in config.queues] == [("general", "general"), ("sales", "sales")]
    sales_queue = config.queues[1]
    assert (sales_queue.sl_seconds, sales_queue.sl_target, sales_queue.wrap_up_s) == (15.0, 0.9, 10.0)
    assert set(config.agents) == {"alice"}
    assert dict(config.agents["alice"].skills) == {"sales": 7, "vip": 3}
    assert config.agents["alice"].extension == "1001"


def test_a_vip_queue_in_the_database_picks_the_most_skilled_agent_and_carries_its_rules(engine) -> None:
    """A queue row carries selection rule, priority, aging, overflow, maximum wait and fallback into the ACD;
    a queue named vip without a rule offers its calls to the most skilled ready agent, not the longest idle."""
    from routing.engine import AcdEngine
    from routing.model import (
        AgentId,
        AgentLoggedOn,
        AgentSelection,
        CallId,
        CallQueued,
        FallbackAction,
        OfferCall,
    )

    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as session:
        vip, sales = Skill(name="vip"), Skill(name="sales")
        session.add_all([vip, sales])
        session.flush()
        session.add_all([
            Queue(name="vip", skill_id=vip.id),  # no rule stored
            Queue(name="sales", skill_id=sales.id, agent_selection="least_occupied", priority=2,
                  aging_per_minute=1.5, overflow_after_seconds=40, overflow_to=["vip"], max_wait_seconds=300,
                  fallback="overflow_queue", fallback_queue="vip"),
        ])
        session.commit()
        config = acd_config_from_db(session)
    queues = {q.name: q for q in config.queues}
    assert queues["vip"].agent_selection is AgentSelection.MOST_SKILLED
    s = queues["sales"]
    assert (s.agent_selection, s.priority, s.aging_per_minute, s.overflow_after_s, s.overflow_to, s.max_wait_s,
            s.fallback, s.fallback_queue) == (AgentSelection.LEAST_OCCUPIED, 2, 1.5, 40.0, ("vip",), 300.0,
                                              FallbackAction.OVERFLOW_QUEUE, "vip")
    acd = AcdEngine(config.queues)
    acd.handle(AgentLoggedOn(ts=0, agent_id=AgentId("idle_longest"), skills={"vip": 4}, ready=True))
    acd.handle(AgentLoggedOn(ts=50, agent_id=AgentId("expert"), skills={"vip": 9}, ready=True))
    decisions = acd.handle(CallQueued(ts=60, call_id=CallId("c1"), queue="vip", priority=0, skills={}))
    assert [(d.call_id, d.agent_id) for d in decisions if isinstance(d, OfferCall)] == [("c1", "expert")]
