"""SIP load: SIPp callers at a rate toward a queue number that rings several baresip softphones.

``python -m bench --only sip`` (or ``python -m bench.sip [--quick]``). Kamailio is the registrar and
proxy; every agent's softphone registers its own number and the queue's (``sales``), so a call to
the queue rings every phone (parallel forking). The ACD engine (``routing.engine.AcdEngine``, the
one ``ccenter acd`` runs) chooses which agent takes each call, and that agent's ``baresip://`` link
answers it; when the agent is busy the call keeps ringing until the ACD frees someone for it, or
the caller gives up after its patience (a CANCEL: abandoned). An agent hangs up after the talk time.
baresip 1.0 cannot answer a call while another rings on the same line, so the phone of the agent the
ACD chose declines the other calls ringing there first; they ring on at the other phones, and a call
that rings nowhere any more has lost its caller (counted abandoned).

Figures: calls, answered, abandoned (as the ACD counted them) and the latency from the caller's
INVITE (SIPp's clock when it sent it) to the first ringing event a link reported for the call
(``call.alerting``), p50, p95 and max. Everything runs on loopback with free ports; every program
is stopped by its process id. Needs baresip, SIPp and Kamailio (``scripts/bootstrap --dev``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bus.messages import CallEvent
from cti.baresip.link import BaresipLink, BaresipSettings
from cti.errors import CtiError
from cti.model import LinkEvent
from routing.engine import AcdEngine
from routing.model import (
    AgentId,
    AgentLoggedOn,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallId,
    CallQueued,
    Decision,
    OfferCall,
    QueueConfig,
    RingTimedOut,
    Tick,
)

from . import _sipkit as kit

Row = tuple[str, float, str]
QUEUE = "sales"

#: The caller: logs when it sends its INVITE, waits ``patience`` ms for an answer (else CANCEL), then
#: waits for the agent's BYE.
CALLER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ccenter queue caller">
  <nop>
    <action>
      <gettimeofday assign_to="sec,usec"/>
      <log message="INVITE [call_id] [$sec] [$usec]"/>
    </action>
  </nop>
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:+861380000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      X-CC-Queue: {queue}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <label id="wait"/>
  <recv response="100" optional="true" next="wait" timeout="{patience}" ontimeout="giveup"/>
  <recv response="180" optional="true" next="wait" timeout="{patience}" ontimeout="giveup"/>
  <recv response="183" optional="true" next="wait" timeout="{patience}" ontimeout="giveup"/>
  <recv response="200" rrs="true" timeout="{patience}" ontimeout="giveup"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:+861380000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv request="BYE" timeout="120000"/>
  <send next="end">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <label id="giveup"/>
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Caller [call_number]" <sip:+861380000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Caller [call_number]" <sip:+861380000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <label id="end"/>
</scenario>
"""


@dataclass
class Load:
    agents: int
    calls: int
    rate: float  # calls per second
    talk_s: float
    patience_s: float


@dataclass
class Results:
    invited: dict[str, float] = field(default_factory=dict)  # call_id -> INVITE time (SIPp's clock)
    ringing: dict[str, float] = field(default_factory=dict)  # call_id -> first call.alerting
    answered: set[str] = field(default_factory=set)
    abandoned: set[str] = field(default_factory=set)
    failed_commands: int = 0


