"""A real Asterisk's AMI traffic (tests/fixtures/cti/asterisk, README there) replayed through a TCP
AMI server to the AMI link: what the gateway publishes for it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bus import topics
from bus.messages import AgentState, AgentStateName, CallEvent, encode
from ccenter.cli import main
from ccenter.commands.doctor import LinkBroken, ami_permissions
from cti.ami.client import AmiLink, AmiSettings
from cti.ami.mapper import device_of
from cti.errors import CommandFailed
from cti.model import CallTracker, Capability, LinkEvent
from routing.acd_config import AcdConfig, AgentProfile
from routing.adapter import AcdAdapter
from routing.model import QueueConfig
from tests.helpers import until

from .ami_server import FakeAsterisk, ReplayAsterisk, manager_accounts
from .helpers import FIXTURES

CAPTURES = FIXTURES / "asterisk"
MANAGER_CONF = (CAPTURES / "manager.conf").read_text()


Scenario = Callable[[ReplayAsterisk, AmiLink, list[LinkEvent]], Awaitable[None]]


def replay(
    name: str,
    scenario: Scenario,
    *,
    username: str = "ccenter",
    client: str | None = None,
    agent_ids: dict[str, str] | None = None,
) -> None:
    client_capture = (CAPTURES / client).read_bytes() if client else None
    replay_bytes(
        (CAPTURES / name).read_bytes(), scenario, username=username, client=client_capture, agent_ids=agent_ids
    )


def replay_bytes(
    capture: bytes,
    scenario: Scenario,
    *,
    username: str = "ccenter",
    client: bytes | None = None,
    agent_ids: dict[str, str] | None = None,
    conf: str = MANAGER_CONF,
) -> None:
    async def main() -> None:
        server = ReplayAsterisk(capture, conf, username=username, client_capture=client)
        await server.start()
        link = AmiLink(
            AmiSettings(
                host="127.0.0.1",
                port=server.port,
                username=username,
                secret="s3cret",
                tech="IAX2",
                ping_interval=3600,
                reconnect_min=0.01,
                reconnect_max=0.05,
                action_timeout=3.0,
                agent_ids=agent_ids or {},
            )
        )
        events: list[LinkEvent] = []

        async def pull() -> None:
            async for event in link.events():
                events.append(event)

        puller = asyncio.create_task(pull())
        try:
            await link.connect()
            await scenario(server, link, events)
        finally:
            await link.close()
            await puller
            await server.stop()

    asyncio.run(main())


def calls(events: list[LinkEvent]) -> list[CallEvent]:
    return [e for e in events if isinstance(e, CallEvent)]


def agents(events: list[LinkEvent]) -> list[AgentState]:
    return [e for e in events if isinstance(e, AgentState)]


async def played(server: ReplayAsterisk, events: list[LinkEvent], last: str) -> None:
    """Until the capture is played and its last call event (``last``) is out."""
    await asyncio.wait_for(server.finished.wait(), 5)
    await until(lambda: any(isinstance(e, CallEvent) and e.type == last for e in events))


def test_queue_call_with_real_channels_gives_the_full_sequence() -> None:
    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        seq = [(e.type, e.agent_id, e.queue, e.extension) for e in calls(events)]
        assert seq == [
            ("call.offered", None, None, "pstn"),
            ("call.data", None, None, None),
            ("queue.joined", None, "helpdesk", None),
            ("call.alerting", "alice", "helpdesk", "2001"),
            ("queue.left", None, "helpdesk", None),
            ("call.answered", "alice", "helpdesk", "2001"),
            ("call.ended", None, None, None),
        ]
        offered = calls(events)[0]
        assert (offered.calling, offered.calling_name, offered.called) == ("+12068301661", "Mia Miller", "500")
        assert calls(events)[1].data == {"intent": "billing"}  # once, not once per leg
        alice = [(a.state, a.call_id) for a in agents(events) if a.agent_id == "alice"]
        call_id = offered.call_id
        # ready from the QueueStatus resync (members named in Name:), busy once, then wrapping up: her
        # phone turning free (QueueMemberStatus) is no "ready" before the desktop's own wrap-up pause
        assert alice == [
            ("ready", None),
            ("reserved", call_id),
            ("busy", call_id),
            ("wrap_up", call_id),
        ]
        assert {a.agent_id for a in agents(events)} == {"alice", "bob", "Agent_2999"}
        tracker = CallTracker()
        for e in calls(events)[:-1]:
            tracker.apply(e)
        snapshot = tracker.get(call_id)
        assert snapshot is not None
        assert (snapshot.calling, snapshot.calling_name, snapshot.agent_id, snapshot.queue) == (
            "+12068301661",
            "Mia Miller",
            "alice",
            "helpdesk",
        )

    replay("queue-call-real-channels.ami", scenario, client="queue-call-real-channels.client.ami")


@pytest.mark.expect_log(logging.WARNING, "cti.ami.client", match="lost")
def test_agent_states_resync_after_a_reconnect() -> None:
    """Cut after the answer (alice busy), reconnect: QueueStatus's members (Name:) say she is free."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    cut = capture.index(b"Event: AgentComplete")
    resync_end = capture.index(b"Event: Newchannel")
    two_sessions = capture[:cut] + capture[:resync_end]

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await asyncio.wait_for(server.finished.wait(), 5)
        await until(lambda: link.sessions == 2 and link.logged_in.is_set())
        await until(lambda: [a.state for a in agents(events) if a.agent_id == "alice"][-1] == "ready")
        alice = [a.state for a in agents(events) if a.agent_id == "alice"]
        assert alice == ["ready", "reserved", "busy", "ready"]
        ended = [e for e in calls(events) if e.type == "call.ended"]
        assert [e.cause for e in ended] == ["ended while the link was down"]

    replay_bytes(two_sessions, scenario)


