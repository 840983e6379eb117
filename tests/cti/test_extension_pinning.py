"""An agent pinned to its extensions: the gateway refuses its login, or its commands, on any other one.

The assignment is the agents table's (``Agent.extension`` and ``agent_extension``), set with
``ccenter broker extensions`` and read by ``ccenter cti-gateway --pin-extensions``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import Engine

from bus import topics
from bus.transport import InProcessBus
from ccenter.cli import main
from ccenter.commands.cti import _load_extensions
from crm import db
from crm.models import Agent
from crm.repository.extensions import agent_extensions
from crm.secrets import hash_secret
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from tests.helpers import until

from .test_gateway_trust import SITE, agent_command, ask

PINNED = {"a7": frozenset({"1007"}), "a8": frozenset({"1008", "1009"})}


async def pinned_gateway(extensions: dict[str, frozenset[str]], scenario) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    pbx = SimPbx(extensions=["1007", "1008", "1009"])
    link = SimLink(pbx)
    async with bus:
        gateway = Gateway(link, bus, site=SITE, extensions=extensions)
        await gateway.start()
        await link.connect()
        runner = asyncio.create_task(gateway.run())
        try:
            await scenario(bus, pbx, gateway)
        finally:
            await link.close()
            await asyncio.wait_for(runner, 5)


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"is not assigned to the agent")
def test_a_login_on_an_extension_not_assigned_is_refused() -> None:
    async def scenario(bus: InProcessBus, pbx: SimPbx, gateway: Gateway) -> None:
        inbox = await bus.subscribe(topics.agent_events(SITE, "a7"))
        own = topics.agent_commands(SITE, "a7")
        other = agent_command("l1", "set_agent_state", args={"state": "ready", "extension": "1008"})
        refused = await ask(bus, inbox, own, other)
        assert not refused.ok and refused.result == {"kind": "Forbidden"}
        assert "extension '1008' is not assigned to the agent (assigned: 1007)" in (refused.error or "")
        ok = agent_command("l2", "set_agent_state", args={"state": "ready", "extension": "1007"})
        assert (await ask(bus, inbox, own, ok)).ok
        call = agent_command("c1", "make_call", args={"from_device": "1007", "to_number": "5550100"})
        assert (await ask(bus, inbox, own, call)).ok
        # An agent the table does not know may use no extension at all.
        stranger = await bus.subscribe(topics.agent_events(SITE, "a9"))
        login = agent_command("l3", "set_agent_state", args={"state": "ready", "extension": "1009"})
        refused = await ask(bus, stranger, topics.agent_commands(SITE, "a9"), login)
        assert not refused.ok and "(assigned: none)" in (refused.error or "")

    asyncio.run(pinned_gateway(dict(PINNED), scenario))


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"is not assigned to the agent")
def test_a_login_made_on_the_phone_itself_gives_no_rights_on_that_extension() -> None:
    """The PBX reports a7 logged in on 1008 (keyed on the phone): a7's commands there are refused."""
    async def scenario(bus: InProcessBus, pbx: SimPbx, gateway: Gateway) -> None:
        inbox = await bus.subscribe(topics.agent_events(SITE, "a7"))
        pbx.set_agent_state("a7", "ready", extension="1008")  # the PBX's own agent login
        await until(lambda: gateway._extension_of.get("a7") == "1008")
        call = agent_command("c1", "make_call", args={"from_device": "1008", "to_number": "5550100"})
        refused = await ask(bus, inbox, topics.agent_commands(SITE, "a7"), call)
        assert not refused.ok and "extension '1008' is not assigned" in (refused.error or "")

    asyncio.run(pinned_gateway(dict(PINNED), scenario))


def test_extensions_are_set_and_read_from_the_agents_table(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.transaction(db.session_factory(engine)) as s:
        s.add(Agent(login="a7", name="A7", extension="1007", password_hash=hash_secret("x")))
        s.add(Agent(login="a8", name="A8", extension=None, password_hash=hash_secret("x")))
        s.add(Agent(login="gone", name="Gone", extension="1010", active=False))
    assert main(["broker", "extensions", "a8", "1008", "1009", "--db", db_url]) == 0
    assert main(["broker", "extensions", "a7", "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == ["a8: 1008 1009", "a7: 1007"]
    with db.session_factory(engine)() as s:
        assert agent_extensions(s) == PINNED
    assert _load_extensions(db_url) == PINNED  # what `ccenter cti-gateway --pin-extensions` reads
    assert main(["broker", "extensions", "a8", "--clear", "--db", db_url]) == 0
    assert main(["broker", "extensions", "a8", "1008@evil", "--db", db_url]) != 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["a8: (none)"]
    assert "'1008@evil' is not an extension" in captured.err
    assert main(["broker", "extensions", "nobody", "--db", db_url]) != 0
    assert "no active agent with the login 'nobody'" in capsys.readouterr().err
