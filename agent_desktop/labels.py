"""One table of labels for every code the desktop shows: channels, dispositions, call results, statuses.

Codes (``voice_in``, ``no_answer``, ``offer_callback``…) are what the data and the bus carry; people
see :func:`label`, translated (English, Simplified Chinese) under the ``Labels`` context. The agent
workstation and the supervisor window both read this table, so a code is named the same everywhere.

A code the table does not know (a campaign's own disposition, a status a later version adds) is shown
made readable (``callback_later`` → "Callback later"), untranslated: data from files is never guessed at.

The supervisor window's helpers live here too (:func:`state_label`, :func:`reason_label`,
:func:`action_label`), over the same table; :func:`explanation_text` turns the ACD's structured reasons
(:class:`bus.messages.ExplainAnswer`) into sentences in the window's language (context
``SupervisorLabels``), the ACD's own English sentence being the fallback for a reason it cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

__all__ = ["CONTEXT", "SENTENCES", "Kind", "action_label", "codes", "explanation_text", "known", "label", "readable",
           "reason_label", "state_label", "tr"]

CONTEXT = "Labels"
#: The supervisor window's sentences (explanations, chart titles) built around these labels.
SENTENCES = "SupervisorLabels"


class Kind(StrEnum):
    """The families of codes; the same code may mean different things in two of them."""

    CHANNEL = "channel"
    DISPOSITION = "disposition"
    RESULT = "result"  # a campaign attempt's result, as the preview shows the last attempts
    END_CAUSE = "end_cause"  # why a call ended (call.ended's cause)
    CALL_PHASE = "call_phase"
    AGENT_STATE = "agent_state"
    NOT_READY_REASON = "not_ready_reason"
    ORDER_STATUS = "order_status"
    REQUEST_STATUS = "request_status"
    ACCOUNT_STATUS = "account_status"
    CATEGORY = "category"
    PRIORITY = "priority"
    TIER = "tier"
    SOURCE = "source"  # who set an attached value: ivr, system, agent
    DIAL_MODE = "dial_mode"
    INTENT = "intent"
    COMMUNICATION = "communication"  # the kind of a communication sent to the customer
    WORK_ITEM_STATUS = "work_item_status"
    CAMPAIGN_STATUS = "campaign_status"
    LANGUAGE = "language"  # the caller's language, as the IVR heard it
    IDENTIFIED_BY = "identified_by"  # how the IVR identified the caller
    SEGMENT = "segment"  # the customer's market segment
    COMMAND = "command"  # a telephony command the desktop gave (in "… failed" messages)
    SUPERVISOR_ACTION = "supervisor_action"  # what a supervisor did to an agent, a queue or a campaign
    EXPLAIN_STEP = "explain_step"  # what the ACD does next with a waiting call
    WORKFLOW = "workflow"  # an order's or a service request's workflow (resources/workflows/*.yaml)
    MENU_CHOICE = "menu_choice"  # an IVR menu option the caller chose (the label of a flow's option)
    WORKFLOW_STATE = "workflow_state"  # where an order or a service request is in its workflow
    WORKFLOW_STEP = "workflow_step"  # a workflow's transition, as a step someone takes
    WORKFLOW_FIELD = "workflow_field"  # a field a step requires
    ACTOR = "actor"  # who moved an item: an agent, the back office, a system
    DELIVERY = "delivery"  # whether the system of record has heard of an item
    PRODUCT_KIND = "product_kind"  # what a customer holds, from the order system


#: Code -> English text, marked for lupdate (QT_TRANSLATE_NOOP returns its text; typed ``object``).
_TABLE: dict[Kind, dict[str, object]] = {
    Kind.CHANNEL: {
        "voice_in": QT_TRANSLATE_NOOP("Labels", "Inbound call"),
        "voice_out": QT_TRANSLATE_NOOP("Labels", "Outbound call"),
        "email": QT_TRANSLATE_NOOP("Labels", "Email"),
        "sms": QT_TRANSLATE_NOOP("Labels", "SMS"),
        "chat": QT_TRANSLATE_NOOP("Labels", "Chat"),
        "web": QT_TRANSLATE_NOOP("Labels", "Web"),
        "store": QT_TRANSLATE_NOOP("Labels", "Store"),
        "letter": QT_TRANSLATE_NOOP("Labels", "Letter"),
        "voice": QT_TRANSLATE_NOOP("Labels", "Phone"),
        "inbound_offer": QT_TRANSLATE_NOOP("Labels", "Offered on inbound calls"),
        "outbound_call": QT_TRANSLATE_NOOP("Labels", "Outbound call"),
        "post": QT_TRANSLATE_NOOP("Labels", "Post"),
        "app": QT_TRANSLATE_NOOP("Labels", "App"),
        "phone": QT_TRANSLATE_NOOP("Labels", "Phone"),
    },
    Kind.DISPOSITION: {
        "resolved": QT_TRANSLATE_NOOP("Labels", "Resolved"),
        "order_placed": QT_TRANSLATE_NOOP("Labels", "Order placed"),
        "info_given": QT_TRANSLATE_NOOP("Labels", "Info given"),
        "escalated": QT_TRANSLATE_NOOP("Labels", "Escalated"),
        "callback_scheduled": QT_TRANSLATE_NOOP("Labels", "Callback scheduled"),
        "wrong_number": QT_TRANSLATE_NOOP("Labels", "Wrong number"),
        "sale": QT_TRANSLATE_NOOP("Labels", "Sale"),
        "no_sale": QT_TRANSLATE_NOOP("Labels", "No sale"),
        "not_interested": QT_TRANSLATE_NOOP("Labels", "Not interested"),
        "callback": QT_TRANSLATE_NOOP("Labels", "Call back later"),
        "answering_machine": QT_TRANSLATE_NOOP("Labels", "Answering machine"),
        "do_not_call": QT_TRANSLATE_NOOP("Labels", "Do not call"),
        "complaint": QT_TRANSLATE_NOOP("Labels", "Complaint"),
        "transferred": QT_TRANSLATE_NOOP("Labels", "Transferred"),
        "technician_booked": QT_TRANSLATE_NOOP("Labels", "Technician booked"),
        "payment_arranged": QT_TRANSLATE_NOOP("Labels", "Payment arranged"),
        "retained": QT_TRANSLATE_NOOP("Labels", "Customer kept"),
        "cancelled": QT_TRANSLATE_NOOP("Labels", "Cancelled"),
    },
    Kind.RESULT: {
        "answered": QT_TRANSLATE_NOOP("Labels", "Answered"),
        "dial_answered": QT_TRANSLATE_NOOP("Labels", "Answered"),
        "busy": QT_TRANSLATE_NOOP("Labels", "Busy line"),
        "no_answer": QT_TRANSLATE_NOOP("Labels", "No answer"),
        "answering_machine": QT_TRANSLATE_NOOP("Labels", "Answering machine"),
        "failed": QT_TRANSLATE_NOOP("Labels", "Call failed"),
        "abandoned": QT_TRANSLATE_NOOP("Labels", "Abandoned"),
        "skipped": QT_TRANSLATE_NOOP("Labels", "Skipped"),
        "scheduled": QT_TRANSLATE_NOOP("Labels", "Scheduled"),
        "offer_accepted": QT_TRANSLATE_NOOP("Labels", "Offer accepted"),
        "offer_declined": QT_TRANSLATE_NOOP("Labels", "Offer declined"),
        "offer_callback": QT_TRANSLATE_NOOP("Labels", "Call back later"),
        "offer_not_interested": QT_TRANSLATE_NOOP("Labels", "Not interested"),
        "offer_made": QT_TRANSLATE_NOOP("Labels", "Offer made"),
        "do_not_call": QT_TRANSLATE_NOOP("Labels", "Do not call"),
    },
    Kind.END_CAUSE: {
        "normal": QT_TRANSLATE_NOOP("Labels", "normal"),
        "answered": QT_TRANSLATE_NOOP("Labels", "normal"),
        "hangup": QT_TRANSLATE_NOOP("Labels", "hung up"),
        "busy": QT_TRANSLATE_NOOP("Labels", "line busy"),
        "no_answer": QT_TRANSLATE_NOOP("Labels", "no answer"),
        "answering_machine": QT_TRANSLATE_NOOP("Labels", "answering machine"),
        "failed": QT_TRANSLATE_NOOP("Labels", "the call could not be placed"),
        "abandoned": QT_TRANSLATE_NOOP("Labels", "the caller hung up"),
        "rejected": QT_TRANSLATE_NOOP("Labels", "rejected"),
        "transferred": QT_TRANSLATE_NOOP("Labels", "transferred"),
        "merged": QT_TRANSLATE_NOOP("Labels", "joined to a conference"),
        "withdrawn": QT_TRANSLATE_NOOP("Labels", "taken back by the queue"),
        "ended while the link was down": QT_TRANSLATE_NOOP("Labels", "ended while the link was down"),
    },
    Kind.CALL_PHASE: {
        "ringing": QT_TRANSLATE_NOOP("Labels", "Ringing"),
        "dialing": QT_TRANSLATE_NOOP("Labels", "Calling…"),
        "connected": QT_TRANSLATE_NOOP("Labels", "Connected"),
        "held": QT_TRANSLATE_NOOP("Labels", "On hold"),
    },
    Kind.AGENT_STATE: {
        "logged_off": QT_TRANSLATE_NOOP("Labels", "Logged off"),
        "logged_on": QT_TRANSLATE_NOOP("Labels", "Logged on"),
        "ready": QT_TRANSLATE_NOOP("Labels", "Ready"),
        "not_ready": QT_TRANSLATE_NOOP("Labels", "Not ready"),
        "reserved": QT_TRANSLATE_NOOP("Labels", "Ringing"),  # an offered call rings at the agent
        "busy": QT_TRANSLATE_NOOP("Labels", "On a call"),
        "on_call": QT_TRANSLATE_NOOP("Labels", "On a call"),
        "wrap_up": QT_TRANSLATE_NOOP("Labels", "Wrap-up"),
    },
    Kind.NOT_READY_REASON: {
        "break": QT_TRANSLATE_NOOP("Labels", "Break"),
        "lunch": QT_TRANSLATE_NOOP("Labels", "Lunch"),
        "training": QT_TRANSLATE_NOOP("Labels", "Training"),
        "meeting": QT_TRANSLATE_NOOP("Labels", "Meeting"),
        "coaching": QT_TRANSLATE_NOOP("Labels", "Coaching"),
        "logged on": QT_TRANSLATE_NOOP("Labels", "Just logged on"),
        "after call": QT_TRANSLATE_NOOP("Labels", "After a call"),
        "ring_no_answer": QT_TRANSLATE_NOOP("Labels", "Did not answer an offered call"),
        "dump": QT_TRANSLATE_NOOP("Labels", "Rejected an offered call"),
        "supervisor": QT_TRANSLATE_NOOP("Labels", "Set by a supervisor"),
    },
    Kind.ORDER_STATUS: {
        "open": QT_TRANSLATE_NOOP("Labels", "Open"),
        "submitted": QT_TRANSLATE_NOOP("Labels", "Submitted"),
        "in_progress": QT_TRANSLATE_NOOP("Labels", "In progress"),
        "on_hold": QT_TRANSLATE_NOOP("Labels", "On hold"),
        "completed": QT_TRANSLATE_NOOP("Labels", "Completed"),
        "cancelled": QT_TRANSLATE_NOOP("Labels", "Cancelled"),
        "shipped": QT_TRANSLATE_NOOP("Labels", "Shipped"),
        "delivered": QT_TRANSLATE_NOOP("Labels", "Delivered"),
    },
    Kind.REQUEST_STATUS: {
        "open": QT_TRANSLATE_NOOP("Labels", "Open"),
        "in_progress": QT_TRANSLATE_NOOP("Labels", "In progress"),
        "waiting_customer": QT_TRANSLATE_NOOP("Labels", "Waiting for the customer"),
        "resolved": QT_TRANSLATE_NOOP("Labels", "Resolved"),
        "closed": QT_TRANSLATE_NOOP("Labels", "Closed"),
    },
    Kind.ACCOUNT_STATUS: {
        "active": QT_TRANSLATE_NOOP("Labels", "Active"),
        "suspended": QT_TRANSLATE_NOOP("Labels", "Suspended"),
        "closed": QT_TRANSLATE_NOOP("Labels", "Closed"),
        "overdue": QT_TRANSLATE_NOOP("Labels", "Overdue"),
    },
    Kind.CATEGORY: {
        "billing": QT_TRANSLATE_NOOP("Labels", "Billing"),
        "technical": QT_TRANSLATE_NOOP("Labels", "Technical"),
        "move": QT_TRANSLATE_NOOP("Labels", "Move"),
        "device": QT_TRANSLATE_NOOP("Labels", "Device"),
        "cancellation": QT_TRANSLATE_NOOP("Labels", "Cancellation"),
        "complaint": QT_TRANSLATE_NOOP("Labels", "Complaint"),
        "other": QT_TRANSLATE_NOOP("Labels", "Other"),
    },
    Kind.PRIORITY: {
        "low": QT_TRANSLATE_NOOP("Labels", "Low"),
        "normal": QT_TRANSLATE_NOOP("Labels", "Normal"),
        "high": QT_TRANSLATE_NOOP("Labels", "High"),
        "urgent": QT_TRANSLATE_NOOP("Labels", "Urgent"),
    },
    Kind.TIER: {
        "vip": QT_TRANSLATE_NOOP("Labels", "VIP"),
        "gold": QT_TRANSLATE_NOOP("Labels", "Gold"),
        "standard": QT_TRANSLATE_NOOP("Labels", "Standard"),
        "prospect": QT_TRANSLATE_NOOP("Labels", "Prospect"),
    },
    Kind.SOURCE: {
        "ivr": QT_TRANSLATE_NOOP("Labels", "IVR"),
        "system": QT_TRANSLATE_NOOP("Labels", "System"),
        "agent": QT_TRANSLATE_NOOP("Labels", "Agent"),
    },
    Kind.DIAL_MODE: {
        "preview": QT_TRANSLATE_NOOP("Labels", "Preview"),
        "progressive": QT_TRANSLATE_NOOP("Labels", "Progressive"),
        "predictive": QT_TRANSLATE_NOOP("Labels", "Predictive"),
    },
    Kind.INTENT: {
        "billing": QT_TRANSLATE_NOOP("Labels", "Billing"),
        "fault": QT_TRANSLATE_NOOP("Labels", "Fault"),
        "technical_fault": QT_TRANSLATE_NOOP("Labels", "Technical fault"),  # the shipped flows' intents
        "new_service": QT_TRANSLATE_NOOP("Labels", "New service"),
        "technical": QT_TRANSLATE_NOOP("Labels", "Technical"),
        "sales": QT_TRANSLATE_NOOP("Labels", "Sales"),
        "move": QT_TRANSLATE_NOOP("Labels", "Move"),
        "cancel": QT_TRANSLATE_NOOP("Labels", "Cancellation"),
        "order_status": QT_TRANSLATE_NOOP("Labels", "Order status"),
        "agent": QT_TRANSLATE_NOOP("Labels", "Asked for an agent"),
        "other": QT_TRANSLATE_NOOP("Labels", "Other"),
    },
    Kind.COMMUNICATION: {
        "bill": QT_TRANSLATE_NOOP("Labels", "Bill"),
        "offer": QT_TRANSLATE_NOOP("Labels", "Offer"),
        "reminder": QT_TRANSLATE_NOOP("Labels", "Reminder"),
        "newsletter": QT_TRANSLATE_NOOP("Labels", "Newsletter"),
        "notice": QT_TRANSLATE_NOOP("Labels", "Notice"),
    },
    Kind.WORK_ITEM_STATUS: {
        "pending": QT_TRANSLATE_NOOP("Labels", "Pending"),
        "in_progress": QT_TRANSLATE_NOOP("Labels", "In progress"),
        "completed": QT_TRANSLATE_NOOP("Labels", "Completed"),
        "failed": QT_TRANSLATE_NOOP("Labels", "Failed"),
        "cancelled": QT_TRANSLATE_NOOP("Labels", "Cancelled"),
    },
    Kind.CAMPAIGN_STATUS: {
        "draft": QT_TRANSLATE_NOOP("Labels", "Draft"),
        "active": QT_TRANSLATE_NOOP("Labels", "Active"),
        "paused": QT_TRANSLATE_NOOP("Labels", "Paused"),
        "finished": QT_TRANSLATE_NOOP("Labels", "Finished"),
    },
    Kind.LANGUAGE: {
        "en": QT_TRANSLATE_NOOP("Labels", "English"),
        "zh": QT_TRANSLATE_NOOP("Labels", "Chinese"),
        "zh-cn": QT_TRANSLATE_NOOP("Labels", "Chinese"),
        "zh_cn": QT_TRANSLATE_NOOP("Labels", "Chinese"),
        "yue": QT_TRANSLATE_NOOP("Labels", "Cantonese"),
        "es": QT_TRANSLATE_NOOP("Labels", "Spanish"),
        "fr": QT_TRANSLATE_NOOP("Labels", "French"),
        "de": QT_TRANSLATE_NOOP("Labels", "German"),
    },
    Kind.MENU_CHOICE: {  # the option labels of the shipped flows (resources/ivr/*.yaml)
        "en": QT_TRANSLATE_NOOP("Labels", "English"),
        "zh": QT_TRANSLATE_NOOP("Labels", "Chinese"),
        "billing": QT_TRANSLATE_NOOP("Labels", "Billing"),
        "fault": QT_TRANSLATE_NOOP("Labels", "Fault"),
        "new_service": QT_TRANSLATE_NOOP("Labels", "New service"),
        "cancel": QT_TRANSLATE_NOOP("Labels", "Cancellation"),
        "order": QT_TRANSLATE_NOOP("Labels", "Order status"),
        "callback": QT_TRANSLATE_NOOP("Labels", "Call me back"),
        "agent": QT_TRANSLATE_NOOP("Labels", "Asked for an agent"),
        "technician": QT_TRANSLATE_NOOP("Labels", "Technician visit"),
        "main_menu": QT_TRANSLATE_NOOP("Labels", "Main menu"),
        "goodbye": QT_TRANSLATE_NOOP("Labels", "Goodbye"),
    },
    Kind.IDENTIFIED_BY: {
        "phone": QT_TRANSLATE_NOOP("Labels", "Calling number"),
        "account": QT_TRANSLATE_NOOP("Labels", "Account number"),
        "rest": QT_TRANSLATE_NOOP("Labels", "Customer system look-up"),
    },
    Kind.SEGMENT: {
        "consumer": QT_TRANSLATE_NOOP("Labels", "Consumer"),
        "smb": QT_TRANSLATE_NOOP("Labels", "Small business"),
        "enterprise": QT_TRANSLATE_NOOP("Labels", "Enterprise"),
        "public": QT_TRANSLATE_NOOP("Labels", "Public sector"),
    },
    Kind.COMMAND: {
        "answer": QT_TRANSLATE_NOOP("Labels", "Answer"),
        "hangup": QT_TRANSLATE_NOOP("Labels", "Hang up"),
        "hold": QT_TRANSLATE_NOOP("Labels", "Hold"),
        "retrieve": QT_TRANSLATE_NOOP("Labels", "Retrieve"),
        "consult": QT_TRANSLATE_NOOP("Labels", "Consult"),
        "blind_transfer": QT_TRANSLATE_NOOP("Labels", "Transfer"),
        "attended_transfer": QT_TRANSLATE_NOOP("Labels", "Complete transfer"),
        "conference": QT_TRANSLATE_NOOP("Labels", "Conference"),
        "send_dtmf": QT_TRANSLATE_NOOP("Labels", "Keypad"),
        "mute": QT_TRANSLATE_NOOP("Labels", "Mute"),
        "make_call": QT_TRANSLATE_NOOP("Labels", "Dial"),
        "set_agent_state": QT_TRANSLATE_NOOP("Labels", "Change of state"),
        "attach_data": QT_TRANSLATE_NOOP("Labels", "Correction of the call's data"),
    },
    Kind.SUPERVISOR_ACTION: {
        "force_not_ready": QT_TRANSLATE_NOOP("Labels", "set not ready"),
        "log_out": QT_TRANSLATE_NOOP("Labels", "log out"),
        "set_skills": QT_TRANSLATE_NOOP("Labels", "change skills"),
        "message_agent": QT_TRANSLATE_NOOP("Labels", "message"),
        "message_team": QT_TRANSLATE_NOOP("Labels", "message the team"),
        "set_queue": QT_TRANSLATE_NOOP("Labels", "change the queue"),
        "pause_campaign": QT_TRANSLATE_NOOP("Labels", "pause the campaign"),
        "resume_campaign": QT_TRANSLATE_NOOP("Labels", "resume the campaign"),
        "set_campaign": QT_TRANSLATE_NOOP("Labels", "change the campaign's pacing"),
        "listen": QT_TRANSLATE_NOOP("Labels", "listen in"),
    },
    Kind.EXPLAIN_STEP: {
        "relax": QT_TRANSLATE_NOOP("Labels", "skills relaxed"),
        "overflow": QT_TRANSLATE_NOOP("Labels", "overflow"),
        "fallback": QT_TRANSLATE_NOOP("Labels", "fallback"),
    },
    Kind.WORKFLOW: {
        "broadband_order": QT_TRANSLATE_NOOP("Labels", "New broadband order"),
        "fault_report": QT_TRANSLATE_NOOP("Labels", "Fault report"),
        "billing_dispute": QT_TRANSLATE_NOOP("Labels", "Billing dispute"),
    },
    # Every state of the shipped workflows (broadband_order, fault_report, billing_dispute).
    Kind.WORKFLOW_STATE: {
        "submitted": QT_TRANSLATE_NOOP("Labels", "Submitted"),
        "credit_check": QT_TRANSLATE_NOOP("Labels", "Credit check"),
        "provisioning": QT_TRANSLATE_NOOP("Labels", "Provisioning"),
        "installed": QT_TRANSLATE_NOOP("Labels", "Installed"),
        "completed": QT_TRANSLATE_NOOP("Labels", "Completed"),
        "failed": QT_TRANSLATE_NOOP("Labels", "Failed"),
        "opened": QT_TRANSLATE_NOOP("Labels", "Opened"),
        "diagnosed": QT_TRANSLATE_NOOP("Labels", "Diagnosed"),
        "field_visit": QT_TRANSLATE_NOOP("Labels", "Technician visit"),
        "resolved": QT_TRANSLATE_NOOP("Labels", "Resolved"),
        "closed": QT_TRANSLATE_NOOP("Labels", "Closed"),
        "under_review": QT_TRANSLATE_NOOP("Labels", "Under review"),
        "credited": QT_TRANSLATE_NOOP("Labels", "Credited"),
        "rejected": QT_TRANSLATE_NOOP("Labels", "Rejected"),
        "escalated": QT_TRANSLATE_NOOP("Labels", "Escalated"),
    },
    # Every transition of the shipped workflows, as the button that takes it reads.
    Kind.WORKFLOW_STEP: {
        "check_credit": QT_TRANSLATE_NOOP("Labels", "Check credit"),
        "approve_credit": QT_TRANSLATE_NOOP("Labels", "Approve credit"),
        "refuse_credit": QT_TRANSLATE_NOOP("Labels", "Refuse credit"),
        "install": QT_TRANSLATE_NOOP("Labels", "Mark installed"),
        "complete": QT_TRANSLATE_NOOP("Labels", "Complete"),
        "fail": QT_TRANSLATE_NOOP("Labels", "Mark failed"),
        "cancel": QT_TRANSLATE_NOOP("Labels", "Cancel the order"),
        "diagnose": QT_TRANSLATE_NOOP("Labels", "Record a diagnosis"),
        "send_technician": QT_TRANSLATE_NOOP("Labels", "Send a technician"),
        "resolve": QT_TRANSLATE_NOOP("Labels", "Resolve"),
        "close": QT_TRANSLATE_NOOP("Labels", "Close"),
        "reopen": QT_TRANSLATE_NOOP("Labels", "Reopen"),
        "review": QT_TRANSLATE_NOOP("Labels", "Start the review"),
        "credit": QT_TRANSLATE_NOOP("Labels", "Credit the customer"),
        "reject": QT_TRANSLATE_NOOP("Labels", "Reject"),
        "escalate": QT_TRANSLATE_NOOP("Labels", "Escalate"),
    },
    Kind.WORKFLOW_FIELD: {
        "reason": QT_TRANSLATE_NOOP("Labels", "Reason"),
        "diagnosis": QT_TRANSLATE_NOOP("Labels", "Diagnosis"),
        "resolution": QT_TRANSLATE_NOOP("Labels", "Resolution"),
        "visit_date": QT_TRANSLATE_NOOP("Labels", "Visit date"),
        "credit_amount": QT_TRANSLATE_NOOP("Labels", "Amount credited"),
        "escalate_to": QT_TRANSLATE_NOOP("Labels", "Told"),
        "assigned_to": QT_TRANSLATE_NOOP("Labels", "Handed to"),
        "priority": QT_TRANSLATE_NOOP("Labels", "Priority"),
    },
    Kind.ACTOR: {
        "agent": QT_TRANSLATE_NOOP("Labels", "Agent"),
        "back_office": QT_TRANSLATE_NOOP("Labels", "Back office"),
        "system": QT_TRANSLATE_NOOP("Labels", "System"),
        "supervisor": QT_TRANSLATE_NOOP("Labels", "Supervisor"),
    },
    Kind.DELIVERY: {
        "pending": QT_TRANSLATE_NOOP("Labels", "Not yet sent to the order system"),
        "delivered": QT_TRANSLATE_NOOP("Labels", "Sent to the order system"),
        "refused": QT_TRANSLATE_NOOP("Labels", "Refused by the order system"),
        "none": QT_TRANSLATE_NOOP("Labels", "Kept here only"),
    },
    Kind.PRODUCT_KIND: {
        "line": QT_TRANSLATE_NOOP("Labels", "Line"),
        "plan": QT_TRANSLATE_NOOP("Labels", "Plan"),
        "device": QT_TRANSLATE_NOOP("Labels", "Device"),
        "service": QT_TRANSLATE_NOOP("Labels", "Service"),
    },
}


def readable(code: str) -> str:
    """A code nobody labelled, made readable: ``callback_later`` → "Callback later"."""
    text = code.strip().replace("_", " ")
    return text[:1].upper() + text[1:]


def codes(kind: Kind | str) -> list[str]:
    """The codes of ``kind`` the table labels, one per label, in the table's order."""
    seen: set[object] = set()
    found = []
    for code, text in _TABLE[Kind(kind)].items():
        if text not in seen:
            seen.add(text)
            found.append(code)
    return found


