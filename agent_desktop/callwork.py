"""What the agent does on each call, without Qt: the work the window shows and the contact it saves.

:class:`CallWork` holds one call's work from its screen pop to its save: the call and its customer,
the IVR (or dialer) data, the campaign work item and offers, the orders and service requests made,
and at wrap-up the agent's answers (disposition, offer result, callback, notes), which it checks and
turns into the :class:`~crm.repository.ContactRecord` the outbox saves. :class:`AgentWork` holds the
work of all the agent's calls: the live ones, the one in wrap-up, the preview call the agent dialled,
and which disposition codes apply. Time comes in as a value; nothing here waits or talks to anything.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.models import Channel
from crm.repository import (
    ContactRecord,
    Customer360,
    OfferResult,
    OfferView,
    OrderLine,
    PreviewItem,
    RequestLine,
)

from .session import AgentCall

logger = logging.getLogger(__name__)

SCHEMA_ID = "ccenter.attached/1"
DEFAULT_CURRENCY = "USD"


def attached_values(data: dict[str, Any]) -> dict[str, Any]:
    """Field name → value, whichever form the attached data came in (``ccenter.attached/1`` or flat)."""
    if data.get("schema") == SCHEMA_ID and isinstance(data.get("fields"), dict):
        return {
            name: entry.get("value") for name, entry in data["fields"].items() if isinstance(entry, dict)
        }
    return {k: v for k, v in data.items() if k != "schema"}


def dialled_item(data: dict[str, Any]) -> int | None:
    """The campaign work item the dialer put on a progressive or predictive call, if any."""
    item = attached_values(data).get("work_item_id")
    return int(item) if isinstance(item, int | str) and str(item).isdigit() else None


class WrapUpProblem(StrEnum):
    """Why the agent's wrap-up answers cannot be saved yet."""

    NO_DISPOSITION = "no_disposition"
    NO_OFFER = "no_offer"  # an offer result, but the call has no campaign work item to record it on
    NO_REASON = "no_reason"  # "not interested" needs a reason
    CALLBACK_PASSED = "callback_passed"
    CALLBACK_UNKNOWN_CUSTOMER = "callback_unknown_customer"
    DO_NOT_CALL_UNKNOWN = "do_not_call_unknown"  # "do not call me", but neither the customer nor a number is known
    DO_NOT_CALL_CALLBACK = "do_not_call_callback"  # "do not call me" and a callback promised


@dataclass(frozen=True, slots=True)
class WrapUpAnswers:
    """What the agent said about the call at wrap-up, as entered (empty texts are None)."""

    disposition: str | None
    offer_result: str | None = None
    offer_reason: str | None = None
    callback_at: datetime | None = None
    notes: str | None = None
    do_not_call: bool = False  # the customer asked not to be called again (every campaign, at once)


@dataclass(frozen=True, slots=True)
class OrderDefaults:
    """What a new order form starts with: the offered product, the customer's currency, the work item."""

    products: tuple[str, ...]
    currency: str
    work_item_id: int | None


@dataclass(frozen=True, slots=True)
class FailedDial:
    """A campaign call that ended before the agent spoke to anyone: its attempt must be recorded."""

    work_item_id: int
    result: str


