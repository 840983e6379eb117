"""Corrections agents make to a call's attached data are stored with the contact, on SQLite and PostgreSQL:
the corrected value, who changed it and when, and the original with who set it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from crm import db, repository
from crm.errors import NotFound
from crm.models import Channel, Contact

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)

CORRECTED = {
    "schema": "ccenter.attached/1",
    "fields": {
        "verified": {"value": True, "type": "bool", "editable": False,
                     "set_by": {"kind": "ivr", "name": "verify_pin"}, "at": 1764000000.0},
        "intent": {"value": "fault", "type": "str", "editable": True,
                   "set_by": {"kind": "agent", "name": "alice"}, "at": 1764000100.0,
                   "original": {"value": "billing", "set_by": {"kind": "ivr", "name": "main_menu"},
                                "at": 1764000010.0}},
        "notes": {"value": "card 4111 1111 1111 1111 on file", "type": "str", "editable": True,
                  "set_by": {"kind": "agent", "name": "alice"}, "at": 1764000120.0,
                  "original": {"value": "", "set_by": {"kind": "system", "name": "handoff"}, "at": 1764000020.0}},
    },
}


def test_a_contact_keeps_the_corrections_with_their_originals(engine: Engine) -> None:
    factory = db.session_factory(engine)
    record = repository.ContactRecord(
        client_ref="desk-alice-ivr-1", channel=Channel.VOICE_IN, started_at=NOW, ended_at=NOW + timedelta(minutes=3),
        disposition="resolved", cti_call_id="sim-1", ivr_data=CORRECTED)
    with db.transaction(factory) as s:
        saved = repository.save_contact(s, record)
    with factory() as s:
        stored = s.get_one(Contact, saved.contact_id).ivr_data
        fixes = repository.contact_ivr_corrections(s, saved.contact_id)
    assert stored["fields"]["intent"]["original"]["value"] == "billing"
    intent, notes = fixes
    assert (intent.field, intent.value, intent.corrected_by, intent.corrected_at) == ("intent", "fault", "alice",
                                                                                        1764000100.0)
    assert (intent.original, intent.original_by, intent.original_at) == ("billing", "ivr:main_menu", 1764000010.0)
    assert notes.original_by == "system:handoff"
    assert "4111 1111 1111 1111" not in str(notes.value), "a card number typed in is never stored in clear"


def test_data_without_corrections_has_none_and_odd_entries_are_skipped() -> None:
    assert repository.ivr_corrections(None) == ()
    assert repository.ivr_corrections({"intent": "billing"}) == ()
    odd = {"schema": "ccenter.attached/1", "fields": {
        "intent": {"value": "x", "original": "not an entry"},
        "notes": "not an entry",
        "account": {"value": "1", "set_by": {"kind": "ivr", "name": "n"}, "original": {"value": "2"}},
    }}
    assert repository.ivr_corrections(odd) == (), "only an agent's corrections count"


def test_a_contact_that_does_not_exist_is_not_found(engine: Engine) -> None:
    with db.session_factory(engine)() as s, pytest.raises(NotFound):
        repository.contact_ivr_corrections(s, 999_999)
