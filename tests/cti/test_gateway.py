from __future__ import annotations

import asyncio
import logging

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, Command, Message
from bus.transport import InProcessBus
from ccenter.cli import main
from cti.errors import BadLinkUrl
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from cti.url import open_link
from tests.helpers import until


def test_open_link_schemes() -> None:
    assert isinstance(open_link("sim://?extensions=3&first=2001"), SimLink)
    assert type(open_link("ami://u:p@pbx")).__name__ == "AmiLink"
    assert type(open_link("csta://pbx:1040?devices=2001")).__name__ == "CstaLink"
    assert type(open_link("serial:///dev/ttyUSB0?baud=9600")).__name__ == "SerialLink"
    with pytest.raises(BadLinkUrl, match="unknown link URL"):
        open_link("gopher://pbx")


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"^command cmd-3 \(hold\) failed: no live call 'sim-9'")
def test_gateway_publishes_events_and_runs_commands_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cti.gateway")

    async def go() -> tuple[list[str], list[Message], Gateway]:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001"])
        link = SimLink(pbx)
        async with bus:
            calls = await bus.subscribe(topics.calls("hq"))
            agents = await bus.subscribe(topics.agent_events("hq", "a1"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            make = Command(
                command_id="cmd-1", name="make_call", ts=0.0, args={"from_device": "1001", "to_number": "5550100"}
            )
            await bus.publish(topics.cti_commands("hq"), make, qos=1)
            await bus.publish(topics.cti_commands("hq"), make, qos=1)  # QoS 1 redelivery
            await bus.publish(
                topics.cti_commands("hq"),
                Command(
                    command_id="cmd-2",
                    name="set_agent_state",
                    ts=0.0,
                    agent_id="a1",
                    args={"state": "ready", "extension": "1001"},
                ),
                qos=1,
            )
            await bus.publish(
                topics.cti_commands("hq"),
                Command(command_id="cmd-3", name="hold", ts=0.0, call_id="sim-9", args={"device": "1001"}),
                qos=1,
            )
            got = [await calls.get(timeout=2) for _ in range(2)]
            agent = await agents.get(timeout=2)
            await until(lambda: gateway.commands_failed == 1, 2)
            await link.close()
            await asyncio.wait_for(runner, 2)
            return [e.topic for e in got], [e.message for e in got] + [agent.message], gateway

    topics_seen, messages, gateway = asyncio.run(go())
    assert topics_seen == ["ccenter/v1/hq/calls/sim-1"] * 2
    assert [m.type for m in messages[:2] if isinstance(m, CallEvent)] == ["call.offered", "call.alerting"]
    assert isinstance(messages[2], AgentState) and messages[2].state == "ready"
    assert gateway.commands_done == 2 and gateway.commands_failed == 1
    assert "cmd-1 delivered again" in caplog.text


def test_cti_gateway_command_reports_a_bad_link_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cti-gateway", "--link", "gopher://pbx"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ccenter: error: unknown link URL 'gopher://pbx'") and err.count("\n") == 1


def test_cti_gateway_process_runs_on_sim_and_stops_on_sigterm() -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "ccenter", "-v", "cti-gateway", "--link", "sim://?extensions=2"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "bridged to" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_gateway_carries_out_the_acds_deliver_and_withdraw() -> None:
    from bus.messages import CommandResult

    async def go() -> tuple[list[CommandResult], list[str], SimPbx]:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001", "1002"])
        link = SimLink(pbx)
        async with bus:
            calls = await bus.subscribe(topics.calls("hq"))
            results = await bus.subscribe(topics.agent_events("hq", "a1"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            pbx.schedule_inbound(0.0, "+14155550100", "800", queue="sales")
            pbx.advance(0.0)
            acd = {"call_id": "sim-1", "extension": "1001", "queue": "sales", "epoch": 1}
            for command_id, name in (("sim-1:a1:1", "deliver"), ("sim-1:a1:withdraw", "withdraw")):
                await bus.publish(
                    topics.cti_commands("hq"),
                    Command(command_id=command_id, name=name, ts=0.0, call_id="sim-1", agent_id="a1", args=acd),
                    qos=1,
                )
            got = [(await results.get(timeout=2)).message for _ in range(2)]
            kinds = [(await calls.get(timeout=2)).message for _ in range(3)]
            await link.close()
            await asyncio.wait_for(runner, 2)
            return (
                [m for m in got if isinstance(m, CommandResult)],
                [m.type for m in kinds if isinstance(m, CallEvent)],
                pbx,
            )

    results, kinds, pbx = asyncio.run(go())
    assert [(r.name, r.ok) for r in results] == [("deliver", True), ("withdraw", True)]
    assert kinds == ["call.offered", "queue.joined", "call.alerting"]
    assert pbx.live_calls == ["sim-1"] and pbx.parties("sim-1")["1001"].value == "null"


@pytest.mark.expect_log(
    logging.WARNING, "cti.gateway", match=r"^command bad-fallback \(fallback\) failed: unknown fallback 'fax'"
)
def test_gateway_fences_a_deposed_acd_and_carries_out_fallbacks(caplog: pytest.LogCaptureFixture) -> None:
    from bus.messages import CommandResult

    caplog.set_level(logging.INFO, logger="cti.gateway")

    async def go() -> tuple[list[CommandResult], list[CallEvent], SimPbx]:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001"])
        link = SimLink(pbx)
        async with bus:
            calls = await bus.subscribe(topics.calls("hq"))
            results = await bus.subscribe(topics.agent_events("hq", "a1"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            pbx.schedule_inbound(0.0, "+14155550100", "800", queue="sales")
            pbx.advance(0.0)
            sent = [
                ("new-leader", "deliver", {"extension": "1001", "epoch": 2}),
                ("old-leader", "withdraw", {"extension": "1001", "epoch": 1}),  # the deposed ACD: refused
                ("bad-fallback", "fallback", {"action": "fax", "epoch": 2}),
                ("fallback", "fallback", {"action": "voicemail", "epoch": 2}),
            ]
            for command_id, name, args in sent:
                await bus.publish(
                    topics.cti_commands("hq"),
                    Command(command_id=command_id, name=name, ts=0.0, call_id="sim-1", agent_id="a1",
                            args={"call_id": "sim-1", **args}),
                    qos=1,
                )
            got = [(await results.get(timeout=2)).message for _ in range(4)]
            events: list[CallEvent] = []
            while not any(e.type == "call.ended" for e in events):
                message = (await calls.get(timeout=2)).message
                assert isinstance(message, CallEvent)
                events.append(message)
            await link.close()
            await asyncio.wait_for(runner, 2)
            return [m for m in got if isinstance(m, CommandResult)], events, pbx

    results, events, pbx = asyncio.run(go())
    assert [(r.command_id, r.ok) for r in results] == [
        ("new-leader", True), ("old-leader", False), ("bad-fallback", False), ("fallback", True)]
    assert results[1].error == "ACD epoch 1 is no longer the leader (epoch 2 is)"
    assert "unknown fallback 'fax'" in (results[2].error or "")
    ended = events[-1]
    assert (ended.cause, [e.type for e in events][-2:]) == ("voicemail", ["queue.left", "call.ended"])
    assert pbx.live_calls == []


def test_an_agent_logging_on_where_a_call_is_up_gets_that_call() -> None:
    """A call rings an extension before its agent is known there (a gateway restarted: the PBX's resync
    tells of the calls before the agents): the agent then logged on at that extension gets the call as
    it is, and may act on it."""

    async def go() -> list[Message]:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001"])
        link = SimLink(pbx)
        async with bus:
            mine = await bus.subscribe(topics.agent_events("hq", "a1"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            pbx.schedule_inbound(pbx.now, "+14155550100", "800", ring="1001")
            pbx.advance(pbx.now + 1.0)
            await until(lambda: gateway.tracker.get("sim-1") is not None, 2)
            await bus.publish(topics.agent_commands("hq", "a1"), Command(
                command_id="login", name="set_agent_state", ts=0.0, args={"state": "ready", "extension": "1001"}),
                qos=1)
            got: list[Message] = []
            while not any(isinstance(m, CallEvent) and m.type == "call.alerting" for m in got):
                got.append((await mine.get(timeout=2)).message)
            await bus.publish(topics.agent_commands("hq", "a1"), Command(
                command_id="answer", name="answer", ts=0.0, call_id="sim-1", args={"device": "1001"}), qos=1)
            while not any(getattr(m, "command_id", None) == "answer" for m in got):
                got.append((await mine.get(timeout=2)).message)
            await link.close()
            await asyncio.wait_for(runner, 2)
            return got

    got = asyncio.run(go())
    alerting = next(m for m in got if isinstance(m, CallEvent) and m.type == "call.alerting")
    assert alerting.call_id == "sim-1" and alerting.extension == "1001"
    assert any(isinstance(m, CallEvent) and m.call_id == "sim-1" and m.calling == "+14155550100" for m in got)
    answer = next(m for m in got if getattr(m, "command_id", None) == "answer")
    assert getattr(answer, "ok", None) is True, answer
