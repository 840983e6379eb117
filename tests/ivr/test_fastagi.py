"""The FastAGI server against an in-test peer that plays Asterisk's side over real TCP."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import resources
from bus.messages import CallEvent, decode, encode
from ivr.errors import LookupUnavailable
from ivr.fastagi import FastAgiServer, handoff_variables
from ivr.flow import Flow, load_flow, parse_flow
from ivr.lookup import CustomerInfo, InMemoryLookup, demo_lookup
from ivr.record import ExitPoint, SessionRecord

from .helpers import ALICE, ALICE_PIN

WANG = "+8613800138000"
MENU_KEYS = "0123456789*#"
Answer = Callable[[str], list[str]]


def env(script: str = "telecom", caller: str = ALICE) -> bytes:
    lines = [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:4573/{script}",
        "agi_channel: PJSIP/trunk-00000007",
        "agi_language: en",
        "agi_uniqueid: 1764000000.7",
        f"agi_callerid: {caller}",
        "agi_calleridname: unknown",
        "agi_context: from-trunk",
        "agi_extension: 8000",
        "agi_priority: 2",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def script(replies: dict[str, list[list[str]]]) -> Answer:
    """Answer each command from a table of command → replies (one list per use, in order)."""
    used: dict[str, int] = {}

    def answer(command: str) -> list[str]:
        if command.startswith("SET VARIABLE"):
            return ["200 result=1"]
        options = replies.get(command)
        if options is None:
            return ["510 Invalid or unknown command"]
        index = used.get(command, 0)
        used[command] = index + 1
        return options[min(index, len(options) - 1)]

    return answer


async def asterisk(port: int, environment: bytes, answer: Answer, *, close_after: str | None = None) -> list[str]:
    """Play Asterisk: send the environment, answer each command line; return the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    commands: list[str] = []
    try:
        writer.write(environment)
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            command = line.decode("utf-8").rstrip("\n")
            commands.append(command)
            if command == close_after:
                break
            for reply in answer(command):
                writer.write(reply.encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return commands


class Run:
    def __init__(self) -> None:
        self.handoffs: list[CallEvent] = []
        self.records: list[SessionRecord] = []
        self.commands: list[str] = []


def run(
    environment: bytes,
    answer: Answer,
    *,
    default_flow: str | None = "telecom",
    close_after: str | None = None,
    flows: list[Flow] | None = None,
) -> Run:
    result = Run()
    served = {f.name: f for f in flows or (load_flow(p) for p in resources.path("ivr").glob("*.yaml"))}

    async def on_handoff(event: CallEvent) -> None:
        result.handoffs.append(event)

    async def main() -> None:
        recorded = asyncio.Event()

        def on_record(record: SessionRecord) -> None:
            result.records.append(record)
            recorded.set()

        server = FastAgiServer(
            served,
            demo_lookup(),
            default_flow=default_flow,
            on_handoff=on_handoff,
            on_record=on_record,
            reply_timeout_s=10,
        )
        await server.start("127.0.0.1", 0)
        try:
            result.commands = await asterisk(server.port, environment, answer, close_after=close_after)
            # When the peer closed first, the server may still be winding the session up.
            await asyncio.wait_for(recorded.wait(), 10)
        finally:
            await server.close()

    asyncio.run(main())
    return result


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def set_vars(commands: list[str]) -> dict[str, str]:
    out = {}
    for command in commands:
        if command.startswith("SET VARIABLE "):
            _, _, name, value = command.split(" ", 3)
            assert value.startswith('"') and value.endswith('"')
            out[name] = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return out


def test_verification_and_transfer_with_data(debug_log: pytest.LogCaptureFixture) -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0 endpos=12000"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49 endpos=3100"]],  # '1'
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [[f"200 result={ALICE_PIN}"]],
            f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}": [["200 result=0 endpos=90000"]],
            "WAIT FOR DIGIT 6000": [["200 result=52"]],  # '4': cancel
        }
    )
    result = run(env(), answer)
    commands = result.commands
    assert commands[:7] == [
        "GET VARIABLE CHANNEL(linkedid)",
        "ANSWER",
        'STREAM FILE ccenter/telecom/welcome ""',
        f"STREAM FILE ccenter/telecom/language {MENU_KEYS}",
        "GET DATA ccenter/telecom/en/ask-pin 8000 6",
        f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}",
        "WAIT FOR DIGIT 6000",
    ]
    variables = set_vars(commands)
    assert variables["CCENTER_QUEUE"] == "retention"
    assert variables["QUEUE_PRIO"] == "7" and variables["CCENTER_PRIORITY"] == "7"
    assert variables["CCENTER_VERIFIED"] == "1"
    assert variables["CCENTER_CUSTOMER_ID"] == "C1001"
    assert variables["CCENTER_INTENT"] == "cancel"
    assert variables["CCENTER_LANGUAGE"] == "en"
    data = json.loads(variables["CCENTER_DATA"])
    assert data["account"] == "12345678" and data["verified"] is True
    assert data["menu_path"] == ["language:en", "main_menu:cancel"]

    (event,) = result.handoffs
    assert decode(encode(event)) == event
    assert event.type == "call.data" and event.call_id == "1764000000.7" and event.queue == "retention"
    assert event.data["routing"] == {"queue": "retention", "priority": 7}
    assert event.data["fields"]["verified"]["set_by"] == {"kind": "ivr", "name": "verify_pin"}
    (record,) = result.records
    assert record.exit is ExitPoint.TRANSFERRED and record.verified

    everything = "\n".join(commands) + encode(event).decode() + repr(record) + debug_log.text
    assert ALICE_PIN not in everything
    assert "(sensitive reply)" in debug_log.text


