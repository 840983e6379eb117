"""Workflow definitions: states, transitions, who may move them, required fields, time limits.

A definition is data (``resources/workflows/*.yaml``) parsed into frozen dataclasses by
:func:`parse_workflow`, which checks everything it can and names the file and the place inside it
that is wrong (``fault_report.yaml: transitions[2].to: unknown state 'fixed'``). Nothing here reads
files or clocks: :mod:`crm.workflows` loads the files, :mod:`crm.workflows.engine` moves states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import CrmError


class WorkflowError(CrmError):
    """A workflow file that cannot be used; the message names the file and the path inside it."""


class Actor(StrEnum):
    """Who moves a workflow: an agent at the desktop, back-office staff, or the external system."""

    AGENT = "agent"
    BACK_OFFICE = "back_office"
    SYSTEM = "system"


class Subject(StrEnum):
    """What a workflow applies to."""

    ORDER = "order"
    SERVICE_REQUEST = "service_request"


#: The coarse status each state maps to, as lists, exports and the 360 view show it.
STATUSES: dict[Subject, frozenset[str]] = {
    Subject.ORDER: frozenset({"submitted", "open", "in_progress", "on_hold", "completed", "failed", "cancelled"}),
    Subject.SERVICE_REQUEST: frozenset({"open", "in_progress", "waiting_customer", "closed"}),
}

#: Who may be told when a state outlives its time limit.
ESCALATION_TARGETS = frozenset({"agent", "back_office", "supervisor"})

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


#: The priorities a service request may be raised to when its time limit passes, lowest first.
PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True, slots=True)
class Deadline:
    """A state's time limit and what is done, once, when it passes.

    ``escalate_to`` is told (over the bus: the agent who took the item and the supervisors of its
    team) and is the group the item is assigned to, unless ``assign_to`` names another;
    ``priority`` raises a service request's priority (never lowers it); ``transition`` is a step the
    system takes (to an escalated state, say).
    """

    after_s: float
    escalate_to: str
    assign_to: str | None = None
    priority: str | None = None
    transition: str | None = None


@dataclass(frozen=True, slots=True)
class State:
    name: str
    status: str
    final: bool = False
    deadline: Deadline | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    actors: frozenset[Actor]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    title: str
    subject: Subject
    initial: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    default: bool = False
    categories: frozenset[str] = frozenset()

    def state(self, name: str) -> State:
        return self.states[name]


def parse_duration(text: object) -> float:
    """``"90s"``, ``"15m"``, ``"4h"``, ``"2d"`` (or a number of seconds) → seconds."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as '4h'")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text).strip())
        if match is None:
            raise ValueError(f"expected a duration such as '30m', '4h' or '2d', got {text!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class _Reader:
    """Walks the parsed YAML and raises :class:`WorkflowError` naming the source and the path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, reason: str) -> WorkflowError:
        return WorkflowError(f"{self.source}: {where}: {reason}" if where else f"{self.source}: {reason}")

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def keys(self, doc: Mapping[str, Any], where: str, allowed: set[str], required: set[str]) -> None:
        for key in doc:
            if key not in allowed:
                raise self.fail(_join(where, str(key)), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in doc:
                raise self.fail(_join(where, key), "missing")

    def name(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise self.fail(where, f"expected a lowercase name (letters, digits, _), got {value!r}")
        return value

    def names(self, value: object, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(where, "expected a non-empty list of names")
        return tuple(self.name(v, f"{where}[{i}]") for i, v in enumerate(value))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def parse_workflow(doc: object, source: str) -> Workflow:
    """Check and build a workflow from parsed YAML; ``source`` names it in errors (the file name)."""
    r = _Reader(source)
    top = r.mapping(doc, "")
    r.keys(top, "", {"workflow", "title", "applies_to", "default", "categories", "initial", "states", "transitions"},
           {"workflow", "applies_to", "initial", "states", "transitions"})
    name = r.name(top["workflow"], "workflow")
    try:
        subject = Subject(top["applies_to"])
    except ValueError:
        raise r.fail("applies_to", f"expected one of {', '.join(s.value for s in Subject)}, "
                                   f"got {top['applies_to']!r}") from None
    title = top.get("title", name)
    if not isinstance(title, str):
        raise r.fail("title", "expected text")
    default = top.get("default", False)
    if not isinstance(default, bool):
        raise r.fail("default", "expected true or false")
    categories = frozenset(r.names(top["categories"], "categories")) if "categories" in top else frozenset()

    states_doc = r.mapping(top["states"], "states")
    if not states_doc:
        raise r.fail("states", "a workflow needs at least one state")
    states: dict[str, State] = {}
    for key, body in states_doc.items():
        where = f"states.{key}"
        state_name = r.name(key, where)
        body = r.mapping(body if body is not None else {}, where)
        r.keys(body, where, {"status", "final", "deadline"}, {"status"})
        status = body["status"]
        if status not in STATUSES[subject]:
            raise r.fail(f"{where}.status", f"expected one of {', '.join(sorted(STATUSES[subject]))}, got {status!r}")
        final = body.get("final", False)
        if not isinstance(final, bool):
            raise r.fail(f"{where}.final", "expected true or false")
        deadline = None
        if "deadline" in body:
            d = r.mapping(body["deadline"], f"{where}.deadline")
            r.keys(d, f"{where}.deadline", {"after", "escalate_to", "assign_to", "priority", "transition"},
                   {"after", "escalate_to"})
            try:
                after = parse_duration(d["after"])
            except ValueError as exc:
                raise r.fail(f"{where}.deadline.after", str(exc)) from None
            if d["escalate_to"] not in ESCALATION_TARGETS:
                raise r.fail(f"{where}.deadline.escalate_to",
                             f"expected one of {', '.join(sorted(ESCALATION_TARGETS))}, got {d['escalate_to']!r}")
            if final:
                raise r.fail(f"{where}.deadline", "a final state has no time limit")
            assign_to = r.name(d["assign_to"], f"{where}.deadline.assign_to") if "assign_to" in d else None
            priority = d.get("priority")
            if priority is not None:
                if subject is not Subject.SERVICE_REQUEST:
                    raise r.fail(f"{where}.deadline.priority", "only a service request has a priority")
                if priority not in PRIORITIES:
                    raise r.fail(f"{where}.deadline.priority",
                                 f"expected one of {', '.join(PRIORITIES)}, got {priority!r}")
            step = r.name(d["transition"], f"{where}.deadline.transition") if "transition" in d else None
            deadline = Deadline(after, d["escalate_to"], assign_to, priority, step)
        states[state_name] = State(state_name, status, final, deadline)

    initial = r.name(top["initial"], "initial")
    if initial not in states:
        raise r.fail("initial", f"unknown state {initial!r}")

    transitions_doc = top["transitions"]
    if not isinstance(transitions_doc, list):
        raise r.fail("transitions", "expected a list")
    transitions: list[Transition] = []
    seen: set[tuple[str, str]] = set()
    for i, body in enumerate(transitions_doc):
        where = f"transitions[{i}]"
        body = r.mapping(body, where)
        r.keys(body, where, {"name", "from", "to", "by", "requires"}, {"name", "from", "to", "by"})
        t_name = r.name(body["name"], f"{where}.name")
        sources = r.names(body["from"], f"{where}.from")
        for j, s in enumerate(sources):
            if s not in states:
                raise r.fail(f"{where}.from[{j}]", f"unknown state {s!r}")
            if states[s].final and body["to"] == s:
                raise r.fail(f"{where}", "a transition cannot loop on a final state")
            if (s, t_name) in seen:
                raise r.fail(f"{where}.name", f"a second transition {t_name!r} from state {s!r}")
            seen.add((s, t_name))
        target = r.name(body["to"], f"{where}.to")
        if target not in states:
            raise r.fail(f"{where}.to", f"unknown state {target!r}")
        actors: set[Actor] = set()
        for j, a in enumerate(r.names(body["by"], f"{where}.by")):
            try:
                actors.add(Actor(a))
            except ValueError:
                raise r.fail(f"{where}.by[{j}]", f"expected one of {', '.join(x.value for x in Actor)}, "
                                                 f"got {a!r}") from None
        requires = r.names(body["requires"], f"{where}.requires") if "requires" in body else ()
        transitions.append(Transition(t_name, sources, target, frozenset(actors), requires))

    # Every state but the initial one is reachable, and every non-final state has a way out.
    reachable = {initial}
    frontier = [initial]
    while frontier:
        current = frontier.pop()
        for t in transitions:
            if current in t.sources and t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    for state_name in states:
        if state_name not in reachable:
            raise r.fail(f"states.{state_name}", f"unreachable from the initial state {initial!r}")
        if not states[state_name].final and not any(state_name in t.sources for t in transitions):
            raise r.fail(f"states.{state_name}", "not final, yet no transition leaves it")
    if not any(s.final for s in states.values()):
        raise r.fail("states", "a workflow needs at least one final state")
    for state_name, state in states.items():
        step = state.deadline.transition if state.deadline else None
        if step is not None and not any(
                t.name == step and state_name in t.sources and Actor.SYSTEM in t.actors and not t.requires
                for t in transitions):
            raise r.fail(f"states.{state_name}.deadline.transition",
                         f"no transition {step!r} from {state_name!r} that the system may take without fields")
    return Workflow(name, title, subject, initial, states, tuple(transitions), default, categories)