@dataclass
class CallWork:
    """What the agent did on one call, until it is saved at wrap-up."""

    call: AgentCall
    started_at: datetime
    customer_id: int | None = None
    customer: Customer360 | None = None
    orders: list[OrderLine] = field(default_factory=list)
    requests: list[RequestLine] = field(default_factory=list)
    client_ref: str = field(default_factory=lambda: uuid.uuid4().hex)
    work_item_id: int | None = None  # the campaign work item of an outbound (preview or dialer) call
    campaign_key: str | None = None
    shown_data: dict[str, Any] = field(default_factory=dict)  # what the IVR panel shows for this call
    wanted_customer: int | None = None  # the customer the call names (preview, IVR hand-off), to load

    @classmethod
    def popped(cls, call: AgentCall, started_at: datetime, dialed: PreviewItem | None = None) -> CallWork:
        """The work of a call that just reached the agent; ``dialed`` is the preview call it answers, if any."""
        work = cls(call, started_at)
        if dialed is not None:
            work.work_item_id, work.campaign_key = dialed.work_item_id, dialed.campaign_key
            work.shown_data = {"campaign": dialed.campaign_name, "offer": dialed.offer or ""}
            work.wanted_customer = dialed.customer_id
            return work
        work.shown_data = call.data
        values = attached_values(call.data)
        work.work_item_id = dialled_item(call.data)
        campaign = values.get("campaign_key")
        work.campaign_key = str(campaign) if campaign else None
        customer_id = values.get("customer_id")
        if customer_id not in (None, ""):
            try:
                work.wanted_customer = int(customer_id)
            except (TypeError, ValueError):
                logger.warning("call %s carries a customer id that is not a number: %r", call.call_id, customer_id)
        return work

    @property
    def number(self) -> str | None:
        """The customer's number: the one dialled on an outbound call, the caller's on an inbound one."""
        return self.call.called if self.call.outbound else self.call.calling

    @property
    def intent(self) -> str | None:
        """Why the customer called, as the IVR understood it."""
        intent = attached_values(self.call.data).get("intent")
        return str(intent) if intent else None

    def call_changed(self, call: AgentCall) -> None:
        """The call changed (state, or data attached late): a dialer's work item may arrive with the data."""
        self.call = call
        if call.data:
            self.shown_data = call.data
            if self.work_item_id is None:
                self.work_item_id = dialled_item(call.data)

    def link_customer(self, view: Customer360) -> None:
        """The call is about this customer (found by number, chosen, created or relinked by the agent)."""
        self.customer_id, self.customer = view.profile.id, view

    @property
    def offer(self) -> OfferView | None:
        """The campaign offer an order or an offer result on this call belongs to: the first one shown."""
        return self.customer.offers[0] if self.customer is not None and self.customer.offers else None

    @property
    def offer_work_item(self) -> int | None:
        """The work item an offer result is recorded on: the call's own, else the offer's."""
        offer = self.offer
        return self.work_item_id or (offer.work_item_id if offer else None)

    def order_defaults(self) -> OrderDefaults:
        offer = self.offer
        accounts = self.customer.profile.accounts if self.customer is not None else ()
        return OrderDefaults(
            products=(offer.offer,) if offer and offer.offer else (),
            currency=accounts[0].currency if accounts else DEFAULT_CURRENCY,
            work_item_id=offer.work_item_id if offer else None,
        )

    def add_order(self, line: OrderLine) -> None:
        self.orders.append(line)

    def add_request(self, line: RequestLine) -> None:
        self.requests.append(line)

    @property
    def channel(self) -> Channel:
        return Channel.VOICE_OUT if self.call.outbound or self.work_item_id is not None else Channel.VOICE_IN

    def problem(self, answers: WrapUpAnswers, now: datetime) -> WrapUpProblem | None:
        """Why these answers cannot be saved, or None when they can."""
        if not answers.disposition:
            return WrapUpProblem.NO_DISPOSITION
        if answers.offer_result and self.offer_work_item is None:
            return WrapUpProblem.NO_OFFER
        if answers.offer_result == "not_interested" and not answers.offer_reason:
            return WrapUpProblem.NO_REASON
        if answers.callback_at is not None:
            if answers.callback_at <= now:
                return WrapUpProblem.CALLBACK_PASSED
            if self.customer_id is None:
                return WrapUpProblem.CALLBACK_UNKNOWN_CUSTOMER
        if answers.do_not_call:
            if answers.callback_at is not None:
                return WrapUpProblem.DO_NOT_CALL_CALLBACK
            if self.customer_id is None and not self.number:
                return WrapUpProblem.DO_NOT_CALL_UNKNOWN
        return None

    def record(self, answers: WrapUpAnswers, *, agent_id: int | None, ended_at: datetime) -> ContactRecord:
        """The contact to save: everything done on the call with the agent's answers (checked first)."""
        problem = self.problem(answers, ended_at)
        if problem is not None or not answers.disposition:
            raise ValueError(f"the wrap-up cannot be saved: {problem}")
        item_id = self.offer_work_item
        offers: tuple[OfferResult, ...] = ()
        if answers.offer_result and item_id is not None:
            offers = (OfferResult(item_id, answers.offer_result, answers.offer_reason),)
        return ContactRecord(
            client_ref=self.client_ref,
            channel=self.channel,
            started_at=self.started_at,
            ended_at=ended_at,
            disposition=answers.disposition,
            customer_id=self.customer_id,
            agent_id=agent_id,
            queue=self.call.queue,
            cti_call_id=self.call.call_id,
            ivr_data=dict(self.call.data),
            notes=answers.notes,
            orders=tuple(self.orders),
            requests=tuple(self.requests),
            offer_results=offers,
            work_item_id=self.work_item_id,
            # The agent's own preview dial is recorded here; the dialer records the calls it placed.
            dial_result="answered" if self.work_item_id is not None and self.call.outbound else None,
            callback_at=answers.callback_at,
            callback_phone=self.number or None,
            do_not_call=answers.do_not_call,
        )