def test_vip_in_chinese_through_510_520_and_a_timeout() -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [
                [
                    "520-Invalid command syntax.  Proper usage follows:",
                    " Usage: STREAM FILE",
                    "520 End of proper usage.",
                ]
            ],
            # 510 for the language prompt: the caller keys 2 while waiting for a digit.
            "WAIT FOR DIGIT 4000": [["200 result=50"]],
            "GET DATA ccenter/telecom/zh/ask-pin 8000 6": [["200 result= (timeout)"], ["200 result=5080"]],
        }
    )
    result = run(env(caller=WANG), answer)
    assert result.commands.count("GET DATA ccenter/telecom/zh/ask-pin 8000 6") == 2
    variables = set_vars(result.commands)
    assert variables["CCENTER_QUEUE"] == "vip" and variables["QUEUE_PRIO"] == "9"
    assert variables["CCENTER_LANGUAGE"] == "zh" and variables["CCENTER_TIER"] == "vip"
    assert json.loads(variables["CCENTER_DATA"])["customer_name"] == "王伟"
    assert result.records[0].exit is ExitPoint.TRANSFERRED


def test_hangup_during_pin_entry_is_abandoned(debug_log: pytest.LogCaptureFixture) -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49"]],
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [["HANGUP", "200 result=-1"]],
        }
    )
    result = run(env(), answer)
    assert result.commands[-1] == "GET DATA ccenter/telecom/en/ask-pin 8000 6"
    (record,) = result.records
    assert record.exit is ExitPoint.ABANDONED and record.exit_node == "ask_pin"
    assert result.handoffs == []
    assert "caller hung up" in debug_log.text


def test_commands_after_hangup_get_511() -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["HANGUP", "200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [
                ["511 Command Not Permitted on a dead channel or intercept routine"]
            ],
        }
    )
    result = run(env(), answer)
    # After the HANGUP line the server stops sending commands.
    assert result.commands == ["GET VARIABLE CHANNEL(linkedid)", "ANSWER", 'STREAM FILE ccenter/telecom/welcome ""']
    assert result.records[0].exit is ExitPoint.ABANDONED
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=0"]],
            "WAIT FOR DIGIT 4000": [["511 Command Not Permitted on a dead channel or intercept routine"]],
        }
    )
    result = run(env(), answer)
    assert result.records[0].exit is ExitPoint.ABANDONED and result.records[0].exit_node == "language"


def test_peer_closes_mid_session() -> None:
    answer = script({"ANSWER": [["200 result=0"]], 'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0"]]})
    result = run(env(), answer, close_after=f"STREAM FILE ccenter/telecom/language {MENU_KEYS}")
    assert result.records[0].exit is ExitPoint.ABANDONED


def test_after_hours_callback_sets_callback_variables() -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/closed ""': [["200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49"]],
            "WAIT FOR DIGIT 5000": [["200 result=50"]],  # '2': callback
            "HANGUP": [["200 result=1"]],
        }
    )
    result = run(env("telecom-afterhours"), answer)
    variables = set_vars(result.commands)
    assert variables["CCENTER_CALLBACK"] == "1" and variables["CCENTER_CALLBACK_NUMBER"] == ALICE
    assert variables["CCENTER_QUEUE"] == "callbacks"
    assert result.commands[-1] == "HANGUP"
    assert result.records[0].exit is ExitPoint.CALLBACK
    assert result.handoffs[0].data["routing"]["queue"] == "callbacks"