def test_queue_call_with_local_channel_members() -> None:
    """Members ``Local/2001@agents/n`` named ``Agent 2001``: the queue's events say who alerts and answers."""

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        seq = [(e.type, e.agent_id, e.queue, e.extension) for e in calls(events)]
        assert seq == [
            ("call.offered", None, None, "100"),
            ("call.data", None, None, None),
            ("call.data", None, None, None),
            ("queue.joined", None, "support", None),
            ("call.alerting", "a2001", "support", "2001"),
            ("queue.left", None, "support", None),
            ("call.answered", "a2001", "support", "2001"),
            ("call.ended", None, None, None),
        ]
        assert len({e.call_id for e in calls(events)}) == 1  # the Local halves are one call
        offered = calls(events)[0]  # this capture's caller was anonymous: "<unknown>" is no number
        assert (offered.calling, offered.calling_name, offered.called) == (None, None, "100")
        states = [(a.agent_id, a.state) for a in agents(events)]
        assert ("a2001", "busy") in states and ("a2001", "wrap_up") in states
        assert link.mapper.agent_names["a2001"] == "Agent 2001"  # the display name is kept

    replay("queue-call-local-members.ami", scenario, agent_ids={"Agent 2001": "a2001"})


def test_member_names_with_a_space_get_a_topic_safe_id() -> None:
    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        ids = {a.agent_id for a in agents(events)}
        assert "Agent_2001" in ids and all(" " not in i for i in ids)
        for agent_id in ids:
            topics.agent_events("main", agent_id)  # publishable
        assert link.mapper.agent_names["Agent_2001"] == "Agent 2001"

    replay("queue-call-local-members.ami", scenario)


@pytest.mark.expect_log(logging.ERROR, "cti.ami.client", match="cannot carry out mute")
def test_the_documented_account_starts_and_advertises_only_what_it_may_run() -> None:
    """The captures' manager.conf [ccgw] (docs/cti.md's account without ``system``): no mute."""

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        assert Capability.MUTE not in link.capabilities
        assert link.capabilities == type(link).capabilities - {Capability.MUTE}
        assert [str(m) for m in link.missing] == ["mute: MuteAudio denied (needs write = system)"]
        with pytest.raises(CommandFailed, match="may not run MuteAudio"):
            await link.mute("1796073669.8", "2001", True)
        assert "MuteAudio" not in [a.name for a in server.actions]

    replay("queue-call-real-channels.ami", scenario, username="ccgw")


@pytest.mark.expect_log(logging.ERROR, "cti.ami.client", match="cannot carry out")
def test_an_account_without_reporting_starts_without_the_call_resync() -> None:
    conf = MANAGER_CONF.replace("write = call,originate,agent,reporting", "write = call,originate,agent")

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        assert "CoreShowChannels" not in [a.name for a in server.actions]
        assert "resync: CoreShowChannels denied (needs write = reporting or system)" in [str(m) for m in link.missing]
        assert [e.type for e in calls(events)][-1] == "call.ended"

    replay_bytes((CAPTURES / "queue-call-real-channels.ami").read_bytes(), scenario, username="ccgw", conf=conf)


def test_a_deliver_out_of_queue_is_answered_not_abandoned_and_the_agent_gets_one_call() -> None:
    """Two progressive-dialer calls parked in ``Queue(acdsupport)``; the ACD delivers by Redirect.

    Live, Asterisk reported the first deliver as ``QueueCallerAbandon``; the ACD counted it abandoned,
    kept carol ready and delivered the second call to her phone too (the capture goes on to show it).
    Replayed to the AMI link, whose ``deliver`` the ACD's command runs (the capture's Redirect answer
    waits for it), up to the live ACD's second Redirect: one deliver, answered, and the second call waits.
    """
    blocks = (CAPTURES / "session-outbound-deliver.ami").read_bytes().split(b"\r\n\r\n")
    second_redirect = blocks.index(b"Response: Success\r\nActionID: cc3-87\r\nMessage: Redirect successful")
    # the dialer's Originates are not sent here: their calls' events are what counts
    excerpt = [b for b in blocks[:second_redirect] if not b.endswith(b"Message: Originate successfully queued")]
    capture = _logged_in() + b"\r\n\r\n".join(excerpt) + b"\r\n\r\n"
    client = (CAPTURES / "queue-call-real-channels.client.ami").read_bytes() + (
        b"Action: Redirect\r\nActionID: cc3-84\r\n\r\nAction: Ping\r\nActionID: cc3-86\r\n\r\n"
    )
    config = AcdConfig(
        queues=(QueueConfig("acdsupport", wrap_up_s=0.0, ring_timeout_s=30.0),),
        agents={"carol": AgentProfile({"acdsupport": 5}, "2003")},
    )
    acd = AcdAdapter(config, "main")
    acd.receive(AgentState(agent_id="carol", state="ready", ts=0.0), 0.0)
    first, second = "cc-cbca5a4d81c643b88434", "cc-9de08274e2924650992d"

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        delivered: list[tuple[str, str]] = []
        done: list[LinkEvent] = []  # the events the ACD has had, in order

        def second_waits() -> bool:  # the capture's last call event: the second call parked in the queue
            return server.finished.is_set() and any(
                isinstance(e, CallEvent) and e.type == "queue.joined" and e.call_id == second for e in done
            )

        while not second_waits():
            await until(lambda: len(events) > len(done) or second_waits())
            for event in events[len(done):]:
                done.append(event)
                if not isinstance(event, CallEvent):
                    continue  # Asterisk's queue members (alice, bob) are no agents of this ACD
                for out in acd.commands(acd.receive(event, event.ts), epoch=1, now=event.ts):
                    if out.command.name == "deliver":
                        args = out.command.args
                        delivered.append((args["call_id"], args["extension"]))
                        await link.deliver(args["call_id"], args["extension"])  # what the gateway runs
        assert delivered == [(first, "2003")]
        redirects = [
            (a.get("Channel"), a.get("Context"), a.get("Exten")) for a in server.actions if a.name == "Redirect"
        ]
        assert redirects == [("Local/+12068301661@from-internal-00000006;1", "from-internal", "2003")]
        left = [e for e in calls(events) if e.type == "queue.left" and e.call_id == first]
        assert [(e.cause, e.data) for e in left] == [(None, {"reason": "redirected"})]
        stats = acd.queue_stats("acdsupport", events[-1].ts)
        assert (stats.answered, stats.abandoned) == (1, 0)
        assert acd.engine.call_agent(first) == "carol"
        assert acd.waiting_calls() == [second]  # waits for carol instead of ringing her busy phone

    replay_bytes(capture, scenario, client=client)