class AgentWork:
    """The work of all the agent's calls: live ones by call id, the one in wrap-up, the dialled preview."""

    def __init__(self, dispositions: tuple[str, ...]) -> None:
        self.dispositions = dispositions  # the desktop's own codes, when neither campaign nor queue has any
        self.live: dict[str, CallWork] = {}
        self.wrap_up: CallWork | None = None
        self.dialed_preview: PreviewItem | None = None
        self.queue_dispositions: dict[str, tuple[str, ...]] = {}
        self.campaign_dispositions: dict[str, tuple[str, ...]] = {}

    def popped(self, call: AgentCall, now: datetime) -> CallWork:
        """A call reached the agent: its work starts (with the preview it answers, when it is that call)."""
        dialed = self.dialed_preview
        if call.outbound and dialed is not None and call.called == dialed.phone:
            self.dialed_preview = None
        else:
            dialed = None
        work = CallWork.popped(call, now, dialed)
        self.live[call.call_id] = work
        return work

    def changed(self, call: AgentCall) -> CallWork | None:
        work = self.live.get(call.call_id)
        if work is not None:
            work.call_changed(call)
        return work

    def ended(self, call: AgentCall, cause: str | None, handled: bool) -> FailedDial | None:
        """The call left the agent: a handled one goes to wrap-up; an unanswered campaign call is a failed dial."""
        work = self.live.pop(call.call_id, None)
        if work is None:
            return None
        if handled:
            work.call = call
            self.wrap_up = work
        elif work.work_item_id is not None:
            return FailedDial(work.work_item_id, cause or "failed")
        return None

    def for_call(self, call_id: str) -> CallWork | None:
        """The work of a live call, or of the call in wrap-up."""
        work = self.live.get(call_id)
        if work is None and self.wrap_up is not None and self.wrap_up.call.call_id == call_id:
            return self.wrap_up
        return work

    def current(self, primary: AgentCall | None) -> CallWork | None:
        """What the agent works on now: the primary live call's work, else the call in wrap-up."""
        if primary is not None and primary.call_id in self.live:
            return self.live[primary.call_id]
        return self.wrap_up

    def wrap_up_dispositions(self, queue: str | None) -> tuple[str, ...]:
        """The codes to wrap up with: the campaign's own first, then the queue's, then the desktop's."""
        campaign = self.wrap_up.campaign_key if self.wrap_up is not None else None
        return self.campaign_dispositions.get(campaign or "") or self.queue_dispositions.get(
            queue or "", self.dispositions)

    def saved(self) -> None:
        """The contact in wrap-up is saved (or kept for later by the outbox): the agent is free."""
        self.wrap_up = None