def known(kind: Kind | str, code: str) -> bool:
    return code.strip().lower() in _TABLE[Kind(kind)]


def label(kind: Kind | str, code: object) -> str:
    """What people see for ``code`` of this kind, in the desktop's language; "" for no code."""
    if code is None:
        return ""
    text = str(getattr(code, "value", code))
    if not text.strip():
        return ""
    table = _TABLE[Kind(kind)]
    source = table.get(text.strip().lower())
    if source is None and Kind(kind) is Kind.LANGUAGE:  # zh-HK, en_GB: the language itself
        source = table.get(text.strip().lower().replace("_", "-").split("-")[0])
    if source is None:
        return readable(text)
    return QCoreApplication.translate(CONTEXT, str(source))


# --- the supervisor window's labels and sentences ---------------------------------------------------


def action_label(action: str) -> str:
    """What a supervisor did, as the supervisor window says it."""
    return label(Kind.SUPERVISOR_ACTION, action)


def tr(text: object) -> str:
    """A sentence of the supervisor window (``SupervisorLabels`` context), in the desktop's language."""
    return QCoreApplication.translate(SENTENCES, str(text))


def state_label(state: str) -> str:
    """An agent state code as people read it (the code itself, made readable, when unknown)."""
    return label(Kind.AGENT_STATE, state)