def test_agent_state_commands_name_the_member_interface_asterisk_has() -> None:
    """Live, ``QueuePause Interface: IAX2/alice`` got "Interface not found": the member is IAX2/2001."""

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        with pytest.raises(CommandFailed):  # the capture has no answer for it; what was sent counts
            await link.set_agent_state("alice", AgentStateName.NOT_READY, reason="lunch")
        pause = server.actions[-1]
        assert (pause.name, pause.get("Interface"), pause.get("Reason")) == ("QueuePause", "IAX2/2001", "lunch")

    replay("queue-call-real-channels.ami", scenario)


@pytest.mark.expect_log(logging.ERROR, "cti.ami.client", match="cannot carry out")
def test_doctor_names_the_permissions_an_account_lacks() -> None:
    async def main() -> None:
        server = FakeAsterisk(username="ccgw", write=["call", "originate", "agent"])
        await server.start()
        try:
            with pytest.raises(LinkBroken) as broken:
                await ami_permissions(f"ami://ccgw:s3cret@127.0.0.1:{server.port}")
            assert "mute: MuteAudio denied (needs write = system)" in str(broken.value)
            assert "resync: CoreShowChannels denied (needs write = reporting or system)" in str(broken.value)
            server.write = manager_accounts(_documented_manager_conf())["ccgw"]["write"].split(",")  # the docs
            ok = await ami_permissions(f"ami://ccgw:s3cret@127.0.0.1:{server.port}")
            assert "every command and the call resync are permitted" in ok
        finally:
            await server.stop()

    asyncio.run(main())


def _pause(paused: bool, reason: str = "") -> bytes:
    """The QueueMemberPause Asterisk sends for the AMI link's QueuePause of alice (as in the capture's
    member events)."""
    return (
        "Event: QueueMemberPause\r\nPrivilege: agent,all\r\nQueue: helpdesk\r\nMemberName: alice\r\n"
        "Interface: IAX2/2001\r\nStateInterface: IAX2/2001\r\nMembership: static\r\nPenalty: 0\r\n"
        f"CallsTaken: 1\r\nLastCall: 1796073680\r\nInCall: 0\r\nStatus: 1\r\nPaused: {int(paused)}\r\n"
        f"PausedReason: {reason}\r\nReason: {reason}\r\nWrapuptime: 0\r\n\r\n"
    ).encode()


def test_wrap_up_then_ready_arrive_in_the_agents_order() -> None:
    """The captured call, then what the desktop does after it: wrap_up (a pause with the reason
    wrap_up), then ready (the unpause). The phone turning free between the two is no ready."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    followed = capture + _pause(True, "wrap_up") + _pause(False)

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await asyncio.wait_for(server.finished.wait(), 5)
        await until(lambda: [a.state for a in agents(events) if a.agent_id == "alice"][-1] == "ready")
        after_call = [(a.state, a.reason) for a in agents(events) if a.agent_id == "alice"][3:]
        assert after_call == [("wrap_up", "agent"), ("wrap_up", None), ("ready", None)]
        ended = next(i for i, e in enumerate(events) if isinstance(e, CallEvent) and e.type == "call.ended")
        wrap_up = next(i for i, e in enumerate(events) if isinstance(e, AgentState) and e.state == "wrap_up")
        assert wrap_up < ended  # AgentComplete comes with the hang-up, before the channel's Hangup

    replay_bytes(followed, scenario)


@pytest.mark.expect_log(logging.WARNING, "cti.ami.client", match="lost")
def test_after_a_reconnect_queue_status_says_ready_even_after_a_wrap_up() -> None:
    """QueueStatus after a reconnect is the truth: an agent who went ready while the link was down is ready."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    resync_end = capture.index(b"Event: Newchannel")
    two_sessions = capture + capture[:resync_end]

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await asyncio.wait_for(server.finished.wait(), 5)
        await until(lambda: link.sessions == 2 and link.logged_in.is_set())
        await until(lambda: [a.state for a in agents(events) if a.agent_id == "alice"][-1] == "ready")
        alice = [a.state for a in agents(events) if a.agent_id == "alice"]
        assert alice == ["ready", "reserved", "busy", "wrap_up", "ready"]

    replay_bytes(two_sessions, scenario)


