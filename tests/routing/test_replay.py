"""Replay: a log recorded by the real AcdServer on the in-process bus, under the same and changed configurations."""

from __future__ import annotations

import asyncio
import heapq
import io
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bus import topics
from bus.messages import AgentState, CallEvent, Command
from bus.transport import QOS_COMMAND, InProcessBus, Subscription
from ccenter.cli import main
from routing.model import AgentStatus, QueueConfig
from routing.replay import compare, read_recording, replay
from routing.server import AcdConfig, AcdServer, AgentProfile

SITE = "rec"
T0 = 1_700_000_000.0
HOURS = 2.0

CONFIG = AcdConfig(
    queues=(
        QueueConfig("sales", sl_seconds=20, ring_timeout_s=None),
        QueueConfig("support", sl_seconds=30, ring_timeout_s=None),
    ),
    agents={
        **{f"s{i}": AgentProfile({"sales": 5 + i % 3, **({"spanish": 6} if i < 2 else {})}) for i in range(6)},
        **{f"t{i}": AgentProfile({"support": 6}) for i in range(3)},
        "gen": AgentProfile({"sales": 3, "support": 8}),
    },
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Live:
    """What the recorded run produced: the log, and the live engine's figures at its end."""

    log: str
    stats: dict[str, dict[str, Any]]
    occupancy: float
    longest_wait_s: dict[str, float]
    end: float
    answered_calls: set[str] = field(default_factory=set)


def pending(sub: Subscription) -> int:
    return sub._queue.qsize()  # commands published so far (delivered synchronously by InProcessBus)


async def record_traffic(seed: int = 7) -> Live:
    """Poisson callers to two queues, a PBX that rings and answers, agents with breaks; all in simulated time."""
    rng = random.Random(seed)
    clock = Clock()
    bus = InProcessBus()
    out = io.StringIO()
    server = AcdServer(bus, CONFIG, SITE, clock=clock, election=False, record=out)
    await server.start()
    cti = await bus.subscribe(topics.cti_commands(SITE))
    heap: list[tuple[float, int, str, Any]] = []
    seq = 0

    def push(at: float, kind: str, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (at, seq, kind, payload))

    for agent_id in CONFIG.agents:
        push(T0 + rng.uniform(0, 60), "agent", (agent_id, "ready", None))
    push(T0 + 1800, "agent", ("s3", "not_ready", "break"))
    push(T0 + 2700, "agent", ("s3", "ready", None))
    push(T0 + 4000, "agent", ("t2", "logged_off", None))
    for queue, per_hour in (("sales", 110.0), ("support", 45.0)):
        t = T0 + 60
        while (t := t + rng.expovariate(per_hour / 3600)) < T0 + HOURS * 3600:
            push(t, "arrival", queue)
    published = 0
    state: dict[str, str] = {}
    arrived: dict[str, tuple[str, float]] = {}
    waits: dict[str, float] = {}
    answered: set[str] = set()

    async def publish(topic: str, message: Any) -> None:
        nonlocal published
        await bus.publish(topic, message, qos=QOS_COMMAND)
        published += 1
        for _ in range(1000):  # the server's reader task records, then applies, without suspending in between
            if out.getvalue().count("\n") == published + 1:  # the first line is the configuration
                return
            await asyncio.sleep(0)
        raise AssertionError("the server did not take the message")

    async def call_event(kind: str, call_id: str, **kw: Any) -> None:
        await publish(topics.call(SITE, call_id), CallEvent(type=kind, call_id=call_id, ts=clock.now, **kw))

    n = 0
    while heap:
        at, _, kind, payload = heapq.heappop(heap)
        clock.now = at
        if kind == "agent":
            agent_id, name, reason = payload
            message = AgentState(agent_id=agent_id, state=name, ts=at, reason=reason)
            await publish(topics.agent_events(SITE, agent_id), message)
        elif kind == "arrival":
            n += 1
            call_id = f"k{n}"
            priority = 5 if rng.random() < 0.2 else 0
            routing: dict[str, Any] = {"queue": payload, "priority": priority}
            if payload == "sales" and rng.random() < 0.1:
                routing["skills"] = {"spanish": 4}
            state[call_id] = "queued"
            arrived[call_id] = (payload, at)
            await call_event("call.data", call_id, queue=payload, data={"routing": routing})
            push(at + rng.expovariate(1 / 100), "patience", call_id)
        elif kind == "patience" and state[payload] in ("queued", "ringing"):
            state[payload] = "gone"
            waits[payload] = at - arrived[payload][1]
            await call_event("queue.left", payload, cause="abandoned")
            await call_event("call.ended", payload, cause="abandoned")
        elif kind == "answer" and state[payload] == "ringing":
            state[payload] = "connected"
            answered.add(payload)
            waits[payload] = at - arrived[payload][1]
            await call_event("call.answered", payload)
            mean = 180 if arrived[payload][0] == "sales" else 240
            push(at + rng.expovariate(1 / mean), "end", payload)
        elif kind == "end":
            state[payload] = "over"
            await call_event("call.ended", payload, cause="normal")
        for _ in range(pending(cti)):
            command = (await cti.get()).message
            assert isinstance(command, Command) and command.name == "deliver"
            call_id = str(command.call_id)
            state[call_id] = "ringing"
            await call_event("call.alerting", call_id, extension=None)
            push(clock.now + rng.uniform(1, 5), "answer", call_id)
    end = clock.now
    stats = {q.name: server.engine.queue_statistics(q.name, end).to_dict() for q in CONFIG.queues}
    busy = total = 0.0
    for agent_id in server.engine.agent_ids():
        d = server.engine.agent_statistics(agent_id, end).state_durations_s
        work = d[AgentStatus.ON_CALL] + d[AgentStatus.WRAP_UP] + d[AgentStatus.RESERVED]
        busy, total = busy + work, total + work + d[AgentStatus.READY]
    longest: dict[str, float] = {}
    for call_id, (queue, t) in arrived.items():
        longest[queue] = max(longest.get(queue, 0.0), waits.get(call_id, end - t))
    await server.stop()
    await bus.close()
    return Live(out.getvalue(), stats, busy / total, longest, end, answered)


@pytest.fixture(scope="module")
def live() -> Live:
    return asyncio.run(record_traffic())


def test_replay_under_the_recorded_configuration_reproduces_the_live_run(live: Live) -> None:
    recording = read_recording(live.log.splitlines(), "live")
    assert recording.problems == () and recording.end == live.end
    assert len(recording.calls) > 250
    result = replay(recording, CONFIG)
    for queue, expected in live.stats.items():
        got = result.queues[queue]
        assert (got.offered, got.answered, got.abandoned, got.waiting) == (
            expected["offered"],
            expected["answered"],
            expected["abandoned"],
            expected["waiting"],
        )
        assert got.answered_in_sl == expected["answered_in_sl"] and got.unroutable == expected["unroutable"]
        for figure in ("service_level", "asa_s", "p_wait"):
            assert getattr(got, figure) == pytest.approx(expected[figure], rel=1e-9), figure
        assert result.longest_wait_s[queue] == pytest.approx(live.longest_wait_s[queue], rel=1e-9)
    assert result.occupancy == pytest.approx(live.occupancy, rel=1e-9)
    assert result.estimated_handle == 0 and result.notes == ()
    # Both queues saw waiting and abandons: the comparison below means something.
    assert all(s["abandoned"] > 0 and s["p_wait"] > 0.1 for s in live.stats.values())
    # The same seed gives the same figures.
    again = replay(recording, CONFIG)
    assert again.to_dict() == result.to_dict()


def test_more_agents_answer_more_and_sooner(live: Live) -> None:
    recording = read_recording(live.log.splitlines(), "live")
    more = replace(CONFIG, agents={**CONFIG.agents, "x1": AgentProfile({"sales": 5}), "x2": AgentProfile({"sales": 5})})
    comparison = compare(recording, CONFIG, more)
    before, after = comparison.recorded.queues["sales"], comparison.new.queues["sales"]  # type: ignore[union-attr]
    assert after.offered == before.offered
    assert after.answered > before.answered and after.abandoned < before.abandoned
    assert after.asa_s < before.asa_s and after.service_level > before.service_level  # type: ignore[operator]
    assert comparison.new is not None and comparison.new.estimated_handle > 0
    assert any("x1, x2" in note for note in comparison.new.notes)
    assert any("mean handle time" in note for note in comparison.new.notes)


def test_overflow_to_the_support_agents_helps_sales_and_costs_support(live: Live) -> None:
    recording = read_recording(live.log.splitlines(), "live")
    sales, support = CONFIG.queues
    overflow = replace(CONFIG, queues=(replace(sales, overflow_after_s=15, overflow_to=("support",)), support))
    comparison = compare(recording, CONFIG, overflow)
    assert comparison.new is not None
    b, a = comparison.recorded.queues, comparison.new.queues
    assert a["sales"].asa_s < b["sales"].asa_s and a["sales"].abandoned < b["sales"].abandoned  # type: ignore[operator]
    assert a["support"].asa_s > b["support"].asa_s  # type: ignore[operator]
    assert comparison.new.per_agent["t0"][0] > comparison.recorded.per_agent["t0"][0]


def test_cli_side_by_side_text_and_json_with_bad_lines_skipped(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = live.log.splitlines()
    lines.insert(3, "{not json")
    lines.insert(
        10, json.dumps({"t": lines[9] and T0 + 1, "topic": "x", "message": {"type": "call.teleported", "v": 1}})
    )
    lines.insert(
        20, json.dumps({"t": T0 + 2, "topic": "x", "message": {"type": "queue.stats", "v": 1, "queue": "s", "ts": 1}})
    )
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    baseline = tmp_path / "acd.yaml"
    baseline.write_text(yaml.safe_dump(CONFIG.to_dict()), encoding="utf-8")
    changed = CONFIG.to_dict()
    changed["agents"].append({"id": "x1", "skills": {"sales": 5}})
    changed["queues"][0]["agent_selection"] = "most_skilled"
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump(changed), encoding="utf-8")

    args = ["simulate", "--replay", str(events), "--baseline", str(baseline), "--candidate", str(new)]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    assert [p["line"] for p in body["recording"]["skipped_lines"]] == [4, 11, 21]
    reasons = [p["reason"] for p in body["recording"]["skipped_lines"]]
    assert "not JSON" in reasons[0] and "call.teleported" in reasons[1] and "not an input" in reasons[2]
    assert f"{events}:4: not JSON" in captured.err and f"{events}:11:" in captured.err
    assert body["recorded"]["queues"]["sales"]["answered"] == live.stats["sales"]["answered"]
    assert body["new"]["queues"]["sales"]["answered"] >= body["recorded"]["queues"]["sales"]["answered"]
    assert set(body["new"]["queues"]["sales"]["by_priority"]) == {"0", "5"}

    assert main(args) == 0
    text = capsys.readouterr().out
    assert "recorded config" in text and "new config" in text and "3 bad lines skipped" in text
    assert "  service level" in text and "  occupancy" in text and "longest wait s" in text
    print(text)


def test_cli_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 1
    assert "give a SCENARIO.yaml to simulate, or --replay EVENTS.jsonl" in capsys.readouterr().err
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps(
            {
                "t": T0,
                "topic": "x",
                "message": {"type": "agent.state", "v": 1, "agent_id": "a", "state": "ready", "ts": 1},
            }
        )
        + "\n"
    )
    assert main(["simulate", "--replay", str(events)]) == 1
    assert "--baseline FILE" in capsys.readouterr().err
    assert main(["simulate", "--replay", str(tmp_path / "missing.jsonl")]) == 1
    assert "cannot read the recording" in capsys.readouterr().err