def reason_label(reason: str | None) -> str:
    """A not-ready reason as people read it; a site's own reason is shown as it came."""
    if not reason:
        return ""
    return label(Kind.NOT_READY_REASON, reason) if known(Kind.NOT_READY_REASON, reason) else reason


def _seconds(value: Any) -> str:
    return f"{float(value):.0f}"


def _agent(data: Mapping[str, Any]) -> str | None:
    agent, status = str(data.get("agent_id", "")), data.get("status")
    if status == "logged_off":
        return tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agent %1 is not logged on.")).replace("%1", agent)
    if status == "not_ready":
        reason = reason_label(data.get("reason")) or tr(QT_TRANSLATE_NOOP("SupervisorLabels", "no reason given"))
        return (tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agent %1 is not ready (%2) for %3 s."))
                .replace("%1", agent).replace("%2", reason).replace("%3", _seconds(data.get("in_state_s", 0))))
    if status == "ready":
        groups = data.get("waiting_groups") or []
        if not groups:
            return tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agent %1 is idle because no call is waiting.")).replace(
                "%1", agent)
        if any(g.get("eligible") for g in groups):
            return tr(QT_TRANSLATE_NOOP(
                "SupervisorLabels", "Agent %1 is ready and eligible for waiting calls; the next event will offer one."
            )).replace("%1", agent)
        lacks = "; ".join(
            tr(QT_TRANSLATE_NOOP("SupervisorLabels", "%1 (%2 waiting) needs %3"))
            .replace("%1", str(g.get("queue"))).replace("%2", str(g.get("calls")))
            .replace("%3", ", ".join(f"{m['skill']} ≥ {m['needed']} ({m['has']})" for m in g.get("missing", [])))
            for g in groups
        )
        return tr(QT_TRANSLATE_NOOP(
            "SupervisorLabels", "Agent %1 is idle while calls wait because it lacks the skills: %2."
        )).replace("%1", agent).replace("%2", lacks)
    if known(Kind.AGENT_STATE, str(status)):
        return (tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agent %1: %2 for %3 s."))
                .replace("%1", agent).replace("%2", state_label(str(status)))
                .replace("%3", _seconds(data.get("in_state_s", 0))))
    return None