def test_a_chinese_caller_name_reaches_the_event_intact() -> None:
    """The captured call with the caller's name in Chinese (UTF-8 on the AMI wire, as Asterisk sends it)."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes().replace(b"Mia Miller", "王小明".encode())

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        offered = calls(events)[0]
        assert (offered.type, offered.calling, offered.calling_name) == ("call.offered", "+12068301661", "王小明")
        assert "王小明".encode() in encode(offered)  # on the bus as written, not escaped or masked

    replay_bytes(capture, scenario)


def _logged_in() -> bytes:
    """The real-channels capture's banner, login and resync (CoreShowChannels, QueueStatus): what a
    capture excerpt cut from a long session plays after."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    return capture[: capture.index(b"Event: Newchannel")]


def test_local_members_and_a_caller_id_that_comes_in_new_callerid() -> None:
    """A Local origination into ``Queue(sales)`` whose member is ``Local/2999@noanswer/n`` named ``Agent 2999``
    (an excerpt of the long session's capture, README there): the first leg appears with no caller id,
    which comes next in ``NewCallerid`` (number and name); the member rings, does not answer, rings
    again, and the caller hangs up while it rings."""
    capture = _logged_in() + (CAPTURES / "session-local-members-caller-id.ami").read_bytes()

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        call_id = "1796074349.56"
        assert [(e.type, e.call_id, e.agent_id, e.queue, e.extension, e.cause) for e in calls(events)] == [
            ("call.offered", call_id, None, None, "300", None),
            ("queue.joined", call_id, None, "sales", None, None),
            ("call.alerting", call_id, "Agent_2999", "sales", "2999", None),
            ("call.alerting", call_id, "Agent_2999", "sales", "2999", None),  # rung again after the no-answer
            ("queue.left", call_id, None, "sales", None, "abandoned"),
            # the member's NOANSWER was the queue's, not the call's outcome: the caller hung up
            ("call.ended", call_id, None, None, None, "Normal Clearing"),
        ]
        offered, joined = calls(events)[:2]
        assert (offered.calling, offered.calling_name) == ("+12125431819", "Chloe")  # from NewCallerid
        assert (joined.calling, joined.calling_name) == ("+12125431819", "Chloe")
        member = [(a.state, a.reason, a.call_id) for a in agents(events) if a.agent_id == "Agent_2999"]
        assert member == [
            ("ready", None, None),  # QueueStatus
            ("reserved", None, call_id),
            ("ready", "ring_no_answer", call_id),
            ("reserved", None, call_id),
            ("ready", None, None),  # the caller hung up while it rang (DialEnd CANCEL): free again
        ]
        assert link.mapper.agent_names["Agent_2999"] == "Agent 2999"

    replay_bytes(capture, scenario, client=(CAPTURES / "queue-call-real-channels.client.ami").read_bytes())


def test_an_answered_call_to_local_members_carries_the_callers_number_and_name() -> None:
    """The Local-members capture's caller was anonymous; the same call with the caller id a trunk gives
    (number and a Chinese name on the caller's legs): the full sequence carries agent, queue, number, name."""
    capture = (CAPTURES / "queue-call-local-members.ami").read_bytes()
    blocks = capture.split(b"\r\n\r\n")
    for n, block in enumerate(blocks):
        if b"Channel: Local/100@inbound-00000000;" in block:
            blocks[n] = block.replace(b"CallerIDNum: <unknown>", b"CallerIDNum: +8613800138000").replace(
                b"CallerIDName: <unknown>", "CallerIDName: 王小明".encode()
            )
    with_caller = b"\r\n\r\n".join(blocks)
    assert with_caller.count("王小明".encode()) > 10

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        assert [(e.type, e.agent_id, e.queue, e.extension) for e in calls(events)] == [
            ("call.offered", None, None, "100"),
            ("call.data", None, None, None),
            ("call.data", None, None, None),
            ("queue.joined", None, "support", None),
            ("call.alerting", "a2001", "support", "2001"),
            ("queue.left", None, "support", None),
            ("call.answered", "a2001", "support", "2001"),
            ("call.ended", None, None, None),
        ]
        offered = calls(events)[0]
        assert (offered.calling, offered.calling_name, offered.called) == ("+8613800138000", "王小明", "100")
        tracker = CallTracker()
        for e in calls(events)[:-1]:
            tracker.apply(e)
        snapshot = tracker.get(offered.call_id)
        assert snapshot is not None
        assert (snapshot.calling, snapshot.calling_name, snapshot.agent_id, snapshot.queue) == (
            "+8613800138000", "王小明", "a2001", "support"
        )

    replay_bytes(with_caller, scenario, agent_ids={"Agent 2001": "a2001"})


def _documented_manager_conf() -> str:
    """docs/cti.md's manager.conf, as the docs print it (the secret filled in)."""
    docs = (Path(__file__).parents[2] / "docs" / "cti.md").read_text()
    block = docs.split("```ini\n", 1)[1].split("```", 1)[0]
    assert "[ccgw]" in block
    return block.replace("<long random secret>", "s3cret")


def test_docs_account_is_the_captures_account_with_system_and_runs_everything() -> None:
    """docs/cti.md's [ccgw] is the captures' [ccgw] plus ``write = system`` (mute); replayed with it,
    the captured call starts the link with every capability and nothing missing."""
    documented = manager_accounts(_documented_manager_conf())["ccgw"]
    captured = manager_accounts(MANAGER_CONF)["ccgw"]
    assert documented["read"] == captured["read"]
    assert documented["write"] == captured["write"] + ",system"
    assert "timestampevents = yes" in _documented_manager_conf()

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        assert link.missing == []
        assert link.capabilities == type(link).capabilities
        assert server.denied == []
        assert {"CoreShowChannels", "QueueStatus"} <= {a.name for a in server.actions}

    replay_bytes(
        (CAPTURES / "queue-call-real-channels.ami").read_bytes(),
        scenario,
        username="ccgw",
        client=(CAPTURES / "queue-call-real-channels.client.ami").read_bytes(),
        conf=_documented_manager_conf(),
    )


