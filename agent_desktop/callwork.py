"""What the agent does on each call, without Qt: the work the window shows and the contact it saves.

:class:`CallWork` holds one call's work from its screen pop to its save: the call and its customer,
the IVR (or dialer) data, the campaign work item and offers, the orders and service requests made,
and at wrap-up the agent's answers (disposition, a result per offer shown, callback, notes), which it
checks and turns into the :class:`~crm.repository.ContactRecord` the outbox saves.

Attribution: the work item being worked is the call's own on a dialer or preview call, else the offer
the agent picked (else the one offer the customer accepted); orders and service requests made on the
call belong to it, never to another campaign's offer that happens to be shown first. :class:`AgentWork` holds the
work of all the agent's calls: the live ones, the one in wrap-up, the preview call the agent dialled,
and which disposition codes apply. Time comes in as a value; nothing here waits or talks to anything.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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

from .attached import SCHEMA_ID, attached_values, correction, merge_data
from .session import AgentCall

logger = logging.getLogger(__name__)

DEFAULT_CURRENCY = "USD"


def dialled_item(data: dict[str, Any]) -> int | None:
    """The campaign work item the dialer put on a progressive or predictive call, if any."""
    item = attached_values(data).get("work_item_id")
    return int(item) if isinstance(item, int | str) and str(item).isdigit() else None


class WrapUpProblem(StrEnum):
    """Why the agent's wrap-up answers cannot be saved yet."""

    NO_DISPOSITION = "no_disposition"
    NO_OFFER = "no_offer"  # an offer result, but not for a campaign offer shown on this call
    NO_REASON = "no_reason"  # "not interested" needs a reason
    CALLBACK_PASSED = "callback_passed"
    CALLBACK_UNKNOWN_CUSTOMER = "callback_unknown_customer"
    DO_NOT_CALL_UNKNOWN = "do_not_call_unknown"  # "do not call me", but neither the customer nor a number is known
    DO_NOT_CALL_CALLBACK = "do_not_call_callback"  # "do not call me" and a callback promised


@dataclass(frozen=True, slots=True)
class OfferAnswer:
    """The agent's result for one campaign offer shown on the call (``not_interested`` needs a reason)."""

    work_item_id: int
    result: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WrapUpAnswers:
    """What the agent said about the call at wrap-up, as entered (empty texts are None).

    ``offers`` holds a result per offer shown; ``offer_result`` (with ``offer_reason``) is the result for
    the offer being worked, else the first one shown, when no result names it in ``offers``.
    """

    disposition: str | None
    offer_result: str | None = None
    offer_reason: str | None = None
    callback_at: datetime | None = None
    notes: str | None = None
    offers: tuple[OfferAnswer, ...] = ()
    do_not_call: bool = False  # the customer asked not to be called again (every campaign, at once)


