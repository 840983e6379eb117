"""The desktop's network thread runs a selector loop, whatever loop the platform gives by default.

On Windows, ``asyncio.new_event_loop()`` gives a proactor loop, whose ``add_reader`` raises
``NotImplementedError``; aiomqtt needs ``add_reader``. These tests make the default loop such a
loop on every platform, so they fail here as a Windows workstation would.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future

import pytest

from agent_desktop.telephony import LinkThread, network_loop
from cti.buslink import BusLink
from cti.sim import SimLink, SimPbx
from tests.helpers.loops import ProactorLike, readers_work


@pytest.fixture
def proactor_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio, "new_event_loop", ProactorLike)
    default = asyncio.new_event_loop()
    try:
        with pytest.raises(NotImplementedError):  # the stand-in really lacks what aiomqtt needs
            default.add_reader(0, print)
    finally:
        default.close()


def test_network_loop_is_a_selector_loop(proactor_by_default: None) -> None:
    loop = network_loop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert not isinstance(loop, ProactorLike)
    finally:
        loop.close()


def test_the_link_thread_runs_a_selector_loop_with_readers(qtbot, proactor_by_default: None) -> None:
    outcome: Future[type[asyncio.AbstractEventLoop]] = Future()

    async def on_loop(loop: asyncio.AbstractEventLoop) -> None:
        try:
            outcome.set_result(await readers_work(loop))
        except BaseException as exc:
            outcome.set_exception(exc)
            raise

    thread = LinkThread(SimLink(SimPbx(extensions=["1001"])), on_loop=on_loop)
    thread.start()
    try:
        loop_type = outcome.result(10)
    finally:
        thread.stop()
    assert issubclass(loop_type, asyncio.SelectorEventLoop)
    assert not issubclass(loop_type, ProactorLike)


@pytest.mark.mqtt
def test_the_desktop_reaches_the_broker_when_the_default_loop_has_no_readers(
    qtbot, mqtt_url: str, proactor_by_default: None
) -> None:
    site = f"t{uuid.uuid4().hex[:10]}"
    link = BusLink.from_url(mqtt_url, site=site, agent_id="a1", client_id=f"desk-{site}", capabilities_timeout=0.05)
    thread = LinkThread(link)
    seen: list[str] = []
    thread.link_up.connect(lambda: seen.append("up"))
    thread.link_down.connect(lambda reason: seen.append(f"down: {reason}"))
    thread.start()
    try:
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        assert seen == ["up"]
        assert link.connected
    finally:
        thread.stop()


@pytest.mark.mqtt
def test_the_broker_check_before_login_works_when_the_default_loop_has_no_readers(
    mqtt_url: str, proactor_by_default: None
) -> None:
    from ccenter.commands.doctor import check_broker
    from ccenter.config import load_settings

    settings = load_settings(db="sqlite://", mqtt=mqtt_url, environ={})
    assert check_broker(settings).startswith("connected to ")
