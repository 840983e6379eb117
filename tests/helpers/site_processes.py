"""One site's server processes as production builds them: ``ccenter cti-gateway`` on the simulated PBX
and ``ccenter acd`` (in the site's election, as the command runs it), each on its own loop and its
own bus connection, built by ``ccenter.components`` (the one wiring).

Used by the tests that run several sites on one broker, or a site on a clustered broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bus.mqtt import MqttBus
from ccenter import components
from ccenter.config import Settings
from cti.sim import SimLink, SimPbx
from routing.acd_config import AcdConfig
from routing.model import QueueConfig
from routing.server import AgentProfile
from tests.end2end.test_production import _Loop


class SiteProcesses:
    """The gateway and the ACD of ``site``; ``agents`` maps login to extension (all in "billing").

    With ``db_url`` the ACD reads its queues and agents from that database, as ``ccenter acd`` does
    without ``--queues`` (the site's rows only); ``agents`` then only gives the PBX its extensions."""

    def __init__(self, mqtt_url: str, site: str, agents: dict[str, str], db_url: str | None = None) -> None:
        self.site = site
        self.settings = Settings(db_url=db_url or "sqlite://", mqtt_url=mqtt_url, site=site)
        self.pbx = SimPbx(extensions=list(agents.values()))
        self.gateway_loop, self.acd_loop = _Loop(f"cti-gateway-{site}"), _Loop(f"acd-{site}")
        self.gateway_bus = MqttBus(mqtt_url, client_id=f"gw-{site}", site=site, role="cti-gateway")
        self.acd_bus = MqttBus(mqtt_url, client_id=f"acd-{site}", site=site, role="acd")
        self.link = SimLink(self.pbx, realtime=True)
        config = components.acd_config(self.settings) if db_url else AcdConfig(
            queues=(QueueConfig(name="billing", skill="billing", ring_timeout_s=30.0),),
            agents={login: AgentProfile({"billing": 8}, extension) for login, extension in agents.items()},
        )
        self.config = config
        self.acd = components.acd_server(self.acd_bus, config, self.settings, client_id=self.acd_bus.client_id,
                                         election=True)
        self.gateway = components.cti_gateway(self.link, self.gateway_bus, self.settings,
                                              client_id=self.gateway_bus.client_id)
        self.gateway_loop.run(self._start_gateway())
        self.acd_loop.run(self._start_acd())

    async def _start_gateway(self) -> None:
        await self.gateway_bus.start()
        await self.gateway.start()
        await self.link.connect()
        self._gateway_task = asyncio.create_task(self.gateway.run())

    async def _start_acd(self) -> None:
        await self.acd_bus.start()
        await self.acd.start()

    def on_pbx(self, fn: Callable[[], object]) -> Any:
        """Act on the simulated PBX on the gateway's own loop, as everything that touches it must."""

        async def call() -> object:
            return fn()

        return self.gateway_loop.run(call())

    def on_acd(self, fn: Callable[[], object]) -> Any:
        async def call() -> object:
            return fn()

        return self.acd_loop.run(call())

    def acd_agent_status(self, agent_id: str) -> Any:
        from bus.messages import AgentId

        return self.on_acd(lambda: self.acd.engine.agent_status(AgentId(agent_id))
                           if agent_id in self.acd.engine.agent_ids() else None)

    def acd_statistics(self) -> Any:
        return self.on_acd(lambda: self.acd.engine.queue_statistics("billing", self.acd.clock()))

    def is_leader(self) -> bool:
        return bool(self.on_acd(lambda: self.acd.is_leader))

    def close(self) -> None:
        async def stop_acd() -> None:
            await self.acd.stop()
            await self.acd_bus.close()

        async def stop_gateway() -> None:
            self._gateway_task.cancel()
            await self.link.close()
            await self.gateway_bus.close()

        self.acd_loop.run(stop_acd())
        self.gateway_loop.run(stop_gateway())
        self.acd_loop.stop()
        self.gateway_loop.stop()
