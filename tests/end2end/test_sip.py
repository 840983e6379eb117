"""Real SIP calls on loopback: SIPp callers and far ends, baresip softphones, the agent desktop.

Every program runs on ports chosen free at run time, with its configuration generated in the test's
temporary folder (baresip plays an 8 kHz WAV and plays what it hears into a sink: no audio
hardware), and is stopped by its process id when the test ends. The agent's desktop is the real
``AgentWindow`` on a ``LinkThread`` whose link is the agent's softphone (``baresip://``), with a
real SQLite database: what the tests assert is what the agent saw and what was stored.

Without baresip or SIPp these tests skip, except with ``CI=true`` (``scripts/bootstrap --dev``
installs them), where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from bench import _sipkit as kit
from bus.messages import AgentStateName, CallEvent
from crm import db
from crm.models import Agent, Contact, Customer, PhoneNumber, Tier
from crm.repository import AgentView
from cti.baresip.link import BaresipLink, BaresipSettings
from cti.model import LinkEvent
from tests.conftest import IN_CI
from tests.helpers import until

SCENARIOS = Path(__file__).resolve().parents[1] / "cti" / "sip" / "scenarios"
CALLER = "+8613800000001"


def require_sip(*programs: str) -> None:
    missing = kit.missing_programs(*programs)
    if not missing:
        return
    message = f"not installed: {', '.join(missing)} (scripts/bootstrap --dev installs them)"
    if IN_CI:
        pytest.fail(f"{message}; CI=true, so the SIP tests must run", pytrace=False)
    pytest.skip(message)


@dataclass
class Lab:
    """What a test started; everything is stopped by process id when the test ends."""

    root: Path
    wav: Path
    programs: list[Any] = field(default_factory=list)

    def phone(self, user: str, **options: Any) -> kit.Softphone:
        phone = kit.softphone(self.root, user, wav=self.wav, **options)
        self.programs.append(phone)
        return phone.start()

    def sipp(self, scenario: str, target: str | None, **options: Any) -> kit.SippRun:
        run = kit.sipp(self.root / f"sipp-{len(self.programs)}", SCENARIOS / scenario, target, **options)
        self.programs.append(run.program)
        return run


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    require_sip("baresip", "sipp")
    lab = Lab(tmp_path, kit.write_tone(tmp_path / "voice.wav", seconds=60))
    try:
        yield lab
    finally:
        for program in reversed(lab.programs):
            program.stop()


@dataclass
class SipDesk:
    window: AgentWindow
    link: LinkThread
    engine: Any
    customer_id: int


@pytest.fixture
def sip_desk(qtbot, lab: Lab, tmp_path: Path) -> Iterator[tuple[SipDesk, kit.Softphone, kit.Softphone]]:
    """Alice's desktop on her softphone (1001); Bob's softphone (1002) is what she dials and transfers to."""
    bob = lab.phone("1002")
    alice = lab.phone("1001")
    # Extensions typed on the desktop are dialled at Bob's phone (with a proxy: the proxy's address).
    with open_desk(qtbot, tmp_path, alice, domain=f"127.0.0.1:{bob.sip_port}") as desk:
        yield desk, alice, bob


@contextlib.contextmanager
def open_desk(qtbot, tmp_path: Path, alice: kit.Softphone, **settings: Any) -> Iterator[SipDesk]:
    """The real agent desktop of Alice on her softphone's ``baresip://`` link, on a real SQLite database."""
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Zhang Wei", tier=Tier.VIP, language="zh", time_zone="Asia/Shanghai")
        customer.phones = [PhoneNumber(e164=CALLER, is_primary=True)]
        s.add(customer)
        s.add(Agent(id=1, login="alice", name="Alice Morgan", extension="1001"))
        s.add(Agent(id=2, login="bob", name="Bob Chen", extension="1002"))
        s.flush()
        customer_id = customer.id
    link = LinkThread(BaresipLink(BaresipSettings("127.0.0.1", alice.ctrl_port, extension="1001", agent="alice",
                                                  **settings)))
    link.start()
    agent = AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001")
    window = AgentWindow(agent=agent, link=link, directory=CustomerDirectory(db.session_factory(engine)),
                         outbox=ContactOutbox(db.session_factory(engine), tmp_path / "outbox.jsonl"),
                         wrap_up_seconds=60)
    qtbot.addWidget(window)
    window.show()
    window.log_on()
    try:
        yield SipDesk(window, link, engine, customer_id)
    finally:
        window.close()
        link.stop()
        engine.dispose()