class Center:
    """The ACD engine choosing among the agents' softphone links, on one event loop."""

    def __init__(self, links: dict[str, BaresipLink], load: Load, results: Results) -> None:
        self.links = links
        self.load = load
        self.results = results
        self.engine = AcdEngine([QueueConfig(name=QUEUE, skill=QUEUE, ring_timeout_s=None)])
        self.ringing_at: dict[str, set[str]] = {}  # call_id -> agents whose phone rings with it
        self.offered: dict[str, str] = {}  # call_id -> agent the ACD chose, not answered yet
        self.answered_by: dict[str, str] = {}  # call_id -> agent talking with the caller
        self.tasks: set[asyncio.Task[None]] = set()
        now = time.time()
        for agent in links:
            self._carry_out(self.engine.handle(AgentLoggedOn(ts=now, agent_id=AgentId(agent), skills={QUEUE: 5})))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _carry_out(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, OfferCall):
                self.offered[decision.call_id] = decision.agent_id
                if decision.agent_id in self.ringing_at.get(decision.call_id, set()):
                    self._spawn(self._answer(decision.call_id, decision.agent_id))

    async def _answer(self, call_id: str, agent: str) -> None:
        link = self.links[agent]
        # baresip 1.0 answers only when no other call rings on the line: the agent's phone declines the
        # other calls ringing there (they go on ringing at the other phones).
        ringing = [c.call_id for c in link.mapper.calls.values() if c.phase.value == "ringing"]
        for other in (c for c in ringing if c != call_id):
            with contextlib.suppress(CtiError):
                await link.hangup(other, agent)
        try:
            await link.answer(call_id, agent)
        except CtiError:
            self.results.failed_commands += 1
            self.offered.pop(call_id, None)
            self._carry_out(self.engine.handle(RingTimedOut(ts=time.time(), call_id=CallId(call_id))))

    async def _hang_up_later(self, call_id: str, agent: str) -> None:
        await asyncio.sleep(self.load.talk_s)
        with contextlib.suppress(CtiError):
            await self.links[agent].hangup(call_id, agent)

    def on_event(self, agent: str, event: LinkEvent) -> None:
        if not isinstance(event, CallEvent):
            return
        now = time.time()
        call_id = event.call_id
        self._carry_out(self.engine.handle(Tick(ts=now)))
        if event.type == "call.alerting":
            self.results.ringing.setdefault(call_id, event.ts)
            first = call_id not in self.ringing_at
            self.ringing_at.setdefault(call_id, set()).add(agent)
            if first:
                self._carry_out(self.engine.handle(CallQueued(ts=now, call_id=CallId(call_id), queue=QUEUE)))
            elif self.offered.get(call_id) == agent:
                self._spawn(self._answer(call_id, agent))
        elif event.type == "call.answered":
            self.offered.pop(call_id, None)
            self.answered_by[call_id] = agent
            self.results.answered.add(call_id)
            self._carry_out(self.engine.handle(CallAnswered(ts=now, call_id=CallId(call_id))))
            self._spawn(self._hang_up_later(call_id, agent))
        elif event.type == "call.ended":
            rings = self.ringing_at.get(call_id, set())
            rings.discard(agent)
            if call_id in self.answered_by:
                if self.answered_by[call_id] == agent:  # (the other phones' forks end when one answers)
                    del self.answered_by[call_id]
                    self._carry_out(self.engine.handle(CallEnded(ts=now, call_id=CallId(call_id))))
            elif not rings and call_id not in self.results.abandoned and call_id not in self.results.answered:
                self.results.abandoned.add(call_id)
                self.offered.pop(call_id, None)
                self._carry_out(self.engine.handle(CallAbandoned(ts=now, call_id=CallId(call_id))))


async def _drive(links: dict[str, BaresipLink], load: Load, results: Results, until_done: asyncio.Event) -> None:
    center = Center(links, load, results)

    async def pump(agent: str, link: BaresipLink) -> None:
        async for event in link.events():
            center.on_event(agent, event)

    for link in links.values():
        await link.connect()
    pumps = [asyncio.create_task(pump(a, link)) for a, link in links.items()]
    await until_done.wait()
    for task in list(center.tasks):
        task.cancel()
    for link in links.values():
        await link.close()
    await asyncio.gather(*pumps, return_exceptions=True)


def _invites(folder: Path) -> dict[str, float]:
    sent: dict[str, float] = {}
    for log in folder.glob("*_logs.log"):
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "INVITE":
                with contextlib.suppress(ValueError):
                    sent[f"sip-{parts[1]}"] = float(parts[2]) + float(parts[3]) / 1e6
    return sent


