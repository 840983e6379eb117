import json

import pytest

from bus import topics
from bus.errors import MessageError
from bus.messages import AgentState, CallEvent, CallEventType, Command, Presence, QueueStats, decode, encode

MESSAGES = [
    CallEvent(type=CallEventType.OFFERED, call_id="c1", ts=1.5, calling="+14155550100", called="800",
              data={"intent": "billing", "名字": "王伟"}),
    CallEvent(type="queue.joined", call_id="c1", ts=2.0, queue="billing"),
    AgentState(agent_id="alice", state="not_ready", reason="lunch", ts=3.0),
    QueueStats(queue="billing", ts=4.0, waiting=3, service_level=0.83),
    Command(command_id="k1", name="answer", ts=5.0, call_id="c1", agent_id="alice"),
    Presence(client_id="desktop-alice", online=True, ts=6.0, role="desktop"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.message_type)
def test_json_round_trip_keeps_type_and_version(message) -> None:
    payload = encode(message)
    body = json.loads(payload)
    assert body["type"] == message.message_type and body["v"] == 1
    assert decode(payload) == message


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "nope", "v": 1}', "unknown message type"),
        (b'{"type": "call.offered", "v": 99, "call_id": "x", "ts": 1}', "unsupported schema version"),
        (b'{"type": "call.offered", "v": 1}', "incomplete"),
        (b'{"type": "agent.state", "v": 1, "agent_id": "a", "state": "dancing", "ts": 1}', "unknown agent state"),
        (b" " * (300 * 1024), "exceeds the limit"),
    ],
)
def test_invalid_payloads_are_refused_with_the_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        decode(payload)


def test_newer_fields_from_a_later_minor_version_are_ignored() -> None:
    payload = b'{"type": "call.ended", "v": 1, "call_id": "c", "ts": 1, "future_field": 3}'
    assert decode(payload) == CallEvent(type="call.ended", call_id="c", ts=1)


def test_topic_scheme_and_matching() -> None:
    assert topics.call("hq", "c1") == "ccenter/v1/hq/calls/c1"
    assert topics.agent_events("hq", "alice") == "ccenter/v1/hq/agents/alice/events"
    assert topics.agent_commands("hq", "alice") == "ccenter/v1/hq/agents/alice/commands"
    assert topics.queue_stats("hq", "billing") == "ccenter/v1/hq/queues/billing/stats"
    assert topics.cti_commands("hq") == "ccenter/v1/hq/cti/commands"
    assert topics.matches(topics.calls("hq"), "ccenter/v1/hq/calls/c1")
    assert not topics.matches(topics.calls("hq"), "ccenter/v1/hq/calls/c1/extra")
    assert topics.matches("ccenter/v1/#", "ccenter/v1/hq/queues/q/stats")
    assert not topics.matches("ccenter/v1/hq/agents/+/events", "ccenter/v1/hq/agents/bob/commands")
    for bad in ["a/b", "+", "#", "", "x\r\ny"]:
        with pytest.raises(ValueError):
            topics.call("hq", bad)