class PhoneWatch:
    """A second softphone's link, on a loop of its own thread: its normalized events, and commands."""

    def __init__(self, phone: kit.Softphone) -> None:
        from agent_desktop.telephony import NetworkThread

        self.thread = NetworkThread(f"phone-{phone.user}")
        self.thread.start()
        self.link = BaresipLink(BaresipSettings("127.0.0.1", phone.ctrl_port, extension=phone.user))
        self.events: list[LinkEvent] = []
        self.thread.call_soon(self._start()).result(10)

    async def _start(self) -> None:
        await self.link.connect()

        async def pull() -> None:
            async for event in self.link.events():
                self.events.append(event)

        asyncio.get_running_loop().create_task(pull())

    def run(self, coroutine: Any, timeout: float = 10) -> Any:
        return self.thread.call_soon(coroutine).result(timeout)

    def types(self) -> list[str]:
        return [e.type for e in self.events if isinstance(e, CallEvent)]

    def wait(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        self.run(until(condition, timeout), timeout + 5)

    def close(self) -> None:
        self.run(self.link.close())
        self.thread.stop()


def test_an_inbound_call_answered_on_the_desktop_held_and_saved_with_its_disposition(qtbot, lab: Lab, sip_desk) -> None:
    desk, alice, _bob = sip_desk
    w = desk.window
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=15_000) as popped:
        caller = lab.sipp("caller.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
    call_id = popped.args[0]
    # The screen pop: the customer found by the caller's number, the data the call carried.
    assert call_id.startswith("sip-1-") and call_id.endswith("@127.0.0.1")
    assert w.customer_view.name_label.text() == "Zhang Wei"
    call = w.session.calls[call_id]
    assert call.calling == CALLER and call.calling_name == "Zhang Wei"
    assert call.data == {"account": "4711", "intent": "billing"}
    assert w.answer_button.isEnabled() and not w.hold_button.isEnabled()

    qtbot.mouseClick(w.answer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.calls[call_id].phase.value == "connected", timeout=10_000)
    qtbot.mouseClick(w.hold_button, Qt.MouseButton.LeftButton)  # a re-INVITE the caller answers
    qtbot.waitUntil(lambda: w.hold_button.text() == "Retrieve", timeout=5000)
    qtbot.mouseClick(w.hold_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.hold_button.text() == "Hold", timeout=5000)
    # Keypad digits and mute, on and off: the real phone takes each command (none comes back failed).
    sent: list[Any] = []
    command = desk.link.command
    desk.link.command = lambda *args, **kwargs: sent.append(command(*args, **kwargs)) or sent[-1]  # type: ignore[method-assign]
    w.keypad("12#")
    w.toggle_mute()
    assert w.mute_button.isChecked() and w.mute_button.text() == "Unmute"
    w.toggle_mute()
    assert not w.mute_button.isChecked()
    desk.link.command = command  # type: ignore[method-assign]
    assert len(sent) == 3
    for future in sent:
        future.result(10)  # raises the phone's refusal, if any

    # The caller hangs up (6 s after the last news from the phone): wrap-up, then the contact is saved.
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=20_000)
    assert caller.wait(15) == 0, caller.errors
    codes = [w.disposition.itemData(i) for i in range(w.disposition.count())]
    disposition = next(code for code in codes if code)
    w.disposition.setCurrentIndex(codes.index(disposition))
    w.notes.setPlainText("Asked about the bill")
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    result = saved.args[0]
    assert result is not None
    with db.session_factory(desk.engine)() as s:
        contact = s.get_one(Contact, result.contact_id)
        assert (contact.customer_id, contact.cti_call_id, contact.disposition, contact.agent_id) == (
            desk.customer_id, call_id, disposition, 1)
        assert contact.notes == "Asked about the bill"