def measure(load: Load) -> Results:
    missing = kit.missing_programs("baresip", "sipp", "kamailio")
    if missing:
        raise RuntimeError(f"bench sip needs {', '.join(missing)}: run scripts/bootstrap --dev")
    results = Results()
    with tempfile.TemporaryDirectory(prefix="ccenter-bench-sip-") as tmp:
        root = Path(tmp)
        wav = kit.write_tone(root / "voice.wav", seconds=max(60.0, 4 * load.talk_s + 30))
        started: list[kit.Softphone | kit.Program] = []
        try:
            proxy, port = kit.kamailio(root)
            started.append(proxy)
            registrar = f"127.0.0.1:{port}"
            phones = []
            for n in range(load.agents):
                phone = kit.softphone(root, f"{2001 + n}", wav=wav, registrar=registrar, lines=(QUEUE,))
                started.append(phone)
                phones.append(phone.start())
            for phone in phones:
                assert phone.program is not None
                _wait_registered(phone)
            links = {p.user: BaresipLink(BaresipSettings("127.0.0.1", p.ctrl_port, extension=p.user)) for p in phones}
            scenario = root / "caller.xml"
            patience_ms = int(load.patience_s * 1000)
            scenario.write_text(CALLER.format(queue=QUEUE, patience=patience_ms))
            done = asyncio.Event()
            loop = asyncio.new_event_loop()

            async def main() -> None:
                driver = asyncio.ensure_future(_drive(links, load, results, done))
                await asyncio.sleep(0.2)
                budget = load.calls / load.rate + load.patience_s + load.talk_s + 60
                run = kit.sipp(root / "sipp", scenario, registrar, service=QUEUE, calls=load.calls,
                               rate=load.rate, extra=["-trace_logs", "-l", str(load.calls)],
                               timeout_s=int(budget))
                started.append(run.program)
                while run.program.running():
                    await asyncio.sleep(0.1)
                deadline = time.monotonic() + load.talk_s + 10
                while time.monotonic() < deadline and len(results.answered) + len(results.abandoned) < len(
                    results.ringing
                ):
                    await asyncio.sleep(0.1)
                done.set()
                await driver
                results.invited = _invites(root / "sipp")

            loop.run_until_complete(main())
            loop.close()
        finally:
            for program in reversed(started):
                program.stop()
    return results


def _wait_registered(phone: kit.Softphone, timeout: float = 15.0) -> None:
    """Both of the phone's accounts answered 200 by the registrar."""
    assert phone.program is not None
    deadline = time.monotonic() + timeout
    while phone.program.log_text().count("200 OK") < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"softphone {phone.user} did not register: {phone.program.log_text()[-1500:]}")
        time.sleep(0.05)


def figures(load: Load, results: Results) -> list[Row]:
    latencies = sorted(
        (results.ringing[c] - results.invited[c]) * 1000 for c in results.ringing if c in results.invited
    )

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return [
        ("agents (softphones)", load.agents, "phones"),
        ("call rate", load.rate, "calls/s"),
        ("calls placed", load.calls, "calls"),
        ("calls that rang an agent", len(results.ringing), "calls"),
        ("calls that rang nobody (refused)", load.calls - len(results.ringing), "calls"),
        ("answered", len(results.answered), "calls"),
        ("abandoned", len(results.abandoned), "calls"),
        ("INVITE to ringing p50", statistics.median(latencies) if latencies else float("nan"), "ms"),
        ("INVITE to ringing p95", pct(0.95), "ms"),
        ("INVITE to ringing max", latencies[-1] if latencies else float("nan"), "ms"),
        ("answer commands that failed", results.failed_commands, "commands"),
    ]


def run(quick: bool = False) -> list[Row]:
    missing = kit.missing_programs("baresip", "sipp", "kamailio")
    if missing:  # the other benchmarks of a full run go on
        print(f"bench sip skipped: {', '.join(missing)} not installed (scripts/bootstrap --dev)", file=sys.stderr)
        return []
    load = (
        Load(agents=3, calls=12, rate=3.0, talk_s=1.5, patience_s=2.5)
        if quick
        else Load(agents=5, calls=60, rate=2.0, talk_s=2.0, patience_s=4.0)
    )
    return figures(load, measure(load))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sip", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    if args.json:
        print(json.dumps([{"figure": f, "value": v, "unit": u} for f, v, u in rows], indent=2))
    else:
        for figure, value, unit in rows:
            print(f"{figure:<32} {value:>10.1f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
