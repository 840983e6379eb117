"""The contact center of ``ccenter demo``: the production components on the simulated PBX, in one process.

:func:`run_components` runs what the production processes run, built by :mod:`ccenter.components`,
on one in-process bus and the demo's database: the CTI gateway on the simulated PBX's link (as
``ccenter cti-gateway --link sim://`` does), the IVR's FastAGI server (on 127.0.0.1, an ephemeral
port), the ACD server (leading at once) and the dialer. The demo's desktops reach them as production
desktops do: each through a :class:`cti.buslink.BusLink` to the gateway, on the same bus.

Around them, :class:`DemoCenter` plays the world production meets, at the PBX: customers who call
the service number, :class:`SimAsterisk` answering the FastAGI server as Asterisk would, with the
keys the caller presses, and the demo agents that are not desktops, who answer the calls the ACD
delivers to their phones, talk and hang up.

Everything here runs on one asyncio loop (the demo's network thread; the in-process bus is bound to
it), so the PBX and every component are only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bus import topics
from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType, Command, QueueStats
from bus.transport import Bus, Subscription
from cti.errors import CtiError
from cti.link import CtiLink
from cti.model import LinkEvent
from cti.sim import SimPbx

from .config import Settings

logger = logging.getLogger(__name__)

#: The number customers call; its calls go to the IVR.
SERVICE_NUMBER = "800"
#: The IVR flow the service number runs.
SERVICE_FLOW = "telecom"

#: Queues of the shipped telecom IVR flow that the demo data lacks, with the skill each needs.
FLOW_QUEUES: Mapping[str, str] = {"general": "billing", "callbacks": "sales"}

#: What simulated callers press (language, PIN, menu choices); extra keys are ignored by the flow.
CALLER_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("1", "1234#", "1", "0"),  # English, PIN, balance, then an agent (billing)
    ("1", "1234#", "3"),  # new service (sales)
    ("1", "1234#", "4"),  # cancel (retention)
    ("1", "1234#", "2", "0"),  # technical fault, then an agent
    ("2", "1234#", "1", "0"),  # 中文
)


@dataclass(slots=True)
class AgentSeat:
    agent_id: str
    extension: str
    skills: dict[str, int]
    simulated: bool


@dataclass(order=True, slots=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


# ---------------------------------------------------------------- Asterisk's side of FastAGI


class SimAsterisk:
    """Plays Asterisk for the IVR's FastAGI server: one AGI session per call to the service number.

    The caller's keys answer the prompts (a single key interrupts a menu prompt or answers a wait
    for a digit, longer input answers a ``GET DATA``; ``#`` ends it); with no key left the caller
    stays silent (a timeout). ``HANGUP`` from the IVR clears the call at the PBX; a caller who hangs up
    closes the session.
    """

    def __init__(self, pbx: SimPbx, *, press_after_s: float = 2.0, host: str = "127.0.0.1") -> None:
        self.pbx = pbx
        self.press_after_s = press_after_s
        self.host = host
        self.port: int | None = None
        self.sessions: dict[str, asyncio.Task[None]] = {}

    def start(self, call_id: str, calling: str, called: str, keys: Sequence[str]) -> None:
        if self.port is None:
            logger.warning("demo: no IVR listens yet; call %s is not answered", call_id)
            return
        task = asyncio.get_running_loop().create_task(self._session(call_id, calling, called, list(keys)))
        self.sessions[call_id] = task
        task.add_done_callback(lambda _t: self.sessions.pop(call_id, None))

    def caller_hung_up(self, call_id: str) -> None:
        task = self.sessions.pop(call_id, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self.sessions.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _session(self, call_id: str, calling: str, called: str, keys: list[str]) -> None:
        assert self.port is not None
        reader, writer = await asyncio.open_connection(self.host, self.port)
        environment = {
            "agi_network": "yes",
            "agi_network_script": SERVICE_FLOW,
            "agi_request": f"agi://{self.host}:{self.port}/{SERVICE_FLOW}",
            "agi_channel": f"SIM/trunk-{call_id}",
            "agi_language": "en",
            "agi_uniqueid": call_id,
            "agi_callerid": calling,
            "agi_calleridname": "unknown",
            "agi_context": "from-trunk",
            "agi_extension": called,
            "agi_priority": "1",
        }
        try:
            writer.write(("".join(f"{k}: {v}\n" for k, v in environment.items()) + "\n").encode())
            await writer.drain()
            while line := await reader.readline():
                command = line.decode("utf-8").rstrip("\n")
                reply = await self._answer(command, keys)
                writer.write(reply.encode() + b"\n")
                await writer.drain()
                if command == "HANGUP":
                    with contextlib.suppress(CtiError):
                        self.pbx.hangup(call_id)
        except ConnectionError as exc:
            logger.info("demo: the IVR session of call %s broke: %s", call_id, exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, command: str, keys: list[str]) -> str:
        words = command.split()
        if command.startswith(("ANSWER", "SET VARIABLE", "HANGUP")):
            return "200 result=1" if not command.startswith("ANSWER") else "200 result=0"
        if command.startswith("STREAM FILE"):
            escape = words[3] if len(words) > 3 else '""'
            if escape != '""' and keys and len(keys[0]) == 1 and keys[0] in escape:
                await asyncio.sleep(self.press_after_s)
                return f"200 result={ord(keys.pop(0))} endpos=0"
            return "200 result=0 endpos=0"
        if command.startswith("WAIT FOR DIGIT"):
            await asyncio.sleep(self.press_after_s)
            if keys and len(keys[0]) == 1:
                return f"200 result={ord(keys.pop(0))}"
            return "200 result=0"
        if command.startswith("GET DATA"):
            await asyncio.sleep(self.press_after_s)
            if keys:
                return f"200 result={keys.pop(0).rstrip('#')}"
            return "200 result= (timeout)"
        return "510 Invalid or unknown command"


# ---------------------------------------------------------------- callers and simulated agents


class DemoCenter:
    """The demo's world: customers calling the service number and the agents that are no desktop."""

    def __init__(
        self,
        pbx: SimPbx,
        *,
        seats: list[AgentSeat],
        caller_numbers: list[str],
        calls_per_hour: float = 0.0,
        random_seed: int = 11,
        simulated_ready: bool = True,
        press_after_s: float = 2.0,
        answer_after_s: tuple[float, float] = (2.0, 5.0),
        talk_s: tuple[float, float] = (40.0, 150.0),
    ) -> None:
        self.pbx = pbx
        self.asterisk = SimAsterisk(pbx, press_after_s=press_after_s)
        self.seats = {s.agent_id: s for s in seats}
        self.simulated = {s.extension: s for s in seats if s.simulated}
        self.caller_numbers = caller_numbers
        self.calls_per_hour = calls_per_hour
        self.simulated_ready = simulated_ready
        self.answer_after_s = answer_after_s
        self.talk_s = talk_s
        self.rng = random.Random(random_seed)
        self.next_arrival: float | None = None
        self.ivr_calls = 0
        self._scripts: dict[str, list[tuple[str, ...]]] = {}
        self._due: list[_Due] = []
        self._seq = itertools.count()

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, _Due(self.pbx.now + delay, next(self._seq), action))

    def inbound(self, calling: str, *, script: tuple[str, ...] | None = None, patience_s: float | None = None) -> None:
        """A customer calls the service number now; the IVR answers. On the link's loop."""
        self._scripts.setdefault(calling, []).append(script or self.rng.choice(CALLER_SCRIPTS))
        self.pbx.schedule_inbound(self.pbx.now, calling, SERVICE_NUMBER, caller_hangs_up_after=patience_s)

    def start_simulated_agents(self) -> None:
        """The simulated agents log on at their phones, ready or (in the scripted demo) in training."""
        for seat in self.seats.values():
            if not seat.simulated:
                continue
            if self.simulated_ready:
                self.pbx.set_agent_state(seat.agent_id, AgentStateName.READY, extension=seat.extension)
            else:
                self.pbx.set_agent_state(seat.agent_id, AgentStateName.NOT_READY, reason="Training",
                                         extension=seat.extension)

    def watch(self) -> None:
        """See the PBX's events as they happen, before its link passes them on (to the gateway).

        The world's own view of its PBX: Asterisk runs the IVR for calls to the service number, the
        simulated agents' phones ring. On the loop's thread, as every PBX event.
        """
        passed_on = self.pbx.listener

        def both(event: LinkEvent) -> None:
            try:
                self.observe(event)
            except Exception:
                logger.exception("demo: the contact center failed on %s", event)
            if passed_on is not None:
                passed_on(event)

        self.pbx.listener = both

    def observe(self, event: LinkEvent) -> None:
        """A PBX event: calls to the IVR, offers to simulated agents."""
        if not isinstance(event, CallEvent):
            return
        kind = event.type
        if kind == CallEventType.OFFERED and event.extension is None and event.called == SERVICE_NUMBER:
            waiting = self._scripts.get(event.calling or "")
            script = waiting.pop(0) if waiting else self.rng.choice(CALLER_SCRIPTS)
            self.ivr_calls += 1
            self.asterisk.start(event.call_id, event.calling or "", event.called or "", script)
        elif kind == CallEventType.ALERTING and event.extension in self.simulated:
            self._simulate_agent(self.simulated[event.extension], event.call_id)
        elif kind == CallEventType.ENDED:
            self.asterisk.caller_hung_up(event.call_id)

    def _simulate_agent(self, seat: AgentSeat, call_id: str) -> None:
        def answer() -> None:
            self.pbx.answer(call_id, seat.extension)  # a CtiError if the offer was withdrawn meanwhile
            self._at(self.rng.uniform(*self.talk_s), hang_up)

        def hang_up() -> None:
            if call_id in self.pbx.live_calls:
                self.pbx.hangup(call_id, seat.extension)

        self._at(self.rng.uniform(*self.answer_after_s), answer)

    def step(self) -> None:
        """Do what is due at the PBX's current time: simulated agents, new callers."""
        now = self.pbx.now
        if self.next_arrival is None and self.calls_per_hour > 0:
            self.next_arrival = now + self.rng.expovariate(self.calls_per_hour / 3600)
        while self._due and self._due[0].at <= now:
            item = heapq.heappop(self._due)
            try:
                item.action()
            except CtiError as exc:
                logger.info("demo: %s", exc)
        if self.next_arrival is not None and now >= self.next_arrival and self.caller_numbers:
            self.inbound(self.rng.choice(self.caller_numbers), patience_s=self.rng.uniform(60, 240))
            self.next_arrival = now + self.rng.expovariate(self.calls_per_hour / 3600)

    async def run(self, tick_s: float = 0.1) -> None:
        self.start_simulated_agents()
        try:
            while True:
                self.step()
                await asyncio.sleep(tick_s)
        finally:
            await self.asterisk.close()