@pytest.mark.expect_log(logging.WARNING, "ivr.fastagi", match=r"^FastAGI: no flow for script 'nonesuch'; hanging up$")
def test_unknown_flow_without_default_hangs_up(caplog: pytest.LogCaptureFixture) -> None:
    answer = script({"HANGUP": [["200 result=1"]]})

    async def main() -> list[str]:
        server = FastAgiServer({}, demo_lookup())
        await server.start("127.0.0.1", 0)
        try:
            return await asterisk(server.port, env("nonesuch"), answer)
        finally:
            await server.close()

    assert asyncio.run(main()) == ["HANGUP"]
    assert "no flow for script 'nonesuch'" in caplog.text


@pytest.mark.expect_log(logging.WARNING, "ivr.fastagi", match=r"^FastAGI: malformed AGI environment line")
def test_malformed_environment_is_logged_and_closed(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> list[str]:
        server = FastAgiServer({}, demo_lookup())
        await server.start("127.0.0.1", 0)
        try:
            return await asterisk(server.port, b"GET / HTTP/1.0\n\n", script({}))
        finally:
            await server.close()

    assert asyncio.run(main()) == []
    assert "malformed AGI environment line" in caplog.text


def test_server_errors() -> None:
    from ivr.errors import IvrError

    with pytest.raises(IvrError, match="default flow 'x'"):
        FastAgiServer({}, demo_lookup(), default_flow="x")

    async def main() -> None:
        first = FastAgiServer({}, demo_lookup())
        await first.start("127.0.0.1", 0)
        try:
            second = FastAgiServer({}, demo_lookup())
            with pytest.raises(IvrError, match="cannot listen"):
                await second.start("127.0.0.1", first.port)
        finally:
            await first.close()

    asyncio.run(main())


def test_handoff_variables_refuse_injection() -> None:
    from ivr.agi import set_variable
    from ivr.engine import Transfer
    from ivr.errors import AgiError

    action = Transfer(
        "t", "general", 2, {"fields": {"intent": {"value": "billing\nHANGUP"}, "verified": {"value": False}}}
    )
    variables = dict(handoff_variables(action))
    assert variables["CCENTER_VERIFIED"] == "0"
    with pytest.raises(AgiError, match="CR, LF or NUL"):
        set_variable("CCENTER_INTENT", variables["CCENTER_INTENT"])
    # The JSON form escapes control characters, so it can always be sent.
    assert "\n" not in variables["CCENTER_DATA"]
    big: dict[str, Any] = {"fields": {"notes": {"value": "x" * 5000}}}
    assert "CCENTER_DATA" not in dict(handoff_variables(Transfer("t", "q", 0, big)))


@pytest.mark.expect_log(logging.WARNING, "ivr.fastagi", match=r"^FastAGI: CCENTER_INTENT not set: ")
def test_value_with_newline_is_not_sent_but_the_rest_is(caplog: pytest.LogCaptureFixture) -> None:
    flow = parse_flow(
        'flow: inject\nstart: s\nfallback: t\nnodes:\n  s: {type: set, values: {intent: "x\\nHANGUP"}, next: t}\n'
        "  t: {type: transfer, queue: q}\n"
    )
    answer = script({"ANSWER": [["200 result=0"]]})
    result = run(env("inject"), answer, default_flow=None, flows=[flow])
    variables = set_vars(result.commands)
    assert "CCENTER_INTENT" not in variables and variables["CCENTER_QUEUE"] == "q"
    assert json.loads(variables["CCENTER_DATA"])["intent"] == "x\nHANGUP"
    assert not any(c == "HANGUP" for c in result.commands)
    assert "CCENTER_INTENT not set" in caplog.text


LOOKUP_FLOW = """\
flow: lookup
start: find
fallback: agent
nodes:
  find: {type: lookup, by: phone, timeout_s: TIMEOUT, found: known, not_found: agent, error: down}
  known: {type: transfer, queue: known}
  down: {type: transfer, queue: down}
  agent: {type: transfer, queue: general}
"""


class HeldLookup(InMemoryLookup):
    """Demo data whose look-up of ``held`` waits until released (a database that stopped answering)."""

    def __init__(self, held: str, *, fails: bool = False) -> None:
        demo = demo_lookup()
        super().__init__(customers=demo.customers, phones=demo.phones, accounts=demo.accounts)
        self.held = held
        self.fails = fails
        self.entered = threading.Event()
        self.release = threading.Event()

    def by_phone(self, number: str) -> list[CustomerInfo]:
        if self.fails:
            raise LookupUnavailable("customer data is unavailable: OperationalError")
        if number == self.held:
            self.entered.set()
            self.release.wait(10)
        return super().by_phone(number)


def serve_lookup_calls(lookup: HeldLookup, timeout_s: float, calls: Callable[[int], Awaitable[None]]) -> Run:
    """Serve the look-up flow with ``lookup``; ``calls(port)`` plays Asterisk; collect what the server did."""
    result = Run()
    flow = parse_flow(LOOKUP_FLOW.replace("TIMEOUT", str(timeout_s)))

    async def main() -> None:
        server = FastAgiServer(
            {flow.name: flow}, lookup, on_handoff=result.handoffs.append, on_record=result.records.append
        )
        await server.start("127.0.0.1", 0)
        try:
            await calls(server.port)
        finally:
            lookup.release.set()  # so the worker thread ends before the loop closes
            await server.close()

    asyncio.run(main())
    return result


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"failed: no answer within")
@pytest.mark.expect_log(logging.WARNING, "ivr.fastagi", match=r"look-up \w+ took over")
def test_slow_lookup_times_out_to_the_error_exit(caplog: pytest.LogCaptureFixture) -> None:
    lookup = HeldLookup(ALICE)

    async def calls(port: int) -> None:
        commands = await asterisk(port, env("lookup"), script({"ANSWER": [["200 result=0"]]}))
        assert set_vars(commands)["CCENTER_QUEUE"] == "down"

    result = serve_lookup_calls(lookup, 0.2, calls)
    assert lookup.entered.is_set()
    assert result.records[0].exit is ExitPoint.TRANSFERRED and result.records[0].queue == "down"
    assert "look-up find took over 0.2 s" in caplog.text


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"look-up \w+ failed")
def test_failed_lookup_follows_the_error_exit(caplog: pytest.LogCaptureFixture) -> None:
    async def calls(port: int) -> None:
        commands = await asterisk(port, env("lookup"), script({"ANSWER": [["200 result=0"]]}))
        assert set_vars(commands)["CCENTER_QUEUE"] == "down"

    result = serve_lookup_calls(HeldLookup(ALICE, fails=True), 5.0, calls)
    assert result.records[0].queue == "down"
    assert "look-up find failed: customer data is unavailable" in caplog.text