def _contexts(text: str) -> dict[str, list[str]]:
    """The dialplan contexts of a text (extensions.conf, or docs' code blocks): their lines without comments."""
    contexts: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[ccenter-") or (line.startswith("[") and line.endswith("]") and lines is not None):
            lines = contexts.setdefault(line.strip("[]"), []) if line.startswith("[ccenter-") else None
        elif lines is not None and line.startswith(("exten =>", "same =>")):
            lines.append(" ".join(line.split()))
    return contexts


def test_docs_dialplan_is_the_one_the_captures_ran() -> None:
    """docs/cti.md's contexts for the AMI link are the captures' extensions.conf (the fallback's actions
    aside), and they have the extensions the link sends calls to."""
    docs = _contexts((Path(__file__).parents[2] / "docs" / "cti.md").read_text())
    fixture = _contexts((CAPTURES / "extensions.conf").read_text())
    settings = AmiSettings(host="pbx", username="ccgw", secret="s3cret")
    assert {settings.hold_context, settings.conference_context, settings.outbound_context} < set(docs)
    for context in (settings.hold_context, settings.conference_context, settings.outbound_context):
        assert docs[context] == fixture[context], context
    assert docs[settings.hold_context][0].startswith("exten => s,1,")  # hold: Redirect to <hold_context>,s,1
    assert docs[settings.conference_context][0].startswith("exten => _cc.,1,")  # cc<call id>
    for action in ("voicemail", "callback", "abandoned"):  # fallback: Redirect to ccenter-fallback,<action>,1
        assert any(line.startswith(f"exten => {action},1,") for line in docs["ccenter-fallback"]), action
        assert any(line.startswith(f"exten => {action},1,") for line in fixture["ccenter-fallback"]), action


@pytest.mark.expect_log(logging.ERROR, "cti.ami.client", match="cannot carry out mute")
def test_ccenter_doctor_names_what_the_account_lacks_as_the_docs_print_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ccenter doctor --link ami://…`` as a user runs it, against the captures' [ccgw] (no ``system``) and
    then docs/cti.md's account."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    server = FakeAsterisk(username="ccgw", write=manager_accounts(MANAGER_CONF)["ccgw"]["write"].split(","))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    link = f"ami://ccgw:s3cret@127.0.0.1:{server.port}"
    try:
        assert main(["doctor", "--db", db_url, "--link", link]) == 1
        out = capsys.readouterr().out
        lacks = "BROKEN  link      AMI account 'ccgw' lacks permissions: mute: MuteAudio denied (needs write = system)"
        assert lacks in out
        server.write = manager_accounts(_documented_manager_conf())["ccgw"]["write"].split(",")
        main(["doctor", "--db", db_url, "--link", link])  # the database is not set up: only the link counts here
        out = capsys.readouterr().out
        assert "ok      link      logged in as 'ccgw'; every command and the call resync are permitted" in out
        assert main(["doctor", "--db", db_url, "--link", link.replace("s3cret", "wrong")]) == 1
        assert "BROKEN  link      AMI at 127.0.0.1:" in capsys.readouterr().out
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_with_timestampevents_the_events_carry_asterisks_time() -> None:
    """The captured call as Asterisk sends it with ``timestampevents = yes`` (docs/cti.md's manager.conf):
    a ``Timestamp:`` after each event's ``Privilege:``. The events' ``ts`` is Asterisk's, not the gateway's."""
    capture = (CAPTURES / "queue-call-real-channels.ami").read_bytes()
    blocks = capture.split(b"\r\n\r\n")
    for n, block in enumerate(blocks):
        if b"\r\nPrivilege: " in block and block.lstrip().startswith(b"Event: "):
            head, _, rest = block.partition(b"\r\nPrivilege: ")
            privilege, _, tail = rest.partition(b"\r\n")
            stamp = f"\r\nTimestamp: {1700000000 + n}.250000\r\n".encode()
            blocks[n] = head + b"\r\nPrivilege: " + privilege + stamp + tail
    stamped = b"\r\n\r\n".join(blocks)

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await played(server, events, "call.ended")
        # the QueueStatus list's members (the resync) are no events with a Privilege: and get no Timestamp
        stamps = [e.ts for e in events if isinstance(e, CallEvent) or e.call_id]
        assert len(stamps) == 10  # 7 call events, alice reserved, busy, wrap_up
        assert all(1700000000 < ts < 1700000000 + len(blocks) and ts % 1 == 0.25 for ts in stamps)
        assert stamps == sorted(stamps)
        offered = calls(events)[0]
        newchannel = next(n for n, b in enumerate(blocks) if b.lstrip().startswith(b"Event: Newchannel"))
        assert offered.ts == 1700000000 + newchannel + 0.25

    replay_bytes(stamped, scenario)


def test_the_agents_screen_pop_names_the_caller_through_the_gateway() -> None:
    """The captured queue call through the gateway: what alice's desktop reads on her own events topic
    (it sees no ``call.offered``) pops the call with the caller's number, name and queue."""
    from agent_desktop.session import AgentSession, ScreenPop
    from bus.transport import InProcessBus
    from cti.gateway import Gateway

    site = "pop"

    async def main() -> None:
        server = ReplayAsterisk((CAPTURES / "queue-call-real-channels.ami").read_bytes(), MANAGER_CONF,
                                client_capture=(CAPTURES / "queue-call-real-channels.client.ami").read_bytes())
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="ccenter", secret="s3cret",
                                   tech="IAX2", ping_interval=3600, action_timeout=3.0))
        bus = InProcessBus()
        seen: list[CallEvent] = []
        try:
            async with bus:
                inbox = await bus.subscribe(topics.agent_events(site, "alice"))

                async def read() -> None:
                    async for envelope in inbox:
                        if isinstance(envelope.message, CallEvent):
                            seen.append(envelope.message)

                reader = asyncio.create_task(read())
                gateway = Gateway(link, bus, site=site)
                await gateway.start()
                await link.connect()
                runner = asyncio.create_task(gateway.run())
                await until(lambda: any(e.type == "call.ended" for e in seen))
                await link.close()
                await runner
                reader.cancel()
        finally:
            await server.stop()
        assert "call.offered" not in [e.type for e in seen]
        first = seen[0]
        assert (first.type, first.calling, first.calling_name, first.queue) == (
            "call.data", "+12068301661", "Mia Miller", "helpdesk"
        )
        session = AgentSession("alice", "2001")
        session.log_on(0)
        session.set_ready(0)
        effects = [effect for e in seen for effect in session.on_event(e, 1.0)]
        [pop] = [e for e in effects if isinstance(e, ScreenPop)]
        assert (pop.call.calling, pop.call.calling_name, pop.call.queue) == ("+12068301661", "Mia Miller", "helpdesk")

    asyncio.run(main())


