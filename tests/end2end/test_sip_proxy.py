"""Kamailio as registrar and proxy: softphones register, SIPp calls through it, agents dial each other.

Kamailio, the baresip softphones and SIPp run on free loopback ports with configuration generated
in the test's folder (``bench/_sipkit.py``) and are stopped by process id. The proxy also moves the
INVITE's ``X-CC-Queue`` and ``User-to-User`` headers into ``x-cc-`` parameters of the caller's URI,
where the softphone link reads attached data (baresip 1.0 reports no SIP headers).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import _sipkit as kit
from bus.messages import CallEvent
from tests.end2end.test_sip import SCENARIOS, Lab, PhoneWatch, require_sip


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Lab, int, kit.Softphone, kit.Softphone]]:
    require_sip("baresip", "sipp", "kamailio")
    lab = Lab(tmp_path, kit.write_tone(tmp_path / "voice.wav", seconds=60))
    try:
        proxy, port = kit.kamailio(tmp_path)
        lab.programs.append(proxy)
        registrar = f"127.0.0.1:{port}"
        alice, bob = lab.phone("1001", registrar=registrar), lab.phone("1002", registrar=registrar)
        for phone in (alice, bob):
            assert phone.program is not None
            kit.wait_for_log(phone.program, "200 OK")  # registered
        yield lab, port, alice, bob
    finally:
        for program in reversed(lab.programs):
            program.stop()


def test_a_caller_reaches_the_registered_agent_through_the_proxy_with_its_data(proxied) -> None:
    lab, port, alice, _bob = proxied
    watch = PhoneWatch(alice)
    try:
        caller = kit.sipp(lab.root / "caller", SCENARIOS / "caller.xml", f"127.0.0.1:{port}", service="1001")
        lab.programs.append(caller.program)
        watch.wait(lambda: "call.alerting" in watch.types())
        offered = next(e for e in watch.events if isinstance(e, CallEvent) and e.type == "call.offered")
        data = next(e for e in watch.events if isinstance(e, CallEvent) and e.type == "call.data")
        assert (offered.calling, offered.calling_name, offered.called) == ("+8613800000001", "Zhang Wei", "1001")
        # From the caller's URI, and from its X-CC-Queue and User-to-User headers by way of the proxy.
        assert data.data == {"account": "4711", "intent": "billing", "queue": "sales", "uui": "3132333435"}
        watch.run(watch.link.answer(offered.call_id, "1001"))
        watch.wait(lambda: "call.ended" in watch.types(), timeout=20)
        assert watch.types() == ["call.offered", "call.data", "call.alerting", "call.answered", "call.ended"]
        assert {e.call_id for e in watch.events if isinstance(e, CallEvent)} == {offered.call_id}
        assert caller.wait(15) == 0, caller.errors
    finally:
        watch.close()


def test_agents_dial_each_other_by_extension_through_the_proxy(proxied) -> None:
    _lab, port, alice, bob = proxied
    a, b = PhoneWatch(alice), PhoneWatch(bob)
    try:
        call_id = a.run(a.link.make_call("1001", f"sip:1002@127.0.0.1:{port}"))
        b.wait(lambda: "call.alerting" in b.types())
        rung = next(e for e in b.events if isinstance(e, CallEvent) and e.type == "call.alerting")
        assert (rung.calling, rung.extension) == ("1001", "1002")
        b.run(b.link.answer(rung.call_id, "1002"))
        a.wait(lambda: "call.answered" in a.types())
        a.run(a.link.hangup(call_id, "1001"))
        a.wait(lambda: "call.ended" in a.types())
        b.wait(lambda: "call.ended" in b.types())
        assert a.types() == ["call.offered", "call.alerting", "call.answered", "call.ended"]
        assert b.types() == ["call.offered", "call.alerting", "call.answered", "call.ended"]
        # nobody is registered as 1003: the proxy says 404, the call ends as failed
        a.run(a.link.make_call("1001", f"sip:1003@127.0.0.1:{port}"))
        a.wait(lambda: a.types().count("call.ended") == 2)
        last = [e for e in a.events if isinstance(e, CallEvent)][-1]
        assert (last.cause, last.data) == ("failed", {"sip": "404 Not Found"})
    finally:
        a.close()
        b.close()


def test_the_sip_load_benchmark_accounts_for_every_call() -> None:
    require_sip("baresip", "sipp", "kamailio")
    from bench import sip

    load = sip.Load(agents=2, calls=6, rate=4.0, talk_s=0.5, patience_s=2.0)
    results = sip.measure(load)
    rows = {figure: value for figure, value, _unit in sip.figures(load, results)}
    assert rows["calls that rang an agent"] == 6
    assert rows["answered"] + rows["abandoned"] == 6 and rows["answered"] >= 2
    assert set(results.ringing) <= set(results.invited)  # every ringing call's INVITE time is known
    assert 0 < rows["INVITE to ringing p50"] <= rows["INVITE to ringing max"]
