"""Child process of ``ccenter loadtest``: the CTI gateway on a simulated PBX, with calls arriving.

``python -m ccenter.loadtest.gateway CONFIG.json``. The gateway is the production one (``ccenter/components``
builds the same :class:`~cti.gateway.Gateway`), bridging a real-time :class:`~cti.sim.SimPbx` to
Mosquitto; once every agent is ready (``ready_file`` holds the time), calls arrive in the queue at
a Poisson rate for ``duration`` seconds. Every call event published on an agent's events topic is
noted with the wall-clock time its publish began; at the end they are written to ``out`` as JSON for
the driver to match with what the desktops received.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bus.messages import CallEvent, Message
from bus.transport import open_bus
from cti.sim import SimLink, SimPbx

from ..components import cti_gateway
from ..config import Settings


async def main(config: dict[str, Any]) -> None:
    site, agents = config["site"], int(config["agents"])
    pbx = SimPbx(extensions=[str(3000 + n) for n in range(agents)], trunks=agents * 4, ring_timeout=30.0)
    link = SimLink(pbx, realtime=True, tick=0.01)
    bus = open_bus(config["mqtt"], client_id=f"load-gw-{site}", site=site, role="cti-gateway")
    sent: dict[str, float] = {}
    publish = bus.publish

    async def noted(topic: str, message: Message, **kw: Any) -> None:
        if isinstance(message, CallEvent) and "/agents/" in topic:
            sent[f"{topic.split('/')[4]} {message.call_id} {message.type}"] = time.time()
        await publish(topic, message, **kw)

    bus.publish = noted  # type: ignore[method-assign]
    await bus.start()
    settings = Settings(db_url="sqlite://", mqtt_url=config["mqtt"], site=site)
    gateway = cti_gateway(link, bus, settings, client_id=f"load-gw-{site}")
    await gateway.start()
    await link.connect()
    runner = asyncio.create_task(gateway.run())
    ready = Path(config["ready_file"])
    deadline = time.monotonic() + config["logon_timeout"]
    while not ready.exists() or not ready.read_text():  # the agents log on, then calls come
        if time.monotonic() > deadline:
            raise SystemExit(f"the agents were not all ready within {config['logon_timeout']:.0f} s")
        await asyncio.sleep(0.1)
    start = float(ready.read_text())
    rng = random.Random(7)
    at, offered = pbx.now, 0
    end = pbx.now + config["duration"]
    while True:
        at += rng.expovariate(config["rate"])
        if at >= end:
            break
        pbx.schedule_inbound(at, f"+1415555{offered % 10_000:04d}", "800", queue="sales")
        offered += 1
    await asyncio.sleep(max(0.0, start + config["duration"] + config["drain"] - time.time()))
    runner.cancel()
    await link.close()
    await bus.close()
    Path(config["out"]).write_text(json.dumps({"offered": offered, "sent": sent}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())))
