"""One table of labels for every code the desktop shows: channels, dispositions, call results, statuses.

Codes (``voice_in``, ``no_answer``, ``offer_callback``…) are what the data and the bus carry; people
see :func:`label`, translated (English, Simplified Chinese) under the ``Labels`` context. The agent
workstation and the supervisor window both read this table, so a code is named the same everywhere.

A code the table does not know (a campaign's own disposition, a status a later version adds) is shown
made readable (``callback_later`` → "Callback later"), untranslated: data from files is never guessed at.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

__all__ = ["CONTEXT", "Kind", "codes", "known", "label", "readable"]

CONTEXT = "Labels"


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
        "reserved": QT_TRANSLATE_NOOP("Labels", "Reserved"),
        "busy": QT_TRANSLATE_NOOP("Labels", "On a call"),
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