# the resync's Asterisk queue members (helpdesk's alice, bob; sales' Agent 2999) are no agents of this ACD
@pytest.mark.expect_log(logging.WARNING, "routing.adapter", match="has no skills in the ACD configuration")
def test_ccenter_acd_and_the_gateway_count_the_captured_deliver_answered_and_give_carol_one_call() -> None:
    """The two captured progressive-dialer calls, with the ACD server (``ccenter acd``) and the gateway
    joined by the bus as in production: the ACD's deliver goes through the gateway to Asterisk (the
    capture's Redirect answer waits for it), the queue statistics the ACD publishes count it answered,
    and the second call waits instead of going to carol's busy phone."""
    from bus.messages import Command, QueueStats
    from bus.transport import InProcessBus
    from cti.gateway import Gateway
    from routing.server import AcdServer

    site = "acd"
    blocks = (CAPTURES / "session-outbound-deliver.ami").read_bytes().split(b"\r\n\r\n")
    second_redirect = blocks.index(b"Response: Success\r\nActionID: cc3-87\r\nMessage: Redirect successful")
    excerpt = [b for b in blocks[:second_redirect] if not b.endswith(b"Message: Originate successfully queued")]
    capture = _logged_in() + b"\r\n\r\n".join(excerpt) + b"\r\n\r\n"
    client = (CAPTURES / "queue-call-real-channels.client.ami").read_bytes() + (
        b"Action: Redirect\r\nActionID: cc3-84\r\n\r\nAction: Ping\r\nActionID: cc3-86\r\n\r\n"
    )
    config = AcdConfig(
        queues=(QueueConfig("acdsupport", wrap_up_s=0.0, ring_timeout_s=30.0),),
        agents={"carol": AgentProfile({"acdsupport": 5}, "2003")},
    )
    first, second = "cc-cbca5a4d81c643b88434", "cc-9de08274e2924650992d"

    async def main() -> None:
        server = ReplayAsterisk(capture, MANAGER_CONF, client_capture=client)
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="ccenter", secret="s3cret",
                                   tech="IAX2", ping_interval=3600, action_timeout=3.0))
        bus = InProcessBus()
        commands: list[Command] = []
        stats: list[QueueStats] = []
        calls_seen: list[CallEvent] = []
        try:
            async with bus:
                cti = await bus.subscribe(topics.cti_commands(site))
                published = await bus.subscribe(topics.queue_stats(site, "acdsupport"))
                call_topic = await bus.subscribe(topics.calls(site))

                async def read() -> None:
                    async def commands_in() -> None:
                        async for envelope in cti:
                            if isinstance(envelope.message, Command):
                                commands.append(envelope.message)

                    async def stats_in() -> None:
                        async for envelope in published:
                            if isinstance(envelope.message, QueueStats):
                                stats.append(envelope.message)

                    async def calls_in() -> None:
                        async for envelope in call_topic:
                            if isinstance(envelope.message, CallEvent):
                                calls_seen.append(envelope.message)

                    await asyncio.gather(commands_in(), stats_in(), calls_in())

                reader = asyncio.create_task(read())
                acd = AcdServer(bus, config, site, election=False, stats_every_s=0.05)
                await acd.start()
                gateway = Gateway(link, bus, site=site)
                await gateway.start()
                await link.connect()
                runner = asyncio.create_task(gateway.run())
                await bus.publish(topics.agent_events(site, "carol"),
                                  AgentState(agent_id="carol", state="ready", ts=0.0), qos=1)
                try:
                    await asyncio.wait_for(server.finished.wait(), 10)
                    await until(lambda: any(e.type == "queue.joined" and e.call_id == second for e in calls_seen))
                    await until(lambda: bool(stats) and stats[-1].answered == 1 and stats[-1].waiting == 1)
                finally:
                    await acd.stop()
                    await link.close()
                    await runner
                    reader.cancel()
        finally:
            await server.stop()
        assert [(c.name, c.call_id, c.args.get("extension")) for c in commands if c.name == "deliver"] == [
            ("deliver", first, "2003")
        ]
        assert [a.get("Exten") for a in server.actions if a.name == "Redirect"] == ["2003"]
        left = [e for e in calls_seen if e.type == "queue.left" and e.call_id == first]
        assert [(e.cause, e.data) for e in left] == [(None, {"reason": "redirected"})]
        assert (stats[-1].answered, stats[-1].abandoned, stats[-1].waiting) == (1, 0, 1)

    asyncio.run(main())