def test_acd_explain_at_a_moment_of_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A hand-written log whose first line carries the configuration it ran under.
    def line(t: float, body: dict[str, Any]) -> str:
        return json.dumps({"t": T0 + t, "topic": "x", "message": {"v": 1, "ts": T0 + t, **body}})

    config = {"queues": [{"name": "sales"}], "agents": [{"id": "ann", "skills": {"sales": 5}}]}
    lines = [
        json.dumps({"config": config}),
        line(0, {"type": "agent.state", "agent_id": "ann", "state": "ready"}),
        line(5, {"type": "queue.joined", "call_id": "c1", "queue": "sales"}),
        line(6, {"type": "call.alerting", "call_id": "c1"}),
        line(8, {"type": "call.answered", "call_id": "c1"}),
        line(10, {"type": "queue.joined", "call_id": "c2", "queue": "sales"}),
        line(300, {"type": "call.ended", "call_id": "c1"}),
        line(302, {"type": "call.answered", "call_id": "c2"}),
        line(400, {"type": "call.ended", "call_id": "c2"}),
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["acd", "explain", "--replay", str(events), "--at", "40", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["queues"]["sales"]["waiting"] == 1
    (waiting,) = body["explanations"]
    assert waiting["data"]["call_id"] == "c2" and waiting["data"]["eligible_agents"] == {"on_call": 1}
    assert main(["acd", "explain", "--replay", str(events), "--at", "40", "--call", "c1", "--agent", "ann"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("- Call c1 went to agent ann") and out[2] == "- Agent ann is on_call with call c1."
    # Under a configuration with a second agent, nobody waits at that moment.
    more = tmp_path / "more.yaml"
    more.write_text(yaml.safe_dump({**config, "agents": [*config["agents"], {"id": "bo", "skills": {"sales": 2}}]}))
    assert main(["acd", "explain", "--replay", str(events), "--candidate", str(more), "--at", "40"]) == 0
    assert "No call is waiting" in capsys.readouterr().out
    assert main(["acd", "explain", "--at", "40"]) == 1
    assert "--replay EVENTS.jsonl" in capsys.readouterr().err