def test_a_held_lookup_does_not_hold_other_calls() -> None:
    lookup = HeldLookup(ALICE)
    answer = script({"ANSWER": [["200 result=0"]]})

    async def calls(port: int) -> None:
        first = asyncio.create_task(asterisk(port, env("lookup", caller=ALICE), answer))
        assert await asyncio.to_thread(lookup.entered.wait, 10)
        # While Alice's look-up hangs in its worker thread, Wang's call goes through.
        commands = await asterisk(port, env("lookup", caller=WANG), answer)
        assert set_vars(commands)["CCENTER_QUEUE"] == "known"
        assert not first.done()
        lookup.release.set()
        assert set_vars(await first)["CCENTER_QUEUE"] == "known"

    result = serve_lookup_calls(lookup, 5.0, calls)
    assert [record.caller for record in result.records] == [WANG, ALICE]


def test_closing_the_server_mid_look_up_ends_the_call_quietly() -> None:
    """Shutting the IVR down while a call waits on the database: the call's channel closes, and
    asyncio reports no error for the stream server's cancelled handler."""
    lookup = HeldLookup(ALICE)
    flow = parse_flow(LOOKUP_FLOW.replace("TIMEOUT", "30"))
    loop_errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
        server = FastAgiServer({flow.name: flow}, lookup)
        await server.start("127.0.0.1", 0)
        call = asyncio.create_task(asterisk(server.port, env("lookup"), script({"ANSWER": [["200 result=0"]]})))
        try:
            await asyncio.wait_for(asyncio.to_thread(lookup.entered.wait, 10), 15)
            await server.close()  # while the look-up is still held
        finally:
            lookup.release.set()
        assert await asyncio.wait_for(call, 10) is not None  # the channel closed: Asterisk's side ends
        await asyncio.sleep(0)  # let the stream server's done-callback run (it would report the error)

    asyncio.run(main())
    assert lookup.entered.is_set()
    assert loop_errors == []