# ---------------------------------------------------------------- the production components, in one process


@dataclass(slots=True)
class Components:
    """What :func:`run_components` started (for explanations and tests)."""

    bus: Bus
    acd: Any  # routing.server.AcdServer
    gateway: Any  # cti.gateway.Gateway
    dialer: Any  # routing.dialer_service.DialerService
    ivr: Any  # ivr.fastagi.FastAgiServer


def _hand(sink: Callable[[Any], None], message: Any) -> None:
    try:
        sink(message)
    except Exception:  # a window that cannot take one message must not stop the feed
        logger.exception("demo: could not hand a %s message on", type(message).__name__)


async def _forward(subscription: Subscription, sink: Callable[[Any], None], kind: type) -> None:
    async for envelope in subscription:
        if isinstance(envelope.message, kind):
            _hand(sink, envelope.message)


async def _forward_agents(
    subscription: Subscription, sink: Callable[[AgentState | Command], None], every_s: float
) -> None:
    """Agent states as they come, and every agent's latest again every ``every_s`` (agent states are not
    retained: a window opened later learns of the agents that logged on before it)."""
    latest: dict[str, AgentState] = {}

    async def again() -> None:
        while True:
            await asyncio.sleep(every_s)
            for state in list(latest.values()):
                _hand(sink, state)

    repeater = asyncio.create_task(again())
    try:
        async for envelope in subscription:
            message = envelope.message
            if isinstance(message, AgentState):
                latest[message.agent_id] = message
                _hand(sink, message)
            elif isinstance(message, Command) and message.name == "offer":  # names the call's queue
                _hand(sink, message)
    finally:
        repeater.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await repeater


