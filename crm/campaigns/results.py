"""Results out for BI (one CSV row per work item or per attempt) and the list of campaigns."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import (
    DEFAULT_SITE,
    Activity,
    Agent,
    Attempt,
    Campaign,
    Contact,
    Order,
    ServiceRequest,
    Task,
    WorkItem,
    WorkItemStatus,
)
from ..repository.decisions import COMPLIANCE_RULES, refusals_by_rule
from .reading import CampaignFileError

#: Work item columns of the results file (the contract names the first ones; more may be added at the end).
RESULT_COLUMNS = ("work_item_id", "campaign_id", "customer_id", "phone", "channel", "status", "result", "reason",
                  "attempts", "last_attempt_at", "agent_id", "order_ids", "service_request_ids", "offer",
                  "priority", "task", "next_attempt_at", "created_at", "order_states",
                  # what BI measures effect and cost with (added at the end: read columns by name)
                  "disposition", "offer_result", "order_count", "order_value", "order_currency", "contacts",
                  "talk_s", "wrap_up_s", *(f"refused_{rule}" for rule in COMPLIANCE_RULES))


ATTEMPT_COLUMNS = ("attempt_id", "work_item_id", "campaign_id", "customer_id", "channel", "started_at", "ended_at",
                   "result", "agent_id", "cti_call_id", "contact_id", "order_ids", "service_request_ids")


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


#: OWASP's rule against CSV injection: a cell that starts with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet will not run as a formula (OWASP: prefix a ``'``)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


_cell = safe_cell


def _campaign(session: Session, campaign_key: str, site: str) -> Campaign:
    """The campaign of ``site`` under ``campaign_key`` (a key is unique within its site only)."""
    campaign = session.scalar(select(Campaign).where(Campaign.site == site, Campaign.campaign_key == campaign_key))
    if campaign is None:
        raise NotFound(f"no campaign {campaign_key!r} at site {site!r}")
    return campaign


def _open_out(file: str | os.PathLike[str] | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(file, str | os.PathLike):
        try:
            return open(file, "w", encoding="utf-8-sig", newline=""), True
        except OSError as exc:
            raise CampaignFileError(f"cannot write {file}: {exc.strerror or exc}") from None
    file.write("\ufeff")
    return file, False


def export_results(session: Session, campaign_key: str, file: str | os.PathLike[str] | IO[str], *,
                   site: str = DEFAULT_SITE,
                   attempts: bool = False) -> int:
    """Write the results of ``site``'s campaign as CSV (UTF-8 with BOM): one row per work item, or with
    ``attempts`` one row per attempt. Returns the number of rows written. Another site's campaign of the
    same key is :class:`~crm.errors.NotFound`."""
    campaign = _campaign(session, campaign_key, site)
    logins = {agent_id: login for agent_id, login in session.execute(select(Agent.id, Agent.login))}
    out, owned = _open_out(file)
    try:
        if attempts:
            return _write_attempts(session, campaign, out, logins)
        return _write_items(session, campaign, out, logins)
    finally:
        if owned:
            out.close()


def _write_items(session: Session, campaign: Campaign, out: IO[str], logins: Mapping[int, str]) -> int:
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    orders: dict[int, list[str]] = {}
    order_states: dict[int, list[str]] = {}
    requests: dict[int, list[str]] = {}
    for item_id, order_id, order_state in session.execute(
        select(Order.work_item_id, Order.id, Order.state).join(WorkItem, WorkItem.id == Order.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
        .order_by(Order.id)
    ):
        orders.setdefault(item_id or 0, []).append(str(order_id))
        order_states.setdefault(item_id or 0, []).append(order_state)
    for item_id, request_id in session.execute(
        select(ServiceRequest.work_item_id, ServiceRequest.id)
        .join(WorkItem, WorkItem.id == ServiceRequest.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
        .order_by(ServiceRequest.id)
    ):
        requests.setdefault(item_id or 0, []).append(str(request_id))
    values: dict[int, list[tuple[Decimal, str]]] = {}
    for item_id, amount, currency in session.execute(
        select(Order.work_item_id, Order.amount, Order.currency).join(WorkItem, WorkItem.id == Order.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
    ):
        values.setdefault(item_id or 0, []).append((Decimal(amount or 0), currency or ""))
    offer_results: dict[int, str] = {}
    for item_id, result in session.execute(
        select(Attempt.work_item_id, Attempt.result).join(WorkItem, WorkItem.id == Attempt.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id)
        .where(Activity.campaign_id == campaign.id, Attempt.result.like("offer\\_%", escape="\\"))
        .order_by(Attempt.started_at, Attempt.id)
    ):
        offer_results[item_id] = result.removeprefix("offer_")  # the last one stands
    contacts: dict[int, list[tuple[str | None, float, float | None]]] = {}
    for item_id, disposition, started, ended, wrap_up in session.execute(
        select(Contact.work_item_id, Contact.disposition, Contact.started_at, Contact.ended_at, Contact.wrap_up_s)
        .join(WorkItem, WorkItem.id == Contact.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
        .order_by(Contact.started_at, Contact.id)
    ):
        seconds = max(0.0, (ended - started).total_seconds()) if ended is not None and started is not None else 0.0
        contacts.setdefault(item_id or 0, []).append((disposition, seconds, wrap_up))
    item_ids = list(session.scalars(select(WorkItem.id).join(Activity, Activity.id == WorkItem.activity_id)
                                    .where(Activity.campaign_id == campaign.id)))
    refused = refusals_by_rule(session, item_ids)
    count = 0
    for item, channel, task_name in session.execute(
        select(WorkItem, Activity.channel, Task.name)
        .join(Activity, Activity.id == WorkItem.activity_id)
        .join(Task, Task.id == WorkItem.task_id)
        .where(Activity.campaign_id == campaign.id)
        .order_by(WorkItem.id)
        .execution_options(yield_per=1000)
    ):
        writer.writerow([
            # The phone is E.164 (a "+" and digits, checked on the way in): BI reads it as written.
            item.id, campaign.campaign_key, item.customer_id, item.phone_e164 or "", channel, item.status.value,
            _cell(item.result), _cell(item.reason), item.attempt_count, _utc(item.last_attempt_at),
            _cell(logins.get(item.agent_id)) if item.agent_id else "", ";".join(orders.get(item.id, ())),
            ";".join(requests.get(item.id, ())), _cell(item.offer), item.priority, _cell(task_name),
            _utc(item.next_attempt_at), _utc(item.created_at), ";".join(order_states.get(item.id, ())),
            *_measures(contacts.get(item.id, ()), values.get(item.id, ()), offer_results.get(item.id)),
            *(refused.get(item.id, {}).get(rule, 0) for rule in COMPLIANCE_RULES),
        ])
        count += 1
    return count


def _measures(contacts: Sequence[tuple[str | None, float, float | None]], orders: Sequence[tuple[Decimal, str]],
              offer_result: str | None) -> list[object]:
    """disposition (the last contact's), offer_result, order_count, order_value, order_currency (``;``
    between several), contacts, talk_s and wrap_up_s (summed over the item's contacts)."""
    disposition = next((d for d, _s, _w in reversed(contacts) if d), None)
    wrap_up = sum(w for _d, _s, w in contacts if w is not None)
    talk = sum(max(0.0, s - (w or 0.0)) for _d, s, w in contacts)
    currencies = sorted({c for _a, c in orders if c})
    return [
        _cell(disposition), _cell(offer_result), len(orders),
        f"{sum((a for a, _c in orders), Decimal('0')):.2f}" if orders else "", ";".join(currencies),
        len(contacts), round(talk) if contacts else "", round(wrap_up) if any(w is not None for *_x, w in contacts)
        else "",
    ]


def _write_attempts(session: Session, campaign: Campaign, out: IO[str], logins: Mapping[int, str]) -> int:
    writer = csv.writer(out)
    writer.writerow(ATTEMPT_COLUMNS)
    made: dict[type[Order] | type[ServiceRequest], dict[int, list[str]]] = {}
    for model in (Order, ServiceRequest):
        by_attempt = made.setdefault(model, {})
        for attempt_id, made_id in session.execute(
            select(model.attempt_id, model.id).join(Attempt, Attempt.id == model.attempt_id)
            .join(WorkItem, WorkItem.id == Attempt.work_item_id)
            .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
            .order_by(model.id)
        ):
            by_attempt.setdefault(attempt_id or 0, []).append(str(made_id))
    count = 0
    for attempt, customer_id, channel in session.execute(
        select(Attempt, WorkItem.customer_id, Activity.channel)
        .join(WorkItem, WorkItem.id == Attempt.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id)
        .where(Activity.campaign_id == campaign.id)
        .order_by(Attempt.started_at, Attempt.id)
        .execution_options(yield_per=1000)
    ):
        writer.writerow([
            attempt.id, attempt.work_item_id, campaign.campaign_key, customer_id, channel, _utc(attempt.started_at),
            _utc(attempt.ended_at), _cell(attempt.result), _cell(logins.get(attempt.agent_id)) if attempt.agent_id
            else "", _cell(attempt.cti_call_id), attempt.contact_id or "", ";".join(made[Order].get(attempt.id, ())),
            ";".join(made[ServiceRequest].get(attempt.id, ())),
        ])
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    campaign_key: str
    name: str
    status: str
    dial_mode: str
    channels: tuple[str, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    work_items: dict[str, int]  # by status


def list_campaigns(session: Session, *, site: str = DEFAULT_SITE) -> list[CampaignSummary]:
    """Every campaign of ``site`` with its channels and its work items counted by status."""
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, status, n in session.execute(
        select(Activity.campaign_id, WorkItem.status, func.count())
        .join(WorkItem, WorkItem.activity_id == Activity.id)
        .join(Campaign, Campaign.id == Activity.campaign_id).where(Campaign.site == site)
        .group_by(Activity.campaign_id, WorkItem.status)
    ):
        counts.setdefault(campaign_id, {})[WorkItemStatus(status).value] = n
    channels: dict[int, list[str]] = {}
    for campaign_id, channel in session.execute(
        select(Activity.campaign_id, Activity.channel)
        .join(Campaign, Campaign.id == Activity.campaign_id).where(Campaign.site == site).order_by(Activity.id)
    ):
        channels.setdefault(campaign_id, []).append(channel)
    return [
        CampaignSummary(c.campaign_key, c.name, c.status.value, c.dial_mode, tuple(channels.get(c.id, ())),
                        c.starts_at, c.ends_at,
                        {s.value: counts.get(c.id, {}).get(s.value, 0) for s in WorkItemStatus})
        for c in session.scalars(select(Campaign).where(Campaign.site == site).order_by(Campaign.campaign_key))
    ]
