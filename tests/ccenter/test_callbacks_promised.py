"""No promise lost: "press 8 to be called back" in the IVR and a queue's ``callback`` fallback become work
items of the standing callbacks campaign, which the dialer calls back at the promised time with the
IVR's data. Through the production components (the real IVR over FastAGI, the ACD, the gateway on the
simulated PBX and the dialer) on the in-process bus, as ``ccenter demo`` runs them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ccenter.cli import main
from ccenter.democenter import AgentSeat
from crm import db, repository
from crm.models import Activity, Attempt, Campaign, Customer, PhoneNumber, Task, WorkItem, WorkItemStatus
from routing.acd_config import AcdConfig, AgentProfile
from routing.dialer_service import DialerCore, campaign_plan
from routing.model import FallbackAction, QueueConfig

from .test_democenter import STANDARD, database, running  # noqa: F401  (the fixture)


def _config(*queues: QueueConfig) -> AcdConfig:
    names = {q.name for q in queues}
    rest = tuple(QueueConfig(q, wrap_up_s=30.0) for q in ("vip", "billing", "technical", "sales", "retention",
                                                          "callbacks", "general") if q not in names)
    return AcdConfig((*queues, *rest), {"erin": AgentProfile({"retention": 5}, "1002")})


def _items(url: str) -> list[tuple[WorkItem, str, list[Attempt]]]:
    engine = db.connect(url)
    try:
        with db.session_factory(engine)() as s:
            rows = s.execute(
                select(WorkItem, Task.name).join(Task, Task.id == WorkItem.task_id)
                .join(Activity, Activity.id == WorkItem.activity_id).join(Campaign, Campaign.id == Activity.campaign_id)
                .where(Campaign.campaign_key == repository.CALLBACKS_CAMPAIGN)
            ).all()
            return [(item, task, list(s.scalars(select(Attempt).where(Attempt.work_item_id == item.id))))
                    for item, task in rows]
    finally:
        engine.dispose()


def _ivr_exits(url: str) -> dict[str, int]:
    """The IVR sessions of the last hour by exit (``ccenter ivr report``)."""
    engine = db.connect(url)
    try:
        with db.session_factory(engine)() as s:
            now = datetime.now(UTC)
            return repository.ivr_report(s, since=now - timedelta(hours=1), until=now + timedelta(hours=1)).by_exit
    finally:
        engine.dispose()


def test_press_8_in_the_ivr_is_a_callback_the_dialer_makes_with_the_ivr_data(
        database: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    seats = [AgentSeat("erin", "1002", {"retention": 5}, simulated=True)]

    async def scenario() -> str:
        async with running(database, seats, _config()) as r:
            r.center.inbound(STANDARD, script=("1", "1234#", "8"))
            await r_until(lambda: r.parts.dialer.core.callbacks_promised == 1 and bool(r.calls("call.ended")))
            await r_until(lambda: bool(_items(database)) and sum(_ivr_exits(database).values()) == 1)
            ended = r.calls("call.ended")[0]
            assert abs(ended.ts - time.time()) < 60, "the PBX keeps the wall clock"
            return ended.call_id

    call_id = asyncio.run(scenario())
    assert _ivr_exits(database) == {"callback": 1}, "the demo's IVR sessions are dated today, not 1970"
    [(item, task, attempts)] = _items(database)
    assert (task, item.status, item.phone_e164, item.agent_id) == (
        "Requested callbacks", WorkItemStatus.PENDING, STANDARD, None)
    assert [(a.result, a.cti_call_id) for a in attempts] == [(repository.CALLBACK_REQUESTED, call_id)]
    assert item.attached is not None
    promise, ivr = item.attached["callback"], item.attached["data"]
    assert (promise["source"], promise["queue"], promise["call_id"]) == ("ivr", "callbacks", call_id)
    assert ivr["fields"]["verified"]["value"] is True, "the IVR's data comes with the promise"
    due = item.next_attempt_at
    assert due is not None and abs((due - datetime.now(UTC)).total_seconds()) < 60, "due at once"

    # The dialer calls back: the standing campaign is progressive into the callbacks queue, and the call
    # carries what the IVR collected.
    engine = db.connect(database)
    factory = db.session_factory(engine)
    with factory() as s:
        [campaign] = [c for c in repository.dialer_campaigns(s, now=datetime.now(UTC))
                      if c.campaign_key == repository.CALLBACKS_CAMPAIGN]
        [candidate] = repository.dial_candidates(s, campaign.campaign_id, now=datetime.now(UTC))
        customer = s.scalar(select(Customer).join(PhoneNumber).where(PhoneNumber.e164 == STANDARD))
        assert customer is not None and customer.id == item.customer_id, "a prospect made for the caller"
    plan = campaign_plan(campaign)
    assert plan is not None and (plan.mode.value, plan.queue) == ("progressive", "callbacks")
    core = DialerCore()
    core.set_campaigns([plan])
    dial = core.dial(plan.key, candidate, datetime.now(UTC).timestamp())
    assert dial is not None and dial.number == STANDARD and dial.queue == "callbacks"
    assert dial.data["fields"]["verified"]["value"] is True
    assert dial.data["fields"]["work_item_id"]["value"] == item.id
    with db.transaction(factory) as s:
        now = datetime.now(UTC)
        repository.record_outbound_attempt(s, item.id, result="answered", cti_call_id="back-1", started_at=now,
                                           ended_at=now, next_attempt_at=None)
        level = repository.callback_service_level(s, since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    engine.dispose()
    assert (level.requested, level.made_in_time, level.service_level) == (1, 1, 1.0)
    assert main(["campaign", "list", "--db", database]) == 0
    assert ("callbacks promised to callers in the last 24 h: 1; made in time 1, late 0, waiting 0, overdue 0; "
            "service level 100%") in capsys.readouterr().out


def test_a_queues_callback_fallback_is_a_promise_kept(database: str) -> None:  # noqa: F811
    seats = [AgentSeat("erin", "1002", {"retention": 5}, simulated=True)]
    billing = QueueConfig("billing", wrap_up_s=30.0, max_wait_s=0.5, fallback=FallbackAction.CALLBACK)

    async def scenario() -> str:
        async with running(database, seats, _config(billing)) as r:
            r.center.inbound(STANDARD, script=("1", "1234#", "1", "0"))  # billing: nobody there
            # The ACD writes the promise before the gateway ends the call: wait for both.
            await r_until(lambda: bool(_items(database)) and bool(r.calls("call.ended")), timeout=20)
            return r.calls("call.ended")[0].call_id

    call_id = asyncio.run(scenario())
    [(item, _task, attempts)] = _items(database)
    assert [(a.result, a.cti_call_id) for a in attempts] == [(repository.CALLBACK_REQUESTED, call_id)]
    assert item.attached is not None and item.attached["callback"]["source"] == "queue"
    assert item.attached["callback"]["queue"] == "billing"
    assert item.status is WorkItemStatus.PENDING and item.phone_e164 == STANDARD


async def r_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def test_a_promise_made_while_the_dialer_is_down_is_kept_by_the_ivr_and_called_back_when_it_starts(
        database: str) -> None:  # noqa: F811
    """The IVR writes the promise itself: with no dialer running when the caller presses 8 (its hand-off
    on the bus is heard by nobody), the work item is there, and a dialer started later calls back."""
    from ccenter.components import dialer_service
    from ccenter.config import Settings

    seats = [AgentSeat("erin", "1002", {"callbacks": 5}, simulated=True)]
    config = AcdConfig(_config().queues, {"erin": AgentProfile({"callbacks": 5}, "1002")})

    def called_back() -> list[Attempt]:
        return [a for _, _, attempts in _items(database) for a in attempts
                if a.result != repository.CALLBACK_REQUESTED]

    async def scenario() -> None:
        async with running(database, seats, config) as r:
            await r.parts.dialer.stop()  # the dialer is down when the promise is made
            r.center.inbound(STANDARD, script=("1", "1234#", "8"))
            await r_until(lambda: bool(_items(database)) and bool(r.calls("call.ended")))
            assert r.parts.dialer.core.callbacks_promised == 0, "no dialer heard the hand-off"
            [(item, _task, attempts)] = _items(database)
            assert [a.result for a in attempts] == [repository.CALLBACK_REQUESTED]
            assert item.attached is not None and item.attached["callback"]["source"] == "ivr"
            assert called_back() == []
            engine = db.connect(database)
            later = dialer_service(r.parts.bus, db.session_factory(engine), Settings(db_url=database))
            await later.start()  # started after the promise: it finds it in the database and calls back
            try:
                await r_until(lambda: bool(called_back()), timeout=30)
            finally:
                await later.stop()
                engine.dispose()
            [back] = called_back()
            assert back.cti_call_id and back.cti_call_id != r.calls("call.ended")[0].call_id

    asyncio.run(scenario())


def test_a_queues_callback_fallback_made_while_the_dialer_is_down_is_kept_by_the_acd(
        database: str) -> None:  # noqa: F811
    """The ACD writes the promise of a ``callback`` fallback before the gateway ends the call: with no
    dialer running, the work item is there, and a dialer started later calls the caller back."""
    from ccenter.components import dialer_service
    from ccenter.config import Settings

    seats = [AgentSeat("erin", "1002", {"callbacks": 5}, simulated=True)]
    billing = QueueConfig("billing", wrap_up_s=30.0, max_wait_s=0.5, fallback=FallbackAction.CALLBACK)
    config = AcdConfig(_config(billing).queues, {"erin": AgentProfile({"callbacks": 5}, "1002")})

    def called_back() -> list[Attempt]:
        return [a for _, _, attempts in _items(database) for a in attempts
                if a.result != repository.CALLBACK_REQUESTED]

    async def scenario() -> None:
        async with running(database, seats, config) as r:
            await r.parts.dialer.stop()
            r.center.inbound(STANDARD, script=("1", "1234#", "1", "0"))  # billing: nobody there
            await r_until(lambda: bool(_items(database)) and bool(r.calls("call.ended")), timeout=20)
            assert r.parts.dialer.core.callbacks_promised == 0
            [(item, _task, attempts)] = _items(database)
            call_id = r.calls("call.ended")[0].call_id
            assert [(a.result, a.cti_call_id) for a in attempts] == [(repository.CALLBACK_REQUESTED, call_id)]
            assert item.attached is not None and item.attached["callback"]["source"] == "queue"
            assert item.attached["callback"]["queue"] == "billing" and item.phone_e164 == STANDARD
            assert item.attached["data"]["fields"]["verified"]["value"] is True, "the IVR's data is kept"
            engine = db.connect(database)
            later = dialer_service(r.parts.bus, db.session_factory(engine), Settings(db_url=database))
            await later.start()
            try:
                await r_until(lambda: bool(called_back()), timeout=30)
            finally:
                await later.stop()
                engine.dispose()

    asyncio.run(scenario())
