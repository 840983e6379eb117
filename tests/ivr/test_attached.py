"""Attached data (schema, types, provenance, agent edits, bus event) and session records."""

from __future__ import annotations

from typing import Any

import pytest

from bus.messages import CallEvent, decode, encode
from ivr.attached import SCHEMA_ID, AttachedData, FieldSpec, FieldType, Provenance, Schema, SourceKind
from ivr.errors import AttachedDataError, NotEditable
from ivr.record import ExitPoint, SessionRecord, containment_rate
from ivr.sensitive import MaskStyle, Secret, mask, public

from .helpers import ALICE, ALICE_PIN, drive, new_session


def attached() -> AttachedData:
    return AttachedData(Schema.standard((FieldSpec("score", FieldType.INT), FieldSpec("extra", FieldType.DICT, True))))


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("language", "en", "en"),
        ("verified", True, True),
        ("time_in_ivr_s", 3, 3.0),
        ("score", 7, 7),
        ("menu_path", ("a", "b"), ["a", "b"]),
        ("extra", {"k": Secret("123456789", MaskStyle.LAST4)}, {"k": "*****6789"}),
        ("account", Secret("12345678", MaskStyle.LAST4), "****5678"),
    ],
)
def test_values_are_typed_and_stored_safely(name: str, value: Any, stored: Any) -> None:
    data = attached()
    data.set(name, value, kind=SourceKind.IVR, by="node", at=5.0)
    assert data.get(name) == stored
    assert data.provenance(name) == Provenance(SourceKind.IVR, "node", 5.0)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("verified", 1, "takes bool, not int"),
        ("score", True, "takes int, not bool"),
        ("score", 1.5, "takes int, not float"),
        ("time_in_ivr_s", "3", "takes float, not str"),
        ("language", 5, "takes str, not int"),
        ("menu_path", "a", "takes list"),
        ("extra", [1], "takes dict"),
        ("colour", "red", "not a field"),
        ("verified", Secret("1"), "cannot hold a masked value"),
    ],
)
def test_values_of_the_wrong_type_are_refused(name: str, value: Any, reason: str) -> None:
    with pytest.raises(AttachedDataError, match=reason):
        attached().set(name, value, kind=SourceKind.SYSTEM, by="x", at=0)


def test_agents_edit_only_editable_fields() -> None:
    data = attached()
    data.set("intent", "billing", kind=SourceKind.IVR, by="main", at=1.0)
    data.edit("intent", "cancel", agent_id="agent-7", at=9.0)
    assert data.get("intent") == "cancel"
    assert data.provenance("intent") == Provenance(SourceKind.AGENT, "agent-7", 9.0)
    with pytest.raises(NotEditable, match="'verified'"):
        data.edit("verified", True, agent_id="agent-7", at=9.0)
    with pytest.raises(NotEditable):
        data.edit("nonsense", 1, agent_id="agent-7", at=9.0)
    assert data.get("nonsense", "default") == "default"
    assert data.provenance("nonsense") is None


def test_round_trip_through_the_bus() -> None:
    data = attached()
    data.set("customer_id", "C1", kind=SourceKind.IVR, by="find", at=2.0)
    data.set("score", 3, kind=SourceKind.SYSTEM, by="scorer", at=3.0)
    event = data.to_call_event("call-9", 4.0, queue="billing", priority=5, calling=ALICE)
    back = decode(encode(event))
    assert isinstance(back, CallEvent) and back.type == "call.data"
    assert back.queue == "billing" and back.calling == ALICE
    assert back.data["routing"] == {"queue": "billing", "priority": 5}
    assert back.data["schema"] == SCHEMA_ID
    assert back.data["fields"]["score"] == {
        "value": 3,
        "type": "int",
        "editable": False,
        "set_by": {"kind": "system", "name": "scorer"},
        "at": 3.0,
    }
    again = AttachedData.from_dict(back.data)
    assert again.values() == data.values()
    assert again.provenance("customer_id") == data.provenance("customer_id")
    assert list(again) == list(data) and len(again) == 2
    assert "routing" not in data.to_call_event("call-9", 4.0).data


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"schema": "other/9", "fields": {}}, "unsupported"),
        ({"schema": SCHEMA_ID}, "no 'fields'"),
        ({"schema": SCHEMA_ID, "fields": {"x": {"value": 1}}}, "malformed"),
        (
            {"schema": SCHEMA_ID, "fields": {"x": {"value": 1, "type": "int", "set_by": {"kind": "alien"}}}},
            "provenance",
        ),
        ({"schema": SCHEMA_ID, "fields": {"x": {"value": "1", "type": "int"}}}, "takes int"),
    ],
)
def test_from_dict_refuses_bad_data(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(AttachedDataError, match=reason):
        AttachedData.from_dict(body)


def test_session_handoff_event_carries_routing_and_no_secret() -> None:
    session = new_session()
    drive(session, ["1", ALICE_PIN, "9"])
    event = session.handoff_event(200.0)
    payload = encode(event).decode()
    assert ALICE_PIN not in payload
    assert event.queue == "general" and event.data["routing"] == {"queue": "general", "priority": 8}
    fields = event.data["fields"]
    for name in ("language", "customer_id", "account", "verified", "intent", "menu_path", "time_in_ivr_s"):
        assert name in fields, name


def test_masks() -> None:
    assert mask("1234") == "****"
    assert mask("4111111111111111", MaskStyle.LAST4) == "************1111"
    assert mask("123", MaskStyle.LAST4) == "****"
    secret = Secret("98765", MaskStyle.LAST4)
    assert str(secret) == "*8765" and repr(secret) == "Secret('*8765')" and f"{secret:>6}" == " *8765"
    assert secret.reveal() == "98765"
    assert public([secret, {"a": (secret,)}]) == ["*8765", {"a": ["*8765"]}]
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(secret)


def record(exit_point: ExitPoint) -> SessionRecord:
    return SessionRecord("c", "f", ALICE, 10.0, 25.5, exit_point, "n", ("a", "n"))


def test_record_and_containment() -> None:
    body = record(ExitPoint.SELF_SERVED).to_dict()
    assert body["exit"] == "self_served" and body["duration_s"] == 15.5 and body["path"] == ["a", "n"]
    records = [record(ExitPoint.SELF_SERVED)] * 3 + [record(ExitPoint.TRANSFERRED), record(ExitPoint.ABANDONED)]
    records.append(record(ExitPoint.CALLBACK))
    assert containment_rate(records) == 0.5
    assert containment_rate(records, count_abandoned=False) == 0.6
    assert containment_rate([]) is None


def test_records_of_real_sessions() -> None:
    outcomes = []
    for inputs in (["1", ALICE_PIN, "1", "2"], ["1", ALICE_PIN, "0"], ["1", "H"], ["1", ALICE_PIN, "3", "2"]):
        session = new_session()
        drive(session, inputs)
        assert session.record is not None
        outcomes.append(session.record)
    assert [r.exit for r in outcomes] == [
        ExitPoint.SELF_SERVED,
        ExitPoint.TRANSFERRED,
        ExitPoint.ABANDONED,
        ExitPoint.SELF_SERVED,
    ]
    assert containment_rate(outcomes) == 0.5
