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
