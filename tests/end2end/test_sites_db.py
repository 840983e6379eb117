"""Two sites in one PostgreSQL database: each site's ACD, dialer and log-in see only the site's rows.

Both sites hold an agent ``alice`` (each with its own password and extension), a queue ``billing``
and a campaign ``SPRING`` on purpose, plus a queue and an agent of their own. Each site runs its
gateway (simulated PBX) and its ACD reading its configuration from the database (as ``ccenter acd``
does without ``--queues``), and its dialer (``ccenter.components.dialer_service``), on the machine's
Mosquitto. Asserted: each ACD holds only its site's queues and agents; each dialer plans only its
site's campaign and dials only its site's work items (every item dialled exactly once, by its own
site's PBX); the same login logs in at each site as that site's agent, with that site's password.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bus import topics
from bus.messages import AgentState
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from ccenter import components
from crm import db, repository
from crm.models import (
    Activity,
    Agent,
    AgentSkill,
    Attempt,
    Campaign,
    Customer,
    PhoneNumber,
    Queue,
    Skill,
    Task,
    WorkItem,
)
from crm.repository.extensions import agent_extensions
from crm.secrets import hash_secret
from cti.model import DialOutcome
from cti.sim import NumberScript
from tests.end2end.test_production import _Loop
from tests.helpers.private_services import wait_until
from tests.helpers.site_processes import SiteProcesses

pytestmark = [pytest.mark.mqtt, pytest.mark.postgres, pytest.mark.timeout(120)]

AGENTS = {"north": {"alice": "1001", "nora": "1002"}, "south": {"alice": "2001", "sven": "2002"}}
NUMBERS = {"north": [f"+1415555{n:04d}" for n in range(3)], "south": [f"+1212555{n:04d}" for n in range(3)]}


def seed(factory: db.SessionFactory, site: str, kind: str) -> list[int]:
    """``site``'s agents, queues and campaign (with one work item per number); the work item ids."""
    with db.transaction(factory) as s:
        billing = s.scalar(select(Skill).where(Skill.name == "billing")) or Skill(name="billing")
        for login, extension in AGENTS[kind].items():
            agent = Agent(site=site, login=login, name=f"{login} of {kind}", extension=extension,
                          password_hash=hash_secret(f"{kind}-secret"))
            agent.skills = [AgentSkill(skill=billing, proficiency=5)]
            s.add(agent)
        s.add(Queue(site=site, name="billing", skill=billing, wrap_up_seconds=0))
        s.add(Queue(site=site, name=f"{kind}-only", skill=billing, wrap_up_seconds=0))
        campaign = Campaign(site=site, campaign_key="SPRING", name=f"Spring at {kind}", dial_mode="progressive",
                            rules={"max_attempts": 1, "abandon_target": 0.03})
        activity = Activity(channel="outbound_call")
        task = Task(name="Outbound: billing", skill="billing")
        activity.tasks = [task]
        campaign.activities = [activity]
        s.add(campaign)
        items = []
        for n, number in enumerate(NUMBERS[kind]):
            customer = Customer(name=f"{kind} customer {n}", time_zone="UTC")
            customer.phones = [PhoneNumber(e164=number, is_primary=True)]
            s.add(customer)
            s.flush()
            item = WorkItem(task=task, activity=activity, customer_id=customer.id, phone_e164=number,
                            offer="Spring")
            s.add(item)
            items.append(item)
        s.flush()
        return [i.id for i in items]


