"""One contact policy on every path: do-not-call and consent in import, preview, dialer and inbound offers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload

from crm import db, dnc, repository
from crm.campaign_files import import_plan
from crm.campaigns.eligibility import ConsentState, Rule, decide
from crm.campaigns.rules import read_rules
from crm.consent import consent_state, record_consent
from crm.errors import InvalidData
from crm.models import WorkItem

NOW = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles


@pytest.fixture
def customers(engine: Engine) -> list[int]:
    with db.transaction(db.session_factory(engine)) as session:
        return [repository.create_customer(session, name=f"Customer {i}", phone=f"+1 415 555 01{i:02d}")
                for i in range(1, 5)]


def _plan(tmp_path: Path, customer_ids: list[int], **rules: object) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({
        "campaign_id": "POLICY", "name": "Policy", "channels": ["outbound_call", "inbound_offer", "sms"],
        "products": ["Fibre"], "dial_mode": "progressive", "rules": rules,
        "targets": [{"customer_id": c} for c in customer_ids],
    }), encoding="utf-8")
    return path


def _channels(engine: Engine) -> set[tuple[int, str]]:
    with db.session_factory(engine)() as session:
        items = session.scalars(select(WorkItem).options(selectinload(WorkItem.activity)))
        return {(i.customer_id, i.activity.channel) for i in items}


def test_newest_consent_record_wins_and_all_covers_every_channel(engine: Engine, customers: list[int]) -> None:
    first = customers[0]
    with db.transaction(db.session_factory(engine)) as session:
        assert consent_state(session, first, "sms") is ConsentState.UNKNOWN
        record_consent(session, first, "sms", granted=True, source="web", at=NOW - timedelta(days=3))
        record_consent(session, first, "all", granted=False, source="letter", at=NOW - timedelta(days=2))
        record_consent(session, first, "outbound_call", granted=True, source="call", at=NOW - timedelta(days=1))
        assert consent_state(session, first, "sms") is ConsentState.REFUSED
        assert consent_state(session, first, "outbound_call") is ConsentState.GRANTED
        with pytest.raises(InvalidData, match="unknown consent channel 'fax'"):
            record_consent(session, first, "fax", granted=True)


def test_import_leaves_out_the_channels_a_customer_refused_or_never_agreed_to(
    engine: Engine, customers: list[int], tmp_path: Path,
) -> None:
    refuses_sms, refuses_all, agreed_sms, silent = customers
    with db.transaction(db.session_factory(engine)) as session:
        record_consent(session, refuses_sms, "sms", granted=False, at=NOW)
        record_consent(session, refuses_all, "all", granted=False, at=NOW)
        record_consent(session, agreed_sms, "sms", granted=True, at=NOW)
        dnc.add(session, ["+1 415 555 0104"], reason="asked", now=NOW)
    with db.transaction(db.session_factory(engine)) as session:
        report = import_plan(session, _plan(tmp_path, customers, consent_required=["sms"]), now=NOW)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (1, "the customer refused marketing by sms: no sms work item (other channels loaded)"),
        (2, "the customer refused marketing by outbound call; the customer refused marketing by inbound offer; "
            "the customer refused marketing by sms"),
        (4, "+14155550104 is on the do-not-call list: no outbound_call work item (other channels loaded)"),
        (4, "no consent on record for sms (the campaign requires it): no sms work item (other channels loaded)"),
    ]
    assert _channels(engine) == {
        (refuses_sms, "outbound_call"), (refuses_sms, "inbound_offer"),
        (agreed_sms, "outbound_call"), (agreed_sms, "inbound_offer"), (agreed_sms, "sms"),
        (silent, "inbound_offer"),
    }


def test_a_refusal_after_import_stops_the_dialer_the_preview_and_the_offers_at_once(
    engine: Engine, customers: list[int], tmp_path: Path,
) -> None:
    customer = customers[0]
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        import_plan(session, _plan(tmp_path, [customer]), now=NOW)
    with factory() as session:
        assert repository.next_preview_item(session, agent_id=None, now=NOW) is not None
        assert [o.channel for o in repository.customer_360(session, customer, now=NOW).offers] == [
            "inbound_offer"], "one row per campaign: its inbound offer"
        campaign = repository.dialer_campaigns(session, now=NOW)[0]
        rules = read_rules(campaign.rules, campaign.calling_hours)
        [candidate] = repository.dial_candidates(session, campaign.campaign_id, now=NOW)
        assert decide(candidate.state(), candidate.time_zone, rules, NOW, do_not_call=candidate.do_not_call).eligible
    with db.transaction(factory) as session:
        record_consent(session, customer, "outbound_call", granted=False, source="wrap-up", at=NOW)
        record_consent(session, customer, "inbound_offer", granted=False, source="wrap-up", at=NOW)
    with factory() as session:
        assert repository.next_preview_item(session, agent_id=None, now=NOW) is None
        assert repository.customer_360(session, customer, now=NOW).offers == ()
        [candidate] = repository.dial_candidates(session, campaign.campaign_id, now=NOW)
        verdict = decide(candidate.state(), candidate.time_zone, rules, NOW, do_not_call=candidate.do_not_call)
        assert (verdict.rule, candidate.consent) == (Rule.CONSENT, ConsentState.REFUSED)


def test_a_number_listed_after_import_is_refused_by_the_dialer_and_the_preview(
    engine: Engine, customers: list[int], tmp_path: Path,
) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        import_plan(session, _plan(tmp_path, customers[:1]), now=NOW)
    with db.transaction(factory) as session:
        dnc.add(session, ["+1 415 555 0101"], source="wrap-up", now=NOW)
    with factory() as session:
        assert repository.next_preview_item(session, agent_id=None, now=NOW) is None
        campaign = repository.dialer_campaigns(session, now=NOW)[0]
        [candidate] = repository.dial_candidates(session, campaign.campaign_id, now=NOW)
        rules = read_rules(campaign.rules, campaign.calling_hours)
        assert candidate.do_not_call
        assert decide(candidate.state(), candidate.time_zone, rules, NOW,
                      do_not_call=candidate.do_not_call).rule is Rule.DO_NOT_CALL
        # the customer may still hear the offer when they call in
        assert [o.channel for o in repository.customer_360(session, customers[0], now=NOW).offers] == [
            "inbound_offer"]


def test_a_do_not_call_request_is_saved_with_its_contact_as_far_as_it_can_be(
    engine: Engine, customers: list[int],
) -> None:
    from crm.repository import ContactRecord

    factory = db.session_factory(engine)
    record = ContactRecord(client_ref="r1", channel=repository.Channel.VOICE_IN, started_at=NOW, ended_at=NOW,
                           disposition="resolved", customer_id=customers[1], agent_id=None,
                           callback_phone="+86 138 0013 8000", do_not_call=True)
    withheld = ContactRecord(client_ref="r2", channel=repository.Channel.VOICE_IN, started_at=NOW, ended_at=NOW,
                             disposition="resolved", callback_phone="anonymous", do_not_call=True)
    with db.transaction(factory) as session:
        repository.save_contact(session, record)
        repository.save_contact(session, withheld)  # nothing to list: saved all the same
        repository.save_contact(session, record)  # a retry adds nothing
    with factory() as session:
        assert [(e.e164, e.source, e.reason) for e in dnc.entries(session, now=NOW)] == [
            ("+14155550102", "wrap-up", "asked on a call"), ("+8613800138000", "wrap-up", "asked on a call")]
        assert consent_state(session, customers[1], "outbound_call") is ConsentState.REFUSED
        assert consent_state(session, customers[1], "inbound_offer") is ConsentState.UNKNOWN


def test_consent_recorded_from_the_command_line_stops_the_offers_at_once(
    engine: Engine, customers: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from ccenter.cli import main

    customer = customers[0]
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        import_plan(session, _plan(tmp_path, [customer]), now=NOW)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["customer", "consent", str(customer), "--db", url]) == 0
    assert "sms\tunknown" in capsys.readouterr().out.splitlines()
    assert main(["customer", "consent", str(customer), "--refuse", "inbound_offer", "--grant", "sms",
                 "--source", "letter", "--db", url]) == 0
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["inbound_offer"].startswith("refused\t") and lines["inbound_offer"].endswith("\tletter")
    assert lines["sms"].startswith("granted\t") and lines["outbound_call"] == "unknown"
    with factory() as session:
        assert repository.customer_360(session, customer).offers == (), "refused on their own calls"
        assert consent_state(session, customer, "sms") is ConsentState.GRANTED
    assert main(["customer", "consent", str(customer), "--refuse", "fax", "--db", url]) == 1
    assert "unknown consent channel 'fax'" in capsys.readouterr().err
    assert main(["customer", "consent", "999999", "--db", url]) == 1