# the answers of the long session's QueuePause (cc3-42, cc3-43), where the AMI link now pauses for a
# hold (the captured gateway did not yet): spliced in where the link sends them
_PAUSED = b"Response: Success\r\nActionID: cc3-42\r\nMessage: Interface paused successfully"
_UNPAUSED = b"Response: Success\r\nActionID: cc3-43\r\nMessage: Interface unpaused successfully"
_QUEUEPAUSE_NAMES = b"Action: QueuePause\r\nActionID: cc3-42\r\n\r\nAction: QueuePause\r\nActionID: cc3-43\r\n\r\n"


def _action_id(block: bytes) -> str | None:
    for line in block.split(b"\r\n"):
        if line.startswith(b"ActionID: "):
            return line[len(b"ActionID: "):].decode()
    return None


def _spliced(name: str, drop: set[str], before: dict[str, bytes]) -> bytes:
    """A capture excerpt after the logged-in start, without the answers to actions the test does not
    send (``drop``) and with a spliced answer before the captured answer to ``before``'s ActionIDs."""
    out: list[bytes] = []
    for block in (CAPTURES / name).read_bytes().split(b"\r\n\r\n"):
        aid = _action_id(block) if block.startswith(b"Response:") else None
        if aid in before:
            out.append(before[aid])
        if aid not in drop:
            out.append(block)
    return _logged_in() + b"\r\n\r\n".join(out)


def test_captured_hold_consult_transfers_and_conference_through_the_link() -> None:
    """The long session's customer call (Mia Miller, queue helpdesk, answered by alice on 2001) put on
    hold and retrieved, consulted to 2003 and transferred attended, transferred blind by 2003 to 2002,
    then 2002 consults 2003 and joins the three in ConfBridge: replayed to the AMI link's own commands.

    Hold pauses the holding agent's queue memberships until retrieve, and a transfer or conference of
    the held call unpauses them; the holding agent stays busy. The attended transfer's target (Asterisk
    gives its leg the customer's Linkedid in the Bridge) becomes a party of the customer's call, which
    is connected, not held."""
    customer, first_consult, second_consult = "1796073848.3", "cc-7320401cdb2a42ac9fdf", "cc-9d7d0be9c729466ca1c7"
    capture = _spliced(
        "session-hold-transfer-conference.ami",
        # attach_data, DTMF and mute (cc3-13..19) are not sent here; 2001's consultation leg is gone
        # when the link would hang it up after the transfer (cc3-28); the final hang-ups (cc3-37..39)
        # are Asterisk's events only
        drop={f"cc3-{n}" for n in (13, 14, 15, 16, 17, 18, 19, 28, 37, 38, 39)},
        before={
            "cc3-21": _PAUSED,  # hold: Redirect, pause, hang up the agent's leg
            "cc3-24": _UNPAUSED,  # retrieve: Originate Bridge, unpause
            "cc3-25": _PAUSED,  # consult's hold
            "cc3-28": _UNPAUSED,  # attended transfer: Bridge, unpause
            "cc3-32": _PAUSED,  # 2002's hold before the conference
            "cc3-37": _UNPAUSED,  # conference: two Redirects, unpause
        },
    )
    client = (
        (CAPTURES / "queue-call-real-channels.client.ami").read_bytes()
        + (CAPTURES / "session-hold-transfer-conference.client.ami").read_bytes()
        + _QUEUEPAUSE_NAMES
    )

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        def parties(call_id: str) -> list[str]:
            return [device_of(c) or c for c in link.mapper.channels_of(call_id)]

        await until(lambda: parties(customer) == ["pstn", "2001"])
        await link.hold(customer, "2001")
        await link.retrieve(customer, "2001")
        await until(lambda: parties(customer) == ["pstn", "2001"])
        assert await link.consult(customer, "2001", "2003")  # the capture's call is cc-7320…
        await until(lambda: sorted(parties(first_consult)) == ["2001", "2003"])
        await link.attended_transfer(customer, first_consult, "2001")
        await until(lambda: parties(customer) == ["pstn", "2003"])
        await link.blind_transfer(customer, "2003", "2002")
        await until(lambda: parties(customer) == ["pstn", "2002"])
        await link.consult(customer, "2002", "2003")
        await until(lambda: sorted(parties(second_consult)) == ["2002", "2003"])
        await link.conference(customer, second_consult, "2002")
        await played(server, events, "call.conferenced")

        pauses = [
            (a.get("Interface"), a.get("Paused"), a.get("Reason"))
            for a in server.actions
            if a.name in ("Redirect", "QueuePause", "Bridge")
        ]
        assert pauses == [
            (None, None, None),  # hold
            ("IAX2/2001", "true", "on_hold"),
            ("IAX2/2001", "false", None),  # retrieve
            (None, None, None),  # consult's hold
            ("IAX2/2001", "true", "on_hold"),
            (None, None, None),  # the attended transfer's Bridge
            ("IAX2/2001", "false", None),
            (None, None, None),  # blind transfer (the call was not held)
            (None, None, None),  # 2002's hold
            ("IAX2/2002", "true", "on_hold"),
            (None, None, None),  # conference: the customer, then 2002 and 2003 into the room
            (None, None, None),
            ("IAX2/2002", "false", None),
        ]
        mine = [(e.type, e.extension, e.called, e.data) for e in calls(events) if e.call_id == customer]
        story = [t for t in mine if t[0] in ("call.held", "call.retrieved", "call.transferred", "call.conferenced")]
        assert story == [
            ("call.held", "2001", None, {}),
            ("call.retrieved", "2001", None, {}),
            ("call.held", "2001", None, {}),
            ("call.transferred", "2003", None, {"kind": "attended", "by": "2001", "consult_call_id": first_consult}),
            ("call.transferred", None, "2002", {"kind": "blind", "by": "2003"}),
            ("call.held", "2002", None, {}),
            ("call.conferenced", "2003", None, {"parties": ["2002", "2003", "pstn"]}),  # 2003 came in last
        ]
        conferenced = [e.call_id for e in calls(events) if e.type == "call.conferenced"]
        assert sorted(conferenced) == sorted([customer, second_consult])  # once each
        tracker = CallTracker()
        states = []
        for e in calls(events):
            snapshot = tracker.apply(e)
            if e.call_id == customer and snapshot is not None:
                states.append((e.type, snapshot.state.value))
        after_transfer = states[[t for t, _ in states].index("call.transferred"):]
        assert "held" not in [s for t, s in after_transfer if t != "call.held"]
        assert states[-1] == ("call.conferenced", "connected")
        ended = [e.call_id for e in calls(events) if e.type == "call.ended"]
        assert first_consult in ended and customer not in ended  # the transferred call goes on
        # the hold hung up the agent's leg (Asterisk's AgentComplete, the phone free): the agent still
        # has the customer, neither wrapping up nor ready (a call offered meanwhile would double-book her)
        alice = [s.state for s in agents(events) if s.agent_id == "alice"]
        bob = [s.state for s in agents(events) if s.agent_id == "bob"]
        # once the attended transfer took the customer from her she is free: her phone's status may say
        # so before the link's unpause (live, the unpause's QueueMemberPause says it in any case)
        assert alice in (["ready", "reserved", "busy"], ["ready", "reserved", "busy", "ready"])
        assert bob == ["ready", "reserved", "busy"]

    replay_bytes(capture, scenario, client=client)


