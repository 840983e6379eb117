"""Labels of the codes the supervisor window shows: agent states, not-ready reasons, explanation parts.

Codes (``not_ready``, ``Lunch``, ``ring_no_answer``) are what the bus carries; people see them through
:func:`state_label` and :func:`reason_label`, translated (English, Simplified Chinese) under the
``SupervisorLabels`` context. A reason the table does not know (a site's own not-ready reason) is shown
as it came, as plain text: data is never guessed at.

:func:`explanation_text` turns the ACD's structured reasons (:class:`bus.messages.ExplainAnswer`) into
sentences in the window's language; the ACD's own English sentence is the fallback for a reason this
table cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

__all__ = ["CONTEXT", "action_label", "explanation_text", "reason_label", "state_label", "tr"]

CONTEXT = "SupervisorLabels"

_STATES: dict[str, object] = {
    "logged_off": QT_TRANSLATE_NOOP("SupervisorLabels", "Logged off"),
    "logged_on": QT_TRANSLATE_NOOP("SupervisorLabels", "Logged on"),
    "ready": QT_TRANSLATE_NOOP("SupervisorLabels", "Ready"),
    "not_ready": QT_TRANSLATE_NOOP("SupervisorLabels", "Not ready"),
    "reserved": QT_TRANSLATE_NOOP("SupervisorLabels", "Ringing"),
    "busy": QT_TRANSLATE_NOOP("SupervisorLabels", "On a call"),
    "on_call": QT_TRANSLATE_NOOP("SupervisorLabels", "On a call"),
    "wrap_up": QT_TRANSLATE_NOOP("SupervisorLabels", "Wrap-up"),
}

_REASONS: dict[str, object] = {
    "break": QT_TRANSLATE_NOOP("SupervisorLabels", "Break"),
    "lunch": QT_TRANSLATE_NOOP("SupervisorLabels", "Lunch"),
    "training": QT_TRANSLATE_NOOP("SupervisorLabels", "Training"),
    "meeting": QT_TRANSLATE_NOOP("SupervisorLabels", "Meeting"),
    "coaching": QT_TRANSLATE_NOOP("SupervisorLabels", "Coaching"),
    "logged on": QT_TRANSLATE_NOOP("SupervisorLabels", "Just logged on"),
    "ring_no_answer": QT_TRANSLATE_NOOP("SupervisorLabels", "Did not answer an offered call"),
    "dump": QT_TRANSLATE_NOOP("SupervisorLabels", "Rejected an offered call"),
    "supervisor": QT_TRANSLATE_NOOP("SupervisorLabels", "Set by a supervisor"),
}


_ACTIONS: dict[str, object] = {
    "force_not_ready": QT_TRANSLATE_NOOP("SupervisorLabels", "set not ready"),
    "log_out": QT_TRANSLATE_NOOP("SupervisorLabels", "log out"),
    "set_skills": QT_TRANSLATE_NOOP("SupervisorLabels", "change skills"),
    "message_agent": QT_TRANSLATE_NOOP("SupervisorLabels", "message"),
    "message_team": QT_TRANSLATE_NOOP("SupervisorLabels", "message the team"),
    "set_queue": QT_TRANSLATE_NOOP("SupervisorLabels", "change the queue"),
    "pause_campaign": QT_TRANSLATE_NOOP("SupervisorLabels", "pause the campaign"),
    "resume_campaign": QT_TRANSLATE_NOOP("SupervisorLabels", "resume the campaign"),
    "set_campaign": QT_TRANSLATE_NOOP("SupervisorLabels", "change the campaign's pacing"),
    "listen": QT_TRANSLATE_NOOP("SupervisorLabels", "listen in"),
}


def action_label(action: str) -> str:
    known = _ACTIONS.get(action)
    return tr(known) if known is not None else action.replace("_", " ")


def tr(text: object) -> str:
    return QCoreApplication.translate(CONTEXT, str(text))


def state_label(state: str) -> str:
    """An agent state code as people read it (the code itself, made readable, when unknown)."""
    known = _STATES.get(state)
    return tr(known) if known is not None else state.replace("_", " ")


def reason_label(reason: str | None) -> str:
    """A not-ready reason as people read it; a site's own reason is shown as it came."""
    if not reason:
        return ""
    known = _REASONS.get(reason.strip().lower())
    return tr(known) if known is not None else reason


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
    if status in _STATES:
        return (tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agent %1: %2 for %3 s."))
                .replace("%1", agent).replace("%2", state_label(str(status)))
                .replace("%3", _seconds(data.get("in_state_s", 0))))
    return None


def _needs(requirements: Any) -> str:
    alternatives = [" + ".join(f"{skill} ≥ {level}" for skill, level in alt.items())
                    for alt in requirements if isinstance(alt, Mapping)]
    return tr(QT_TRANSLATE_NOOP("SupervisorLabels", " or ")).join(alternatives)


_STEPS: dict[str, object] = {
    "relax": QT_TRANSLATE_NOOP("SupervisorLabels", "skills relaxed"),
    "overflow": QT_TRANSLATE_NOOP("SupervisorLabels", "overflow"),
    "fallback": QT_TRANSLATE_NOOP("SupervisorLabels", "fallback"),
}


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
        "%1", tr(_STEPS.get(str(step.get("step")), str(step.get("step"))))).replace("%2", _seconds(step.get("in_s", 0)))
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
