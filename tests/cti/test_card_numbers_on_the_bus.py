"""Card numbers in PBX call data never reach the bus in clear: the gateway masks what the PBX attaches
and what callers key, and the bus itself masks every text value of every message ccenter publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bus import messages, topics
from bus.messages import CallEvent, CommandResult, install_text_guard
from bus.transport import InProcessBus
from crm.masking import mask_text
from cti.ami.client import AmiLink, AmiSettings
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from tests.helpers import until

from .ami_server import ReplayAsterisk
from .test_asterisk_captures import CAPTURES, MANAGER_CONF

CARD = "4111111111111111"
CARD_AND_CODE = "4111111111111111123"  # keyed together with the security code
SITE = "cards"


@pytest.fixture
def no_guard() -> Iterator[None]:
    """The gateway's own masking, without the bus's (a process not started by ``ccenter``)."""
    before = messages._text_guard
    install_text_guard(None)
    yield
    install_text_guard(before)


@pytest.fixture
def guard() -> Iterator[None]:
    before = messages._text_guard
    install_text_guard(mask_text)
    yield
    install_text_guard(before)


async def capture_bus(bus: InProcessBus, pattern: str, out: list[bytes]) -> asyncio.Task[None]:
    subscription = await bus.subscribe(pattern)

    async def read() -> None:
        async for envelope in subscription:
            out.append(envelope.message.to_dict().__repr__().encode())

    return asyncio.create_task(read())


def test_the_gateway_masks_attached_data_from_the_pbx(no_guard: None) -> None:
    async def main() -> None:
        bus = InProcessBus()
        pbx = SimPbx(extensions=["1001"])
        link = SimLink(pbx)
        seen: list[bytes] = []
        async with bus:
            reader = await capture_bus(bus, "ccenter/v1/cards/#", seen)
            gateway = Gateway(link, bus, site=SITE)
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            call_id = await link.make_call("1001", "5550100")
            await link.attach_data(call_id, {"note": f"card {CARD} exp 12/27", "pan": CARD_AND_CODE})
            await until(lambda: any(b"call.data" in m for m in seen))
            data = next(m for m in seen if b"call.data" in m)
            assert b"************1111 exp 12/27" in data and b"************1111***" in data
            assert not any(CARD.encode() in m for m in seen)
            assert gateway.site_calls.get(call_id) is not None
            assert CARD not in repr(gateway.site_calls.get(call_id))  # nor in what it tells joining agents
            await link.close()
            await runner
            reader.cancel()

    asyncio.run(main())


def test_card_numbers_in_an_asterisk_capture_are_masked_before_the_bus(no_guard: None) -> None:
    """The captured queue call, with the caller's keyed card and code in the CC_ variable the IVR set."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes().replace(b"billing", CARD_AND_CODE.encode())

    async def main() -> None:
        server = ReplayAsterisk(capture, MANAGER_CONF, username="ccenter")
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="ccenter", secret="s3cret",
                                   tech="IAX2", ping_interval=3600, action_timeout=3.0))
        bus = InProcessBus()
        seen: list[bytes] = []
        async with bus:
            reader = await capture_bus(bus, "ccenter/v1/cards/#", seen)
            gateway = Gateway(link, bus, site=SITE)
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            await asyncio.wait_for(server.finished.wait(), 5)
            await until(lambda: any(b"call.ended" in m for m in seen))
            data = [m for m in seen if b"call.data" in m]
            assert data and b"************1111***" in data[0]
            assert not any(CARD.encode() in m for m in seen)
            await link.close()
            await runner
            reader.cancel()
        await server.stop()

    asyncio.run(main())


def test_the_bus_masks_every_text_of_every_message_but_numbers_and_ids(guard: None) -> None:
    async def main() -> None:
        bus = InProcessBus()
        async with bus:
            calls = await bus.subscribe(topics.calls(SITE))
            results = await bus.subscribe(topics.cti_results(SITE))
            luhn_phone = "4111111111111111"  # a calling "number" as a PBX may give it: left alone
            await bus.publish(topics.call(SITE, "c1"), CallEvent(
                type="call.data", call_id="c1", ts=0.0, calling=luhn_phone, calling_name=f"pay {CARD}",
                data={"fields": {"note": {"value": f"cvv too {CARD_AND_CODE}"}}, "queue": "sales"}))
            await bus.publish(topics.cti_results(SITE), CommandResult(
                command_id="x", ok=False, ts=0.0, error=f"could not attach {CARD}"))
            event = (await asyncio.wait_for(calls.__anext__(), 5)).message
            result = (await asyncio.wait_for(results.__anext__(), 5)).message
            assert isinstance(event, CallEvent) and isinstance(result, CommandResult)
            assert event.calling == luhn_phone and event.data["queue"] == "sales"
            assert event.calling_name == "pay ************1111"
            assert event.data["fields"]["note"]["value"] == "cvv too ************1111***"
            assert result.error == "could not attach ************1111"

    asyncio.run(main())


def test_every_ccenter_process_installs_the_bus_guard(no_guard: None, capsys: pytest.CaptureFixture[str]) -> None:
    from ccenter.cli import main

    assert messages._text_guard is None
    main([])  # any command: the guard is installed before it runs
    capsys.readouterr()
    assert messages._text_guard is mask_text
    assert CARD.encode() not in messages.encode(CallEvent(type="call.data", call_id="c", ts=0.0, data={"n": CARD}))