def test_captured_failed_dial_outs_end_once_and_leave_no_phantom_call() -> None:
    """Two dialer calls of the long session that fail: +15550000481 busy, 2009 unanswered. Each ends
    once with its outcome (its Local legs' hang-ups, then ``OriginateResponse`` ``Failure``); the
    ``OutgoingSpoolFailed`` channel Asterisk then runs the ``failed`` extension on is no call."""
    busy, unanswered = "cc-6ac1c03211f34658a4f5", "cc-e8469e2d983648528e54"
    # the dialer's Originates are not sent here (their answers dropped): their calls' events are what counts
    capture = _spliced("session-failed-dial-out.ami", drop={"cc3-59", "cc3-60"}, before={})

    async def scenario(server: ReplayAsterisk, link: AmiLink, events: list[LinkEvent]) -> None:
        await asyncio.wait_for(server.finished.wait(), 5)
        await link.action("Ping", {})  # answered after the capture's last event: the link has read them all
        assert [(e.call_id, e.type, e.cause) for e in calls(events)] == [
            (busy, "call.offered", None),
            (busy, "call.data", None),
            (busy, "call.alerting", None),
            (busy, "call.ended", "busy"),
            (unanswered, "call.offered", None),
            (unanswered, "call.data", None),
            (unanswered, "call.alerting", None),
            (unanswered, "call.ended", "no_answer"),
        ]
        tracker = CallTracker()
        for e in calls(events):
            tracker.apply(e)
        assert len(tracker) == 0 and link.mapper.channels_of(unanswered) == []

    replay_bytes(capture, scenario)


def test_the_gateway_publishes_the_captured_failed_dial_outs_ended_once_and_no_phantom_call() -> None:
    """The captured failed dial-outs through the gateway: on the bus each call ends once, with its
    outcome, and no call of Asterisk's ``OutgoingSpoolFailed`` channel is offered or ended."""
    from bus.transport import InProcessBus
    from cti.gateway import Gateway

    site = "dial"
    busy, unanswered = "cc-6ac1c03211f34658a4f5", "cc-e8469e2d983648528e54"
    capture = _spliced("session-failed-dial-out.ami", drop={"cc3-59", "cc3-60"}, before={})
    end = CallEvent(type="call.ended", call_id="end-of-test", ts=0.0)  # published after the gateway's

    async def main() -> list[CallEvent]:
        server = ReplayAsterisk(capture, MANAGER_CONF)
        await server.start()
        link = AmiLink(AmiSettings(host="127.0.0.1", port=server.port, username="ccenter", secret="s3cret",
                                   tech="IAX2", ping_interval=3600, action_timeout=3.0))
        bus = InProcessBus()
        seen: list[CallEvent] = []
        try:
            async with bus:
                inbox = await bus.subscribe(topics.calls(site))

                async def read() -> None:
                    async for envelope in inbox:
                        if isinstance(envelope.message, CallEvent):
                            seen.append(envelope.message)

                reader = asyncio.create_task(read())
                gateway = Gateway(link, bus, site=site)
                await gateway.start()
                await link.connect()
                runner = asyncio.create_task(gateway.run())
                await asyncio.wait_for(server.finished.wait(), 5)
                await link.action("Ping", {})  # answered after the capture's last event: the link read them all
                await link.close()
                await runner  # the gateway has published every event of the link
                await bus.publish(topics.call(site, end.call_id), end)
                await until(lambda: bool(seen) and seen[-1].call_id == end.call_id)
                reader.cancel()
        finally:
            await server.stop()
        return seen[:-1]

    seen = asyncio.run(main())
    assert {e.call_id for e in seen} == {busy, unanswered}
    assert [(e.call_id, e.cause) for e in seen if e.type == "call.ended"] == [(busy, "busy"), (unanswered, "no_answer")]
