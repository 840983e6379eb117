"""A standby ACD that takes over keeps the promise of a queue's ``callback`` fallback: the takeover snapshot
carries the caller's number and the IVR's data of each waiting call, so that when the new leader's
fallback fires, the callback is written for the caller's number and the dialer calls that number back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import select

from bus import topics
from bus.messages import AgentState, CallEvent
from bus.transport import InProcessBus
from ccenter.components import acd_server
from ccenter.config import Settings
from crm import db, repository
from crm.models import Activity, Campaign, WorkItem
from routing.acd_config import AcdConfig, AgentProfile
from routing.adapter import AcdAdapter
from routing.dialer_service import DialerCore, campaign_plan
from routing.model import CallId, FallbackAction, QueueConfig
from routing.server import Role
from tests.ccenter.test_democenter import SITE, STANDARD, database  # noqa: F401  (the fixture)
from tests.helpers import until

IVR_DATA = {"fields": {"verified": {"value": True, "source": "ivr"}, "account": {"value": "A-77", "source": "ivr"}}}


def _config(max_wait_s: float) -> AcdConfig:
    billing = QueueConfig("billing", max_wait_s=max_wait_s, fallback=FallbackAction.CALLBACK)
    return AcdConfig((billing, QueueConfig("callbacks")), {"erin": AgentProfile({"billing": 5}, "1002")})


def _away(ts: float) -> AgentState:
    """Erin, who serves billing, is logged on and away: a caller waits for her until the maximum wait."""
    return AgentState(agent_id="erin", state="not_ready", ts=ts, reason="lunch", extension="1002")


def _callback_items(url: str) -> list[WorkItem]:
    engine = db.connect(url)
    try:
        with db.session_factory(engine)() as s:
            return list(
                s.scalars(
                    select(WorkItem)
                    .join(Activity, Activity.id == WorkItem.activity_id)
                    .join(Campaign, Campaign.id == Activity.campaign_id)
                    .where(Campaign.campaign_key == repository.CALLBACKS_CAMPAIGN)
                )
            )
    finally:
        engine.dispose()


def test_the_snapshot_carries_the_callers_number_and_data_of_a_waiting_call() -> None:
    leader, standby = AcdAdapter(_config(60.0)), AcdAdapter(_config(60.0))
    joined = CallEvent(type="queue.joined", call_id="c-1", ts=100.0, calling=STANDARD, queue="billing", data=IVR_DATA)
    leader.receive(_away(99.0), 99.0)
    leader.receive(joined, 100.0)
    assert leader.promises == []
    standby.restore(leader.snapshot(client_id="acd-1", epoch=1, seq=1, now=101.0), 101.0)
    restored = standby.calls[CallId("c-1")]
    assert restored.calling == STANDARD and restored.data == IVR_DATA
    standby.tick(161.0)  # the queue's maximum wait passes at the new leader
    [promise] = standby.promises
    assert (promise.call_id, promise.calling, promise.queue, promise.data) == ("c-1", STANDARD, "billing", IVR_DATA)


def test_a_callback_pending_at_takeover_is_dialled_to_the_callers_number(database: str) -> None:  # noqa: F811
    """The caller waits in a queue nobody serves; the leading ACD stops before the maximum wait, the
    standby takes over from the snapshot, its fallback promises the callback, and the dialer's next call
    for the standing callbacks campaign goes to the caller's number with the IVR's data."""
    engine = db.connect(database)
    sessions = db.session_factory(engine)
    settings = Settings(db_url=database)
    config = _config(3.0)

    async def scenario() -> None:
        bus = InProcessBus()
        await bus.start()
        first = acd_server(bus, config, settings, election=True, client_id="acd-1", sessions=sessions)
        second = acd_server(bus, config, settings, election=True, client_id="acd-2", sessions=sessions)
        try:
            await first.start()
            await until(lambda: first.is_leader, timeout=10)
            await second.start()
            await until(lambda: second.role is Role.STANDBY, timeout=10)
            await bus.publish(topics.agent_events(SITE, "erin"), _away(time.time()))
            await until(lambda: "erin" in first.engine.agent_ids(), timeout=10)
            await bus.publish(
                topics.call(SITE, "c-1"),
                CallEvent(
                    type="queue.joined", call_id="c-1", ts=time.time(), calling=STANDARD, queue="billing", data=IVR_DATA
                ),
            )

            def waiting_in_snapshot() -> bool:
                snapshot = second.snapshot_received
                return snapshot is not None and [c["call_id"] for c in snapshot.calls] == ["c-1"]

            await until(waiting_in_snapshot, timeout=10)
            await first.stop()  # the leader is gone while the caller still waits
            assert _callback_items(database) == [], "the old leader promised nothing: the wait was not over"
            await until(lambda: second.is_leader, timeout=10)
            await until(lambda: bool(_callback_items(database)), timeout=15)
        finally:
            await second.stop()
            await bus.close()

    try:
        asyncio.run(scenario())
        [item] = _callback_items(database)
        assert item.phone_e164 == STANDARD
        assert item.attached is not None and item.attached["callback"]["queue"] == "billing"
        assert item.attached["data"]["fields"]["account"]["value"] == "A-77", "the IVR's data is kept"
        with sessions() as s:
            [campaign] = [
                c
                for c in repository.dialer_campaigns(s, now=datetime.now(UTC))
                if c.campaign_key == repository.CALLBACKS_CAMPAIGN
            ]
            [candidate] = repository.dial_candidates(s, campaign.campaign_id, now=datetime.now(UTC))
        plan = campaign_plan(campaign)
        assert plan is not None
        core = DialerCore()
        core.set_campaigns([plan])
        dial = core.dial(plan.key, candidate, datetime.now(UTC).timestamp())
        assert dial is not None and dial.number == STANDARD and dial.queue == "callbacks"
        assert dial.data["fields"]["account"]["value"] == "A-77"
    finally:
        engine.dispose()