def _needs(requirements: Any) -> str:
    alternatives = [" + ".join(f"{skill} ≥ {level}" for skill, level in alt.items())
                    for alt in requirements if isinstance(alt, Mapping)]
    return tr(QT_TRANSLATE_NOOP("SupervisorLabels", " or ")).join(alternatives)




def _waiting_call(data: Mapping[str, Any]) -> str | None:
    if data.get("status") != "queued" or "requirements" not in data:
        return None
    call, needs = str(data.get("call_id")), _needs(data.get("requirements") or [])
    by_state = data.get("eligible_agents") or {}
    if not by_state:
        text = tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Call %1 waits: no logged-on agent has %2.")).replace(
            "%1", call).replace("%2", needs)
    else:
        states = tr(QT_TRANSLATE_NOOP("SupervisorLabels", ", ")).join(
            f"{n} {state_label(str(state))}" for state, n in sorted(by_state.items()))
        text = (tr(QT_TRANSLATE_NOOP(
            "SupervisorLabels",
            "Call %1 waits in %2 for %3 s: it needs %4; the %5 eligible agents are: %6; %7 eligible calls are ahead "
            "of it (effective priority %8)."))
            .replace("%1", call).replace("%2", str(data.get("queue"))).replace("%3", _seconds(data.get("waited_s", 0)))
            .replace("%4", needs).replace("%5", str(sum(by_state.values()))).replace("%6", states)
            .replace("%7", str(data.get("calls_ahead", 0)))
            .replace("%8", f"{float(data.get('effective_priority', 0)):.1f}"))
    steps = [tr(QT_TRANSLATE_NOOP("SupervisorLabels", "%1 in %2 s")).replace(
        "%1", label(Kind.EXPLAIN_STEP, str(step.get("step")))).replace("%2", _seconds(step.get("in_s", 0)))
        for step in data.get("next_steps") or [] if isinstance(step, Mapping)]
    if steps:
        text += " " + tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Next: %1.")).replace(
            "%1", tr(QT_TRANSLATE_NOOP("SupervisorLabels", ", ")).join(steps))
    return text


def _queue(data: Mapping[str, Any]) -> str | None:
    if "call_id" in data:
        return _waiting_call(data)
    if data.get("waiting") == 0 and "offered" in data:
        return (tr(QT_TRANSLATE_NOOP(
            "SupervisorLabels", "No call is waiting in %1: %2 offered, %3 answered, %4 abandoned."))
            .replace("%1", str(data.get("queue"))).replace("%2", str(data.get("offered")))
            .replace("%3", str(data.get("answered"))).replace("%4", str(data.get("abandoned"))))
    return None


def explanation_text(kind: str, reasons: list[dict[str, Any]], english: str) -> str:
    """The ACD's reasons in the window's language; ``english`` (the ACD's sentence) for what is not known."""
    parts: list[str] = []
    for reason in reasons:
        data = reason.get("data") if isinstance(reason, Mapping) else None
        if not isinstance(data, Mapping):
            return english
        text = _agent(data) if kind == "agent" else _queue(data)
        if text is None:
            return english
        parts.append(text)
    return "\n\n".join(parts) if parts else english
