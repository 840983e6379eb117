"""``ccenter api`` on loopback: tokens and scopes, status reports, BI, communications, the desk."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import db, repository
from crm.models import ApiToken, Contact
from crm.workflows import Subject
from tests.api.conftest import Api

PLAN = json.loads((Path(__file__).resolve().parents[2] / "resources" / "campaigns" / "fiber-cn-plan.json")
                  .read_text(encoding="utf-8"))


def test_no_token_a_wrong_token_and_a_wrong_scope_are_refused(api: Api) -> None:
    assert api.session.get(f"{api.url}/v1/campaigns", timeout=10).status_code == 401
    wrong = api.session.get(f"{api.url}/v1/campaigns", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert api.get("/v1/campaigns", "billing").status_code == 403  # billing may not read BI's campaigns
    assert api.get("/v1/campaigns", "ann").status_code == 403  # nor may an agent
    assert api.get(f"/v1/desk/customers/{api.customers['standard']}", "bi").status_code == 403
    assert api.get("/v1/campaigns", "bi").status_code == 200


def test_tokens_are_stored_hashed_only(api: Api) -> None:
    with db.session_factory(api.engine)() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert api.tokens["boss"] not in stored
    assert repository_hash(api.tokens["boss"]) in stored


def repository_hash(token: str) -> str:
    from crm.repository.tokens import hash_token

    return hash_token(token)


def test_a_wrong_password_gets_no_token(api: Api) -> None:
    answer = api.session.post(f"{api.url}/v1/auth/login", json={"login": "ann", "password": "guess"}, timeout=10)
    assert answer.status_code == 401
    assert "token" not in answer.json()


def _bill(api: Api, who: str = "billing", ref: str = "INV-2026-11") -> dict:
    answer = api.post("/v1/communications", who, json={
        "account_number": "ACC-1001", "kind": "bill", "channel": "email", "subject": "Your November bill",
        "body": "Fibre 500 and a roaming day in Hong Kong.", "amount": "88.00", "currency": "CNY",
        "lines": [{"label": "Fibre 500", "amount": "79.00"}, {"label": "Roaming day", "amount": "9.00"}],
        "sent_at": "2026-11-30T08:00:00+08:00", "external_ref": ref})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_posted_bill_appears_in_the_customer_view_with_its_lines_and_once(api: Api) -> None:
    first = _bill(api)
    again = _bill(api)
    assert (again["id"], again["created"]) == (first["id"], False)
    view = api.get(f"/v1/desk/customers/{api.customers['standard']}", "ann").json()
    [bill] = view["communications"]
    assert (bill["subject"], bill["amount"], bill["body"], bill["source"]) == (
        "Your November bill", "88.00", "Fibre 500 and a roaming day in Hong Kong.", "billing")
    assert bill["lines"] == [["Fibre 500", "79.00"], ["Roaming day", "9.00"]]


def test_one_system_cannot_read_another_systems_communications(api: Api) -> None:
    posted = _bill(api)
    assert api.get(f"/v1/communications/{posted['id']}", "billing").json()["external_ref"] == "INV-2026-11"
    assert api.get(f"/v1/communications/{posted['id']}", "sms").status_code == 404
    assert api.get(f"/v1/communications/{posted['id']}", "bi").status_code == 403


def test_an_agent_cannot_read_customers_outside_their_scope(api: Api) -> None:
    vip = api.customers["vip"]
    assert api.get(f"/v1/desk/customers/{vip}", "ann").status_code == 403
    assert api.get("/v1/desk/customers/by-phone/+14155550199", "ann").json() == []
    assert api.get("/v1/desk/customers", "ann", params={"q": "Grace"}).json() == []
    assert api.get(f"/v1/desk/customers/{vip}", "vera").json()["profile"]["name"] == "Grace Hopper"
    assert [c["name"] for c in api.get("/v1/desk/customers/by-phone/+14155550199", "vera").json()] == ["Grace Hopper"]


def _contact(api: Api, who: str = "ann", *, orders: list | None = None, ref: str = "c-1") -> dict:
    record = {"client_ref": ref, "channel": "voice_in", "started_at": "2026-12-01T09:00:00+00:00",
              "ended_at": "2026-12-01T09:05:00+00:00", "disposition": "order_placed",
              "customer_id": api.customers["standard"], "agent_id": 999, "notes": "wants fibre",
              "orders": orders or [{"product": "FIBRE-500", "amount": "39.90"}],
              "requests": [{"category": "billing", "summary": "November bill too high"}]}
    answer = api.post("/v1/desk/contacts", who, json=record)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_contact_saved_through_the_api_is_the_token_agents_and_idempotent(api: Api) -> None:
    saved = _contact(api)
    again = _contact(api)
    assert again["contact_id"] == saved["contact_id"] and again["already_saved"] is True
    with db.session_factory(api.engine)() as s:
        contact = s.get(Contact, saved["contact_id"])
        assert contact is not None and contact.agent is not None and contact.agent.login == "ann"
    vip_record = {"client_ref": "c-vip", "channel": "voice_in", "started_at": "2026-12-01T09:00:00Z",
                  "ended_at": "2026-12-01T09:01:00Z", "disposition": "resolved", "customer_id": api.customers["vip"]}
    assert api.post("/v1/desk/contacts", "ann", json=vip_record).status_code == 403
    naive = {**vip_record, "client_ref": "c-naive", "customer_id": api.customers["standard"],
             "started_at": "2026-12-01T09:00:00"}
    assert api.post("/v1/desk/contacts", "ann", json=naive).status_code == 422


def test_status_from_the_back_end_moves_the_order_and_the_desk_sees_state_history_and_next_steps(api: Api) -> None:
    saved = _contact(api)
    [order_id] = saved["order_ids"]
    moved = api.post("/v1/status", "boss", json={"subject": "order", "id": order_id, "state": "installed"})
    assert moved.json() == {"subject": "order", "id": order_id, "state": "installed", "status": "in_progress"}
    by_agent = api.post("/v1/status", "ann", json={"subject": "order", "id": order_id, "state": "failed"})
    assert by_agent.status_code == 403
    refused = api.post("/v1/status", "boss", json={"subject": "order", "id": order_id, "state": "submitted"})
    assert refused.status_code == 409
    workflow = api.get(f"/v1/desk/order/{order_id}/workflow", "ann").json()
    assert [(h["actor"], h["actor_name"], h["to_state"]) for h in workflow["history"]] == [
        ("agent", "ann", "submitted"), ("system", "boss", "credit_check"), ("system", "boss", "provisioning"),
        ("system", "boss", "installed")]
    assert [s["transition"] for s in workflow["next_steps"]] == ["complete"]
    done = api.post(f"/v1/desk/order/{order_id}/moves", "ann", json={"transition": "complete"}).json()
    assert (done["state"], done["status"]) == ("completed", "completed")
    [request_id] = saved["request_ids"]
    assert api.post(f"/v1/desk/service_request/{request_id}/moves", "ann",
                    json={"transition": "review"}).status_code == 409  # back office only


def test_feedback_on_a_bill_links_the_contact_to_it(api: Api) -> None:
    bill = _bill(api)
    saved = _contact(api)
    answer = api.post(f"/v1/desk/communications/{bill['id']}/feedback", "ann", json={"contact_id": saved["contact_id"]})
    assert answer.status_code == 200
    with db.session_factory(api.engine)() as s:
        contact = s.get(Contact, saved["contact_id"])
        assert contact is not None and contact.communication_id == bill["id"]


def test_bi_drops_a_plan_and_fetches_the_same_results_as_the_campaign_file(api: Api, tmp_path: Path) -> None:
    plan = {**PLAN, "targets": [{"phone": "+14155550101", "offer": "FIBRE-500"},
                                {"phone": "+14155550123", "offer": "FIBRE-500", "name": "New Prospect"}]}
    report = api.post("/v1/campaigns/plans", "bi", json=plan).json()
    key = report["campaigns"][0]
    assert report["work_items_created"] == 2 * len(PLAN["channels"])  # one per target and channel
    assert [c["campaign_key"] for c in api.get("/v1/campaigns", "bi").json()] == [key]
    fetched = api.get(f"/v1/campaigns/{key}/results", "bi")
    assert fetched.headers["content-type"].startswith("text/csv")
    from crm.campaigns.results import export_results

    with db.session_factory(api.engine)() as s:
        export_results(s, key, tmp_path / "results.csv")
    assert fetched.content == (tmp_path / "results.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(fetched.content.decode("utf-8-sig"))))
    assert len(rows) == report["work_items_created"]
    assert {r["phone"] for r in rows} == {"+14155550101", "+14155550123"}
    assert api.get("/v1/campaigns/NOPE/results", "bi").status_code == 404
    bad = api.post("/v1/campaigns/plans", "bi", json={"campaign_id": ""})
    assert bad.status_code == 422


@pytest.mark.parametrize("subject", [Subject.ORDER])
def test_status_by_the_back_ends_reference(api: Api, subject: Subject) -> None:
    [order_id] = _contact(api)["order_ids"]
    with db.transaction(db.session_factory(api.engine)) as s:
        messages = repository.pending_messages(s)
        repository.workflows.mark_delivered(s, messages[0].id, external_ref="ORD-77")
    answer = api.post("/v1/status", "boss", json={"subject": subject.value, "reference": "ORD-77",
                                                  "state": "credit_check"})
    assert answer.json()["id"] == order_id
    assert api.post("/v1/status", "boss", json={"subject": "order", "reference": "ORD-0",
                                                "state": "credit_check"}).status_code == 404


def test_the_back_office_moves_as_itself_and_lists_what_is_overdue(api: Api) -> None:
    saved = _contact(api)
    [request_id] = saved["request_ids"]  # a billing dispute: only the back office reviews it
    moved = api.post(f"/v1/backoffice/service_request/{request_id}/moves", "backoffice",
                     json={"transition": "review", "by": "li.wei"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["history"][-1]["actor"] == "back_office"
    assert moved.json()["history"][-1]["actor_name"] == "backoffice:li.wei"
    refused = api.post(f"/v1/backoffice/service_request/{request_id}/moves", "backoffice",
                       json={"transition": "credit", "by": "li.wei"})
    assert refused.status_code == 409 and "needs credit_amount" in refused.json()["detail"]
    assert api.post(f"/v1/backoffice/service_request/{request_id}/moves", "ann",
                    json={"transition": "credit", "by": "x", "fields": {"credit_amount": 5}}).status_code == 403
    assert api.get("/v1/backoffice/overdue", "backoffice").json() == []  # nothing late yet


def test_bi_drops_a_target_list_for_a_planned_campaign_and_bad_rows_are_reported(api: Api) -> None:
    plan = {**PLAN, "targets": [{"phone": "+14155550101", "offer": "FIBRE-500"}]}
    key = api.post("/v1/campaigns/plans", "bi", json=plan).json()["campaigns"][0]
    body = (f"campaign_id,phone,offer\n{key},+14155550123,FIBRE-500\n{key},not a phone,FIBRE-500\n"
            f"NOPE,+14155550124,FIBRE-500\n").encode()
    answer = api.session.post(f"{api.url}/v1/campaigns/targets", data=body, timeout=10,
                              headers={**api.headers("bi"), "Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["work_items_created"] == len(PLAN["channels"])
    assert sorted(r["line"] for r in report["rejects"]) == [3, 4]
    assert api.post("/v1/campaigns/targets", "billing", data=body).status_code == 403