def test_a_caller_who_hangs_up_while_it_rings_leaves_the_screen_without_wrap_up(qtbot, lab: Lab, sip_desk) -> None:
    desk, alice, _bob = sip_desk
    w = desk.window
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=15_000) as popped:
        caller = lab.sipp("caller_gives_up.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
    call_id = popped.args[0]
    assert w.session.calls[call_id].calling == "+8613900000002"
    assert w.session.calls[call_id].calling_name == "Li Na"
    qtbot.waitUntil(lambda: call_id not in w.session.calls, timeout=15_000)
    assert w.session.state is AgentStateName.READY, "a call never answered needs no wrap-up"
    assert caller.wait(15) == 0, caller.errors
    with db.session_factory(desk.engine)() as s:
        assert s.query(Contact).count() == 0, "nobody spoke with the caller: no contact is stored"


def test_the_agent_transfers_a_call_to_a_second_softphone(qtbot, lab: Lab, sip_desk) -> None:
    desk, alice, bob = sip_desk
    w = desk.window
    customer = lab.phone("5550100")  # the customer calls from a softphone, which carries out the REFER
    to_bob = PhoneWatch(bob)
    from_customer = PhoneWatch(customer)
    try:
        with qtbot.waitSignal(w.screen_popped, timeout=15_000) as popped:
            from_customer.run(from_customer.link.make_call("5550100", alice.uri))
        call_id = popped.args[0]
        assert w.session.calls[call_id].calling == "5550100"
        w.answer()
        qtbot.waitUntil(lambda: w.transfer_button.isEnabled(), timeout=10_000)
        w.blind_transfer("1002")  # REFER to sip:1002@<Bob's phone>: the customer's phone calls Bob
        to_bob.wait(lambda: "call.alerting" in to_bob.types())
        rung = next(e for e in to_bob.events if isinstance(e, CallEvent) and e.type == "call.alerting")
        assert rung.calling == "5550100" and rung.extension == "1002"
        assert call_id in w.session.calls, "the call stays with Alice until Bob answers"
        to_bob.run(to_bob.link.answer(rung.call_id, "1002"))
        qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=15_000)
        assert w.session.calls == {}
        to_bob.wait(lambda: "call.answered" in to_bob.types())
        from_customer.wait(lambda: from_customer.types().count("call.answered") >= 2)
        # Alice wraps the transferred call up: its contact is stored with her disposition.
        w.disposition.setCurrentIndex(w.disposition.findData("escalated"))
        with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
            w.save_contact()
        with db.session_factory(desk.engine)() as s:
            contact = s.get_one(Contact, saved.args[0].contact_id)
            assert (contact.cti_call_id, contact.disposition, contact.agent_id) == (call_id, "escalated", 1)
    finally:
        to_bob.close()
        from_customer.close()


def test_outbound_dials_end_busy_and_no_answer(lab: Lab) -> None:
    alice = lab.phone("1001")
    busy = lab.sipp("far_busy.xml", None, name="busy")
    ringing = lab.sipp("far_ring.xml", None, name="ring")

    async def scenario() -> list[LinkEvent]:
        link = BaresipLink(BaresipSettings("127.0.0.1", alice.ctrl_port, extension="1001", ring_timeout=2))
        events: list[LinkEvent] = []

        async def pull() -> None:
            async for event in link.events():
                events.append(event)

        await link.connect()
        puller = asyncio.create_task(pull())
        try:
            first = await link.make_call("1001", f"sip:5550199@127.0.0.1:{busy.port}")
            await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.ended" for e in events), 15)
            second = await link.make_call("1001", f"sip:5550198@127.0.0.1:{ringing.port}")
            await until(lambda: sum(isinstance(e, CallEvent) and e.type == "call.ended" for e in events) == 2, 15)
            assert first != second
        finally:
            await link.close()
            await puller
        return events

    events = asyncio.run(scenario())
    rows = [(e.type, e.called, e.cause) for e in events if isinstance(e, CallEvent)]
    assert rows == [
        ("call.offered", "5550199", None),
        ("call.ended", None, "busy"),
        ("call.offered", "5550198", None),
        ("call.alerting", "5550198", None),
        ("call.ended", None, "no_answer"),
    ]
    assert busy.wait(10) == 0, busy.errors
    assert ringing.wait(10) == 0, ringing.errors


