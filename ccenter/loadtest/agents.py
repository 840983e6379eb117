"""Child process of ``ccenter loadtest``: scripted agent desktops, each on the bus as a desktop is.

``python -m ccenter.loadtest.agents CONFIG.json``. Each agent has its own broker connection and
:class:`~cti.buslink.BusLink` (the production desktop's link to the gateway): it logs on at its
extension and makes itself ready, answers every call that rings it, hangs up after an exponential
handle time, and is ready again. Every call event it receives is noted with the wall-clock time it
arrived; a call that rings an agent already on a call, or rings it twice, is a double offer. The
notes go to ``out`` as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bus.messages import AgentStateName, CallEvent, CallEventType
from cti.buslink import BusLink
from cti.errors import CtiError


class Agent:
    def __init__(self, config: dict[str, Any], n: int) -> None:
        self.agent_id = f"load-{n:03d}"
        self.extension = str(3000 + n)
        self.config = config
        self.rng = random.Random(n)
        self.link = BusLink.from_url(config["mqtt"], site=config["site"], agent_id=self.agent_id,
                                     client_id=f"desk-{self.agent_id}", command_timeout=30.0)
        self.received: dict[str, float] = {}
        self.rung: list[str] = []
        self.doubles: list[str] = []
        self.current: str | None = None
        self.answered = 0
        self.failed = 0
        self.errors: list[str] = []
        self.answer_s: list[float] = []  # ringing (the event received) to the answer's result
        self.next_call_s: list[float] = []  # the end of a call (its event received) to the next ringing
        self.ended_at: float | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.reader: asyncio.Task[None]

    async def log_on(self) -> None:
        await self.link.connect()
        await self.link.set_agent_state(self.agent_id, AgentStateName.NOT_READY, reason="logged on",
                                        extension=self.extension)
        self.reader = asyncio.create_task(self._read())
        await self.link.set_agent_state(self.agent_id, AgentStateName.READY, extension=self.extension)

    async def run(self, until: float) -> None:
        await asyncio.sleep(max(0.0, until - time.time()))
        self.reader.cancel()
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        await self.link.close()

    async def _read(self) -> None:
        async for event in self.link.events():
            if not isinstance(event, CallEvent):
                continue
            now = time.time()
            self.received[f"{self.agent_id} {event.call_id} {event.type}"] = now
            if event.type == CallEventType.ALERTING and event.extension == self.extension:
                if event.call_id in self.rung or self.current is not None:
                    self.doubles.append(event.call_id)
                    continue
                self.rung.append(event.call_id)
                self.current = event.call_id
                if self.ended_at is not None:
                    self.next_call_s.append(now - self.ended_at)
                    self.ended_at = None
                self._spawn(self._serve(event.call_id, now))
            elif event.type == CallEventType.ENDED and event.call_id == self.current:
                self.current = None
                self.ended_at = now
                self._spawn(self._ready())

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, call_id: str, rang: float) -> None:
        try:
            await self.link.answer(call_id, self.extension)
            self.answered += 1
            self.answer_s.append(time.time() - rang)
            await asyncio.sleep(self.rng.expovariate(1 / self.config["handle_s"]))
            await self.link.hangup(call_id, self.extension)
        except CtiError as exc:
            self.failed += 1
            self.errors.append(f"{call_id}: {exc}")

    async def _ready(self) -> None:
        try:
            await self.link.set_agent_state(self.agent_id, AgentStateName.READY, extension=self.extension)
        except CtiError as exc:
            self.failed += 1
            self.errors.append(f"ready: {exc}")


async def main(config: dict[str, Any]) -> None:
    agents = [Agent(config, n) for n in range(int(config["agents"]))]
    await asyncio.gather(*(agent.log_on() for agent in agents))
    start = time.time()  # every agent ready: the calls may come
    ready = Path(config["ready_file"])
    ready.with_suffix(".tmp").write_text(repr(start))
    ready.with_suffix(".tmp").replace(ready)  # whole or not there: others poll for it
    until = start + config["duration"] + config["drain"] - 1.0
    await asyncio.gather(*(agent.run(until) for agent in agents))
    Path(config["out"]).write_text(json.dumps({
        "received": {k: v for a in agents for k, v in a.received.items()},
        "rung": {a.agent_id: a.rung for a in agents},
        "doubles": sum(len(a.doubles) for a in agents),
        "answered": sum(a.answered for a in agents),
        "failed": sum(a.failed for a in agents),
        "errors": [e for a in agents for e in a.errors][:20],
        "answer_s": [x for a in agents for x in a.answer_s],
        "next_call_s": [x for a in agents for x in a.next_call_s],
        "started": start,
        "until": until,
    }))


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        runner.run(main(json.loads(Path(sys.argv[1]).read_text())))
