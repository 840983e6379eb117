"""The look-ups and writes the rest of the product calls, one module per concern.

Functions take a SQLAlchemy ``Session`` and return plain frozen dataclasses, never ORM objects, so
that results can cross threads (the desktop looks up off the GUI thread) and outlive the session.
Writes happen in the caller's transaction: ``with crm.db.transaction(factory) as s: ...`` commits all
of them or none.

Every public name is importable from here (``from crm import repository``; ``repository.customer_360``)
as well as from its module:

* :mod:`.customers`: finding customers, the 360 view, creating one;
* :mod:`.contacts`: contacts (interactions) and the desktop's whole-contact write;
* :mod:`.orders`: orders and service requests;
* :mod:`.offers`: campaign offers shown to agents on inbound contacts, and their results;
* :mod:`.preview`: outbound preview, skips, agents' dial results and personal callbacks;
* :mod:`.dialing`: the progressive and predictive dialer's campaigns, candidates and attempts;
* :mod:`.campaigns`: campaign settings the desktop reads (disposition codes), dialer calls never
  wrapped up;
* :mod:`.agents`: agents and queues;
* :mod:`.ivr_sessions`: IVR session records and the containment report;
* :mod:`.workflows`: order and service-request workflow states, history and moves, and the outbox
  to the system of record.
"""

from __future__ import annotations

from ..errors import NotFound
from ..models import Channel
from .agents import (
    AgentView,
    QueueView,
    authenticate_agent,
    list_agents,
    list_queues,
)
from .campaigns import (
    CALLBACKS_CAMPAIGN,
    NO_DISPOSITION,
    OFFER_MADE,
    REACHED_RESULTS,
    campaign_dispositions,
    close_undisposed,
)
from .contacts import (
    ContactRecord,
    IvrCorrection,
    OrderLine,
    RequestLine,
    SavedContact,
    close_contact,
    contact_ivr_corrections,
    ivr_corrections,
    record_contact,
    save_contact,
)
from .customers import (
    CONTACT_HISTORY,
    OPEN_ORDER_STATES,
    OPEN_REQUEST_STATES,
    RECENT_COMMUNICATIONS,
    AccountView,
    CommunicationView,
    ContactView,
    Customer360,
    CustomerProfile,
    CustomerSummary,
    check_account_pin,
    count_customers,
    create_customer,
    customer_360,
    find_customer_by_account,
    find_customers_by_phone,
    search_customers,
    verify_account_pin,
)
from .decisions import (
    COMPLIANCE_RULES,
    DECISION_RETENTION,
    CampaignNow,
    DialDecisionRecord,
    campaign_now,
    decisions,
    purge_decisions,
    record_dial_decisions,
    refusals_by_rule,
    why_target,
)
from .dialing import (
    DialCandidate,
    DialerCampaign,
    claim_for_dialing,
    dial_candidates,
    dialer_campaigns,
    record_outbound_attempt,
)
from .ivr_sessions import (
    IVR_EXITS,
    IvrReport,
    IvrSessionRecord,
    ivr_report,
    record_ivr_session,
)
from .messaging import (
    IN_CALL_RETRY,
    MESSAGE_CHANNELS,
    MESSAGE_RESULTS,
    OutboundMessage,
    due_messages,
    record_message,
)
from .offers import (
    CLOSING_RESULTS,
    OFFER_RESULTS,
    SIBLING_CLOSED,
    OfferResult,
    OfferView,
    close_siblings,
    record_offer_result,
)
from .orders import (
    OrderView,
    ServiceRequestView,
    create_order,
    create_service_request,
)
from .preview import (
    CALLBACK_REQUESTED,
    CALLBACK_WITHIN,
    CALLBACKS_QUEUE,
    CALLED_IN,
    SKIP_RETRY,
    AttemptView,
    CallbackLevel,
    PreviewItem,
    callback_service_level,
    close_requested_callbacks,
    next_preview_item,
    record_dial_attempt,
    request_callback,
    schedule_callback,
    schedule_work_item,
    skip_work_item,
    within_calling_hours,
)
from .workflows import (
    SYSTEM_OF_RECORD,
    HistoryEntry,
    NextStep,
    OutboxEntry,
    WorkflowStatus,
    count_pending,
    move,
    overdue_items,
    pending_messages,
    report_state,
    workflow_status,
)

__all__ = [
    "CALLBACKS_CAMPAIGN",
    "CALLBACKS_QUEUE",
    "CALLBACK_REQUESTED",
    "CALLBACK_WITHIN",
    "CALLED_IN",
    "CLOSING_RESULTS",
    "COMPLIANCE_RULES",
    "CONTACT_HISTORY",
    "DECISION_RETENTION",
    "IN_CALL_RETRY",
    "IVR_EXITS",
    "MESSAGE_CHANNELS",
    "MESSAGE_RESULTS",
    "NO_DISPOSITION",
    "OFFER_MADE",
    "OFFER_RESULTS",
    "OPEN_ORDER_STATES",
    "OPEN_REQUEST_STATES",
    "REACHED_RESULTS",
    "RECENT_COMMUNICATIONS",
    "SIBLING_CLOSED",
    "SKIP_RETRY",
    "SYSTEM_OF_RECORD",
    "AccountView",
    "AgentView",
    "AttemptView",
    "CallbackLevel",
    "CampaignNow",
    "Channel",
    "CommunicationView",
    "ContactRecord",
    "ContactView",
    "Customer360",
    "CustomerProfile",
    "CustomerSummary",
    "DialCandidate",
    "DialDecisionRecord",
    "DialerCampaign",
    "HistoryEntry",
    "IvrCorrection",
    "IvrReport",
    "IvrSessionRecord",
    "NextStep",
    "NotFound",
    "OfferResult",
    "OfferView",
    "OrderLine",
    "OrderView",
    "OutboundMessage",
    "OutboxEntry",
    "PreviewItem",
    "QueueView",
    "RequestLine",
    "SavedContact",
    "ServiceRequestView",
    "WorkflowStatus",
    "authenticate_agent",
    "callback_service_level",
    "campaign_dispositions",
    "campaign_now",
    "check_account_pin",
    "claim_for_dialing",
    "close_contact",
    "close_requested_callbacks",
    "close_siblings",
    "close_undisposed",
    "contact_ivr_corrections",
    "count_customers",
    "count_pending",
    "create_customer",
    "create_order",
    "create_service_request",
    "customer_360",
    "decisions",
    "dial_candidates",
    "dialer_campaigns",
    "due_messages",
    "find_customer_by_account",
    "find_customers_by_phone",
    "ivr_corrections",
    "ivr_report",
    "list_agents",
    "list_queues",
    "move",
    "next_preview_item",
    "overdue_items",
    "pending_messages",
    "purge_decisions",
    "record_contact",
    "record_dial_attempt",
    "record_dial_decisions",
    "record_ivr_session",
    "record_message",
    "record_offer_result",
    "record_outbound_attempt",
    "refusals_by_rule",
    "report_state",
    "request_callback",
    "save_contact",
    "schedule_callback",
    "schedule_work_item",
    "search_customers",
    "skip_work_item",
    "verify_account_pin",
    "why_target",
    "within_calling_hours",
    "workflow_status",
]