@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: the softphone closed the connection")
@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: .*Connect call failed", required=False)
def test_the_softphone_restarts_during_a_call_and_the_link_tells_the_truth(lab: Lab) -> None:
    alice = lab.phone("1001")
    watch = PhoneWatch(alice)
    try:
        caller = lab.sipp("caller_gives_up.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
        watch.wait(lambda: "call.alerting" in watch.types())
        alice.stop()  # baresip goes away with the call ringing (stopped by its process id) ...
        watch.wait(lambda: not watch.link.ready.is_set())
        alice.start()  # ... and comes back on the same ports, without the call
        watch.wait(lambda: watch.link.sessions == 2 and watch.link.ready.is_set())
        watch.wait(lambda: "call.ended" in watch.types())
        ended = [e for e in watch.events if isinstance(e, CallEvent) and e.type == "call.ended"]
        assert [e.cause for e in ended] == ["ended while the link was down"]
        assert watch.run(watch.link.live_calls([ended[0].call_id])) == set()
        caller.program.stop()
    finally:
        watch.close()


@pytest.mark.parametrize("broker", ["inproc", "mqtt"])
@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"\(blind_transfer\) failed: .*answer it before")
@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: the softphone closed the connection")
@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: .*Connect call failed", required=False)
def test_the_gateway_carries_a_softphone_to_the_desktops_buslink(lab: Lab, broker: str, request) -> None:
    """``ccenter cti-gateway --link baresip://…`` and ``ccenter desktop``'s BusLink: log on, ring, answer, end;
    the softphone stopped and started again reaches the desktop as the link lost and back."""
    import uuid

    from bus import topics
    from bus.messages import AgentState
    from bus.mqtt import MqttBus
    from bus.transport import Bus, InProcessBus
    from cti.buslink import BusLink
    from cti.errors import CommandFailed
    from cti.gateway import Gateway

    url = request.getfixturevalue("mqtt_url") if broker == "mqtt" else None
    alice = lab.phone("1001")
    site = f"t{uuid.uuid4().hex[:10]}"

    async def scenario() -> list[LinkEvent]:
        shared = InProcessBus()
        buses: list[Bus] = [
            shared if url is None else MqttBus(url, client_id=f"{name}-{site}", site=site) for name in ("gw", "desk")
        ]
        for bus in dict.fromkeys(buses):
            await bus.start()
        link = BaresipLink.from_url(alice.link_url)
        gateway = Gateway(link, buses[0], site=site, client_id=f"cti-gateway-{site}")
        await gateway.start()
        await link.connect()
        runner = asyncio.create_task(gateway.run())
        desk = BusLink(buses[1], site=site, agent_id="alice", command_timeout=10)
        await desk.connect()
        seen: list[LinkEvent] = []

        async def pull() -> None:
            async for event in desk.events():
                seen.append(event)

        puller = asyncio.create_task(pull())
        try:
            assert desk.gateway is not None and desk.gateway.link == "BaresipLink"
            assert "answer" in {c.value for c in desk.capabilities} and "conference" not in {
                c.value for c in desk.capabilities}
            await desk.set_agent_state("alice", AgentStateName.READY, extension="1001")
            await until(lambda: any(isinstance(e, AgentState) and e.state == "ready" for e in seen))
            caller = lab.sipp("caller.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
            await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.alerting" for e in seen), 15)
            rung = next(e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting")
            assert (rung.calling, rung.extension) == (CALLER, "1001")
            # A command the softphone link refuses: the desktop gets the reason, the gateway logs it,
            # and the call rings on as it was.
            with pytest.raises(CommandFailed, match="answer it before transferring"):
                await desk.blind_transfer(rung.call_id, "1001", "1002")
            assert [e.type for e in seen if isinstance(e, CallEvent)][-1] == "call.alerting"
            await desk.answer(rung.call_id, "1001")
            await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.ended" for e in seen), 20)
            assert await asyncio.to_thread(caller.wait, 15) == 0, caller.errors
            # The softphone stops: the desktop learns it from the gateway (and why), then that it is back.
            await asyncio.to_thread(alice.stop)
            await until(lambda: not desk.link_up, 10)
            assert f"the baresip softphone at 127.0.0.1:{alice.ctrl_port} is not connected" in desk.link_reason
            await asyncio.to_thread(alice.start)
            await until(lambda: desk.link_up, 15)
        finally:
            await desk.close()
            await link.close()
            await asyncio.wait_for(runner, 10)
            if url is not None:
                await buses[0].clear_retained(topics.cti_capabilities(site))
            for bus in dict.fromkeys(buses):
                await bus.close()
            await puller
        return seen

    events = asyncio.run(scenario())
    kinds = [e.type for e in events if isinstance(e, CallEvent)]
    assert "call.answered" in kinds and kinds[-1] == "call.ended"
    data = [e.data for e in events if isinstance(e, CallEvent) and e.type == "call.data"]
    assert any(d.get("account") == "4711" for d in data), "the attached data reaches the agent's desktop"


def test_the_agent_consults_a_second_softphone_then_completes_the_transfer(qtbot, lab: Lab, sip_desk) -> None:
    desk, alice, bob = sip_desk
    w = desk.window
    customer = lab.phone("5550100")
    to_bob = PhoneWatch(bob)
    from_customer = PhoneWatch(customer)
    try:
        with qtbot.waitSignal(w.screen_popped, timeout=15_000) as popped:
            from_customer.run(from_customer.link.make_call("5550100", alice.uri))
        call_id = popped.args[0]
        w.answer()
        qtbot.waitUntil(lambda: w.consult_button.isEnabled(), timeout=10_000)
        w.consult("1002")  # the customer is held (re-INVITE), Bob's phone rings
        to_bob.wait(lambda: "call.alerting" in to_bob.types())
        consult = next(e for e in to_bob.events if isinstance(e, CallEvent) and e.type == "call.alerting")
        assert (consult.calling, consult.extension) == ("1001", "1002")
        to_bob.run(to_bob.link.answer(consult.call_id, "1002"))
        qtbot.waitUntil(lambda: len(w.session.calls) == 2 and all(
            c.phase.value in ("connected", "held") for c in w.session.calls.values()), timeout=10_000)
        assert w.session.calls[call_id].phase.value == "held"
        assert w.complete_button.isEnabled()
        assert not w.conference_button.isEnabled(), "a softphone cannot conference: greyed out"
        w.complete_transfer()  # the consultation ends; the customer is REFERred to Bob, whose phone rings again
        to_bob.wait(lambda: to_bob.types().count("call.alerting") == 2)
        again = [e for e in to_bob.events if isinstance(e, CallEvent) and e.type == "call.alerting"][-1]
        assert again.calling == "5550100"
        to_bob.run(to_bob.link.answer(again.call_id, "1002"))
        qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=15_000)
        assert w.session.calls == {}
        from_customer.wait(lambda: from_customer.types().count("call.answered") >= 2)
    finally:
        to_bob.close()
        from_customer.close()



@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: the softphone closed the connection")
@pytest.mark.expect_log(logging.WARNING, "cti.baresip.link", match=r"lost: .*Connect call failed", required=False)
def test_the_desktop_greys_out_a_softphone_that_went_away_and_tells_the_truth_when_it_is_back(
        qtbot, lab: Lab, sip_desk) -> None:
    desk, alice, _bob = sip_desk
    w = desk.window
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=15_000) as popped:
        caller = lab.sipp("caller_gives_up.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
    call_id = popped.args[0]
    assert w.answer_button.isEnabled()
    alice.stop()  # baresip goes away with the call ringing (stopped by its process id)
    qtbot.waitUntil(lambda: w.link_label.text().startswith("Telephony link lost: "), timeout=10_000)
    assert f"the baresip softphone at 127.0.0.1:{alice.ctrl_port} is not connected" in w.link_label.text()
    assert not w.answer_button.isEnabled() and not w.dial_button.isEnabled(), "nothing can be done on a lost phone"
    assert call_id in w.session.calls, "the call is kept until the phone says what became of it"
    alice.start()  # ... and comes back on the same ports, without the call
    qtbot.waitUntil(lambda: w.link_label.text() == "", timeout=15_000)
    qtbot.waitUntil(lambda: call_id not in w.session.calls, timeout=10_000)
    assert w.session.state is AgentStateName.READY, "a call never answered needs no wrap-up"
    assert w.dial_button.isEnabled()
    caller.program.stop()


def start_gateway(phone: kit.Softphone, site: str, mqtt_url: str) -> subprocess.Popen[bytes]:
    """``ccenter cti-gateway --link baresip://…`` for ``phone``, a process of its own (stop it by its pid)."""
    env = {**os.environ, "CCENTER_SITE": site, "CCENTER_MQTT": mqtt_url, "CCENTER_DB": "sqlite://"}
    return subprocess.Popen([sys.executable, "-m", "ccenter", "cti-gateway", "--link", phone.link_url],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_gateway(gateway: subprocess.Popen[bytes]) -> None:
    if gateway.poll() is None:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
    if gateway.stderr is not None:
        gateway.stderr.close()


def test_the_gateway_tells_the_desktop_its_softphone_is_not_running_until_it_starts(lab: Lab, mqtt_url: str) -> None:
    """``ccenter cti-gateway --link baresip://…`` (the real command, a process of its own) started before the
    softphone: the desktop's BusLink is told why it cannot work (not "no gateway"), then that it can."""
    import uuid

    from bus import topics
    from bus.mqtt import MqttBus
    from cti.buslink import BusLink

    alice = kit.softphone(lab.root, "1001", wav=lab.wav)  # configured, not started yet
    lab.programs.append(alice)
    site = f"t{uuid.uuid4().hex[:10]}"
    gateway = start_gateway(alice, site, mqtt_url)

    async def scenario() -> None:
        bus = MqttBus(mqtt_url, client_id=f"desk-{site}", site=site)
        await bus.start()
        desk = BusLink(bus, site=site, agent_id="alice", command_timeout=10)
        await desk.connect()
        try:
            await until(lambda: desk.gateway is not None and not desk.link_up, 20)
            assert f"cannot reach the baresip softphone at 127.0.0.1:{alice.ctrl_port}" in desk.link_reason
            assert "start baresip with its ctrl_tcp module" in desk.link_reason
            with pytest.raises(Exception, match="cannot reach the baresip softphone"):
                await desk.make_call("1001", "1002")
            await asyncio.to_thread(alice.start)
            await until(lambda: desk.link_up, 40)  # the gateway tries again every 2, 4, 8 ... s
            assert "answer" in {c.value for c in desk.capabilities}
        finally:
            await desk.close()
            gateway.send_signal(signal.SIGTERM)
            await asyncio.to_thread(gateway.wait, 15)
            await bus.clear_retained(topics.cti_capabilities(site))
            await bus.close()

    try:
        asyncio.run(scenario())
        assert gateway.returncode == 0
        assert gateway.stderr is not None
        said = gateway.stderr.read().decode()
        assert "ccenter cti-gateway: cannot reach the baresip softphone" in said and "trying again in 2 s" in said
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        if gateway.stderr is not None:
            gateway.stderr.close()


@pytest.mark.parametrize(("scenario", "result", "said"), [
    ("far_busy.xml", "busy", "Call ended: line busy"),
    ("far_ring.xml", "no_answer", "Call ended: no answer"),
])
def test_a_campaign_call_dialled_from_the_desktop_that_is_busy_or_unanswered_is_stored_as_its_attempt(
        qtbot, lab: Lab, tmp_path: Path, scenario: str, result: str, said: str) -> None:
    from sqlalchemy import select

    from crm.models import Attempt
    from tests.crm.test_repository import _outbound_item

    alice = lab.phone("1001")
    far = lab.sipp(scenario, None, name=result)  # the customer's phone: busy, or ringing until given up
    with open_desk(qtbot, tmp_path, alice, domain=f"127.0.0.1:{far.port}", ring_timeout=2) as desk:
        w = desk.window
        item_id = _outbound_item(desk.engine, desk.customer_id, CALLER)
        with qtbot.waitSignal(w.preview_loaded, timeout=10_000) as loaded:
            w.load_preview()  # Next outbound call
        assert loaded.args[0].work_item_id == item_id and w.preview_dial.isEnabled()
        seen: list[CallEvent] = []
        desk.link.event_received.connect(lambda e: seen.append(e) if isinstance(e, CallEvent) else None)
        with qtbot.waitSignal(w.message_shown, timeout=15_000, check_params_cb=lambda text: text == said):
            qtbot.mouseClick(w.preview_dial, Qt.MouseButton.LeftButton)  # dial sip:+8613800000001@<far end>
        assert w.session.calls == {} and w.session.state is not AgentStateName.WRAP_UP, "nobody to wrap up"
        assert (seen[0].type, seen[0].called) == ("call.offered", CALLER)
        assert (seen[-1].type, seen[-1].cause) == ("call.ended", result)
        assert far.wait(10) == 0, far.errors

        def stored() -> list[tuple[str, int | None, str | None]]:
            with db.session_factory(desk.engine)() as s:
                return [(a.result, a.agent_id, a.cti_call_id)
                        for a in s.scalars(select(Attempt).where(Attempt.work_item_id == item_id))]

        qtbot.waitUntil(lambda: stored() != [], timeout=5000)
        [(stored_result, agent_id, call_id)] = stored()
        assert (stored_result, agent_id, call_id) == (f"dial_{result}", 1, seen[0].call_id)


def test_a_desktop_whose_gateway_started_again_still_rings(qtbot, lab: Lab, mqtt_url: str, tmp_path: Path) -> None:
    """The softphone's link keeps the agent's log-on itself: a gateway started again knows nothing of it.
    The desktop says its state and extension again when the gateway is back, so the next call rings it."""
    import uuid

    from bus import topics
    from bus.messages import AgentState
    from bus.mqtt import MqttBus
    from cti.buslink import BusLink

    alice = lab.phone("1001")
    site = f"t{uuid.uuid4().hex[:10]}"
    gateway = start_gateway(alice, site, mqtt_url)
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    link = LinkThread(BusLink.from_url(mqtt_url, site=site, agent_id="alice", client_id=f"desk-{site}"))
    link.start()
    agent = AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001")
    window = AgentWindow(agent=agent, link=link, directory=CustomerDirectory(db.session_factory(engine)),
                         outbox=ContactOutbox(db.session_factory(engine), tmp_path / "outbox.jsonl"))
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: "answer" in link.capabilities, timeout=20_000)
        states: list[Any] = []
        link.event_received.connect(lambda e: states.append(e) if isinstance(e, AgentState) else None)

        def ready_at_the_gateway() -> bool:
            return bool(states) and (states[-1].state, states[-1].extension) == ("ready", "1001")

        window.log_on()
        window.go_ready()
        qtbot.waitUntil(ready_at_the_gateway, timeout=10_000)  # the gateway has carried out both
        states.clear()
        with qtbot.waitSignal(link.link_down, timeout=15_000):
            stop_gateway(gateway)  # stopped by its process id ...
        gateway = start_gateway(alice, site, mqtt_url)  # ... and started again, on the same softphone
        with qtbot.waitSignal(link.link_up, timeout=20_000):
            pass
        qtbot.waitUntil(ready_at_the_gateway, timeout=10_000)  # said again to the gateway that knew nothing
        with qtbot.waitSignal(window.screen_popped, timeout=15_000) as popped:
            caller = lab.sipp("caller_gives_up.xml", f"127.0.0.1:{alice.sip_port}", service="1001")
        assert window.session.calls[popped.args[0]].calling == "+8613900000002"
        assert window.session.state is AgentStateName.READY, states
        assert caller.wait(15) == 0, caller.errors
    finally:
        window.close()
        link.stop()
        stop_gateway(gateway)
        engine.dispose()

        async def clear() -> None:
            bus = MqttBus(mqtt_url, client_id=f"clear-{site}", site=site)
            await bus.start()
            await bus.clear_retained(topics.cti_capabilities(site))
            await bus.close()

        asyncio.run(clear())