class DbSite:
    """A site whose ACD and dialer work from the shared database."""

    def __init__(self, mqtt_url: str, db_url: str, factory: db.SessionFactory, kind: str, tag: str) -> None:
        self.kind, self.name = kind, f"{kind}-{tag}"
        self.items = seed(factory, self.name, kind)
        self.processes = SiteProcesses(mqtt_url, self.name, AGENTS[kind], db_url=db_url)
        pbx = self.processes.pbx
        for number in NUMBERS[kind]:
            self.processes.on_pbx(lambda number=number: pbx.script_number(
                number, NumberScript(DialOutcome.BUSY, after=0.05)))
        self.loop = _Loop(f"dialer-{self.name}")
        self.bus = MqttBus(mqtt_url, client_id=f"dialer-{self.name}", site=self.name, role="dialer")
        self.dialer = components.dialer_service(self.bus, factory, self.processes.settings)
        self.dialer.interval_s = 0.1
        self.started = False

    def start_dialer(self) -> None:
        async def start() -> None:
            await self.bus.start()
            await self.dialer.start()

        self.loop.run(start())
        self.started = True

    def agents_ready(self) -> None:
        async def ready() -> None:
            for agent, extension in AGENTS[self.kind].items():
                await self.bus.publish(topics.agent_events(self.name, agent), AgentState(
                    agent_id=agent, state="ready", ts=time.time(), extension=extension), qos=QOS_COMMAND)

        self.loop.run(ready())

    def on_dialer(self, fn):  # type: ignore[no-untyped-def]
        async def call():  # type: ignore[no-untyped-def]
            return fn()

        return self.loop.run(call())

    def close(self) -> None:
        async def stop() -> None:
            if self.started:
                await self.dialer.stop()
            await self.bus.close()

        try:
            self.loop.run(stop())
        finally:
            self.loop.stop()
            self.processes.close()


@pytest.fixture
def sites(mqtt_url: str, pg_db_url: str) -> Iterator[tuple[DbSite, DbSite, db.SessionFactory]]:
    tag = uuid.uuid4().hex[:8]
    engine = db.connect(pg_db_url)
    factory = db.session_factory(engine)
    made: list[DbSite] = []
    try:
        made.append(DbSite(mqtt_url, pg_db_url, factory, "north", tag))
        made.append(DbSite(mqtt_url, pg_db_url, factory, "south", tag))
        yield made[0], made[1], factory
    finally:
        for site in reversed(made):
            site.close()
        engine.dispose()


def test_each_sites_acd_dialer_and_login_work_only_the_sites_rows_of_one_database(
    sites: tuple[DbSite, DbSite, db.SessionFactory],
) -> None:
    north, south, factory = sites
    # Each ACD read its own site's queues and agents from the database, none of the other's.
    for site in (north, south):
        config = site.processes.config
        assert {q.name for q in config.queues} == {"billing", f"{site.kind}-only"}
        assert {a: p.extension for a, p in config.agents.items()} == AGENTS[site.kind]
        wait_until(site.processes.is_leader, 20)

    # The same login at each site is that site's agent, with that site's password only.
    with db.transaction(factory) as s:
        at_north = repository.authenticate_agent(s, "alice", "north-secret", site=north.name)
        at_south = repository.authenticate_agent(s, "alice", "south-secret", site=south.name)
        wrong_site = repository.authenticate_agent(s, "alice", "north-secret", site=south.name)
        listed = {a.login for a in repository.list_agents(s, north.name)}
        pinned = agent_extensions(s, south.name)  # what the south gateway's --pin-extensions allows
    assert at_north is not None and at_north.extension == "1001"
    assert at_south is not None and at_south.extension == "2001" and at_south.id != at_north.id
    assert wrong_site is None
    assert listed == {"alice", "nora"}
    assert pinned == {"alice": frozenset({"2001"}), "sven": frozenset({"2002"})}

    # Each dialer plans its own site's SPRING only, and dials its own work items only.
    for site in (north, south):
        site.start_dialer()
        site.agents_ready()
    with factory() as s:
        campaign_of = {c.site: c.id for c in s.scalars(select(Campaign))}
    for site in (north, south):
        plans = site.on_dialer(lambda site=site: [(p.campaign_id, p.key, p.queue)
                                                  for p in site.dialer.core.plans.values()])
        assert plans == [(campaign_of[site.name], "SPRING", "billing")]
    for site in (north, south):
        wait_until(lambda site=site: site.on_dialer(lambda: site.dialer.attempts_recorded) >= 3, 30)
    with factory() as s:
        attempts = {(a.work_item_id, a.result) for a in s.scalars(select(Attempt))}
        count = len(list(s.scalars(select(Attempt))))
    assert attempts == {(i, "busy") for i in north.items + south.items}
    assert count == 6  # each item dialled once, by its own site's dialer
    for site in (north, south):
        assert site.on_dialer(lambda site=site: site.dialer.attempts_recorded) == 3
        assert site.on_dialer(lambda site=site: site.dialer.core.counts["SPRING"].by_result.get("busy", 0)) == 3
        assert site.processes.acd_statistics().offered == 0  # nobody answered: no call reached an agent