@dataclass(frozen=True, slots=True)
class OfferChoice:
    """A campaign offer the agent can work on the call and record a result for."""

    work_item_id: int
    campaign_key: str | None
    label: str
    product: str | None


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
    picked_offer: int | None = None  # the offer the agent works on an inbound call (its work item)
    corrections: dict[str, Any] = field(default_factory=dict)  # attached fields the agent corrected
    talk_ended_at: datetime | None = None  # when the call ended and wrap-up began

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
        intent = attached_values(self.attached).get("intent")
        return str(intent) if intent else None

    @property
    def attached(self) -> dict[str, Any]:
        """The call's attached data with the agent's corrections: what is shown and saved."""
        if not self.corrections:
            return dict(self.call.data)
        return merge_data(self.call.data, {"schema": SCHEMA_ID, "fields": self.corrections})

    @property
    def panel_data(self) -> dict[str, Any]:
        """What the data panel shows: the dial data of a preview call, else the attached data."""
        return self.attached if self.call.data else self.shown_data

    def correct(self, name: str, text: str, *, agent: str, at: float) -> dict[str, Any] | None:
        """The agent corrects attached field ``name``; returns the document to attach to the call (None
        when nothing changes). Raises :class:`~agent_desktop.attached.CorrectionError`."""
        document = correction(self.attached, name, text, agent=agent, at=at)
        if document is not None:
            self.corrections.update(document["fields"])
        return document

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

    def offer_choices(self) -> tuple[OfferChoice, ...]:
        """The offers shown on this call: the call's own work item first, then the customer's open offers."""
        offers: tuple[OfferView, ...] = self.customer.offers if self.customer is not None else ()
        choices = []
        if self.work_item_id is not None:
            own = next((o for o in offers if o.work_item_id == self.work_item_id), None)
            if own is not None:
                choices.append(_choice(own))
            else:
                values = attached_values(self.shown_data)
                name = values.get("campaign") or self.campaign_key or ""
                product = values.get("offer") or None
                label = " · ".join(str(part) for part in (name, product) if part) or f"#{self.work_item_id}"
                choices.append(OfferChoice(self.work_item_id, self.campaign_key, label,
                                           str(product) if product else None))
        # One row per campaign: the call's own work item stands for its campaign.
        own_campaign: str | None = self.campaign_key if self.work_item_id is not None else None
        choices.extend(_choice(o) for o in offers if o.work_item_id != self.work_item_id
                       and (own_campaign is None or o.campaign_key != own_campaign))
        return tuple(choices)

    def pick_offer(self, work_item_id: int | None) -> None:
        """The agent says which offer the call works on (an inbound call; a campaign call works its own)."""
        if work_item_id is not None and work_item_id not in {c.work_item_id for c in self.offer_choices()}:
            raise ValueError(f"work item {work_item_id} is not an offer shown on this call")
        self.picked_offer = work_item_id

    @property
    def worked_item(self) -> int | None:
        """The work item being worked: the call's own (dialer, preview), else the offer the agent picked."""
        return self.work_item_id if self.work_item_id is not None else self.picked_offer

    @property
    def offer_work_item(self) -> int | None:
        """The work item a result given without naming an offer goes on: the one being worked, else the
        first offer shown (the one the wrap-up shows first)."""
        if self.worked_item is not None:
            return self.worked_item
        choices = self.offer_choices()
        return choices[0].work_item_id if choices else None

    def attributed_item(self, results: dict[int, OfferAnswer] | None = None) -> int | None:
        """The work item orders and requests of this call belong to: the one being worked, else the one
        offer the customer accepted."""
        if self.worked_item is not None:
            return self.worked_item
        accepted = [a.work_item_id for a in (results or {}).values() if a.result == "accepted"]
        return accepted[0] if len(accepted) == 1 else None

    def order_defaults(self) -> OrderDefaults:
        choices = self.offer_choices()
        worked = self.worked_item
        products = [c.product for c in choices if c.work_item_id == worked and c.product]
        products += [c.product for c in choices if c.product and c.product not in products]
        accounts = self.customer.profile.accounts if self.customer is not None else ()
        return OrderDefaults(
            products=tuple(products),
            currency=accounts[0].currency if accounts else DEFAULT_CURRENCY,
            work_item_id=worked,
        )

    def add_order(self, line: OrderLine) -> None:
        self.orders.append(line)

    def add_request(self, line: RequestLine) -> None:
        self.requests.append(line)

    @property
    def channel(self) -> Channel:
        return Channel.VOICE_OUT if self.call.outbound or self.work_item_id is not None else Channel.VOICE_IN

    def offer_results(self, answers: WrapUpAnswers) -> dict[int, OfferAnswer]:
        """The agent's result per work item: those given per offer, and the one given without naming an
        offer on the offer being worked (else the first shown)."""
        results = {a.work_item_id: a for a in answers.offers}
        item = self.offer_work_item
        if answers.offer_result and item is not None and item not in results:
            results[item] = OfferAnswer(item, answers.offer_result, answers.offer_reason)
        return results

    def problem(self, answers: WrapUpAnswers, now: datetime) -> WrapUpProblem | None:
        """Why these answers cannot be saved, or None when they can."""
        if not answers.disposition:
            return WrapUpProblem.NO_DISPOSITION
        if answers.offer_result and self.offer_work_item is None:
            return WrapUpProblem.NO_OFFER
        shown = {c.work_item_id for c in self.offer_choices()}
        if any(a.work_item_id not in shown for a in answers.offers):
            return WrapUpProblem.NO_OFFER
        if any(a.result == "not_interested" and not a.reason for a in self.offer_results(answers).values()):
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
        results = self.offer_results(answers)
        item = self.attributed_item(results)
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
            ivr_data=self.attached,
            notes=answers.notes,
            orders=tuple(o if o.work_item_id is not None else replace(o, work_item_id=item) for o in self.orders),
            requests=tuple(r if r.work_item_id is not None else replace(r, work_item_id=item)
                           for r in self.requests),
            offer_results=tuple(OfferResult(a.work_item_id, a.result, a.reason) for a in results.values()),
            work_item_id=item,
            # The agent's own preview dial is recorded here; the dialer records the calls it placed.
            dial_result="answered" if self.work_item_id is not None and self.call.outbound else None,
            callback_at=answers.callback_at,
            callback_phone=self.number or None,
            do_not_call=answers.do_not_call,
            wrap_up_s=max(0.0, (ended_at - self.talk_ended_at).total_seconds()) if self.talk_ended_at else None,
        )


def _choice(offer: OfferView) -> OfferChoice:
    label = " · ".join(part for part in (offer.campaign_name, offer.offer) if part)
    return OfferChoice(offer.work_item_id, offer.campaign_key, label, offer.offer)


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
            work.talk_ended_at = datetime.now(UTC)
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