async def run_components(
    *,
    bus: Bus,
    link: CtiLink,
    center: DemoCenter,
    settings: Settings,
    sessions: Any,
    acd_config: Any,
    flows: Sequence[Any],
    lookup: Any,
    queue_sink: Callable[[QueueStats], None] | None = None,
    agent_sink: Callable[[AgentState | Command], None] | None = None,
    started: Callable[[Components], None] | None = None,
) -> None:
    """Run the gateway on ``link`` (the link of ``center``'s PBX), the IVR, the ACD and the dialer on
    ``bus`` (started and closed by the caller), and ``center`` around them, until cancelled.
    ``started`` gets the components once they run: clients of the gateway (desktops) connect then."""
    from .components import acd_server, cti_gateway, dialer_service, ivr_server

    pbx = center.pbx

    def attach(event: CallEvent) -> None:
        # The PBX carries the hand-off to the agent's phone, as Asterisk's channel variables do.
        with contextlib.suppress(CtiError):
            pbx.attach_data(event.call_id, event.data)

    gateway = cti_gateway(link, bus, settings, client_id=f"cti-gateway-{settings.site}")
    acd = acd_server(bus, acd_config, settings, client_id=f"acd-{settings.site}", election=False, sessions=sessions)
    dialer = dialer_service(bus, sessions, settings)
    ivr = ivr_server(bus, settings, sessions, flows, lookup, default_flow=SERVICE_FLOW, also_on_handoff=attach)
    center.watch()
    tasks: list[asyncio.Task[None]] = []
    try:
        # As `ccenter cti-gateway`: subscribed to commands before the link speaks.
        await gateway.start()
        await link.connect()
        tasks.append(asyncio.create_task(gateway.run(), name="demo-gateway"))
        await acd.start()
        await dialer.start()
        await ivr.start("127.0.0.1", 0)
        center.asterisk.port = ivr.port
        if queue_sink is not None:
            stats = await bus.subscribe(topics.all_queue_stats(settings.site))
            tasks.append(asyncio.create_task(_forward(stats, queue_sink, QueueStats)))
        if agent_sink is not None:
            agents = await bus.subscribe(topics.all_agent_events(settings.site))
            tasks.append(asyncio.create_task(_forward_agents(agents, agent_sink, 1.0)))
        if started is not None:
            started(Components(bus, acd, gateway, dialer, ivr))
        await center.run()
    finally:
        await center.asterisk.close()
        await ivr.close()
        await dialer.stop()
        await acd.stop()
        await link.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
