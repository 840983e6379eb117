"""The ACD's leadership messages round-trip through JSON like every bus message."""

import json

import pytest

from bus.errors import MessageError
from bus.messages import AcdLeader, AcdSnapshot, decode, encode

MESSAGES = [
    AcdLeader(client_id="acd-hq-1", epoch=3, ts=10.0),
    AcdSnapshot(
        client_id="acd-hq-1",
        epoch=3,
        seq=17,
        ts=11.0,
        calls=[{"call_id": "c1", "queue": "sales", "priority": 5, "skills": {"spanish": 3}, "arrived": 9.0,
                "status": "offered", "agent_id": "alice", "offer": 1, "ringing": False}],
        agents=[{"agent_id": "alice", "skills": {"sales": 5}, "extension": "1001", "status": "reserved"}],
        ended=["c0"],
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.message_type)
def test_round_trip(message) -> None:
    payload = encode(message)
    assert json.loads(payload)["v"] == 1
    assert decode(payload) == message


def test_leader_record_without_epoch_is_refused() -> None:
    with pytest.raises(MessageError, match="incomplete"):
        decode(b'{"type": "acd.leader", "v": 1, "client_id": "acd-1", "ts": 1}')
