"""The workflow engine, sans-I/O: a workflow, a state, an actor and fields in; a move or a refusal out.

Time is passed in as a value. Storing states and history is :mod:`crm.repository.workflows`' job;
the desktop, the API and the connectors all move workflows through it, so the rules live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import CrmError
from .definition import Actor, Transition, Workflow


class TransitionRefused(CrmError):
    """A move the workflow does not allow: unknown, from the wrong state, by the wrong actor, or missing fields."""


@dataclass(frozen=True, slots=True)
class Move:
    """One step taken: from ``source`` to ``target`` by ``transition``, with the status the target maps to."""

    transition: str
    source: str
    target: str
    status: str
    final: bool
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Escalation:
    """A state that outlived its time limit: who must be told, and since when it is overdue."""

    state: str
    escalate_to: str
    due_at: datetime


def allowed(workflow: Workflow, state: str, actor: Actor) -> tuple[Transition, ...]:
    """The transitions ``actor`` may take from ``state``, in the order the workflow lists them."""
    return tuple(t for t in workflow.transitions if state in t.sources and actor in t.actors)


def _find(workflow: Workflow, state: str, name: str) -> Transition:
    if state not in workflow.states:
        raise TransitionRefused(f"{workflow.name}: unknown state {state!r}")
    for t in workflow.transitions:
        if t.name == name and state in t.sources:
            return t
    if any(t.name == name for t in workflow.transitions):
        raise TransitionRefused(f"{workflow.name}: {name!r} is not possible from state {state!r}")
    raise TransitionRefused(f"{workflow.name}: no transition {name!r}")


def _clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and not (isinstance(v, str) and not v.strip())}


def take(workflow: Workflow, state: str, name: str, actor: Actor, fields: Mapping[str, Any] | None = None) -> Move:
    """Take transition ``name`` from ``state`` as ``actor``; raises :class:`TransitionRefused`."""
    transition = _find(workflow, state, name)
    if actor not in transition.actors:
        raise TransitionRefused(f"{workflow.name}: {name!r} is not for {actor.value} "
                                f"(only {', '.join(sorted(a.value for a in transition.actors))})")
    given = _clean(fields or {})
    missing = [f for f in transition.requires if f not in given]
    if missing:
        raise TransitionRefused(f"{workflow.name}: {name!r} needs {', '.join(missing)}")
    target = workflow.states[transition.target]
    return Move(name, state, target.name, target.status, target.final, given)


def path_to(workflow: Workflow, state: str, target: str, actor: Actor) -> tuple[Transition, ...]:
    """The shortest chain of transitions ``actor`` may take from ``state`` to ``target`` (empty when there).

    An external system reports where an order *is*; when it moved twice between two reports, the
    steps in between are taken in order, each checked as if reported on its own.
    """
    if target not in workflow.states:
        raise TransitionRefused(f"{workflow.name}: unknown state {target!r}")
    if state == target:
        return ()
    previous: dict[str, tuple[str, Transition]] = {}
    frontier = [state]
    seen = {state}
    while frontier:
        following = []
        for current in frontier:
            for t in allowed(workflow, current, actor):
                if t.target in seen:
                    continue
                seen.add(t.target)
                previous[t.target] = (current, t)
                following.append(t.target)
        frontier = following
    if target not in previous:
        raise TransitionRefused(f"{workflow.name}: {actor.value} cannot move from {state!r} to {target!r}")
    chain: list[Transition] = []
    at = target
    while at != state:
        at, t = previous[at]
        chain.append(t)
    return tuple(reversed(chain))


def overdue(workflow: Workflow, state: str, since: datetime, now: datetime) -> Escalation | None:
    """The escalation due when ``state``, entered at ``since``, is still current at ``now``."""
    deadline = workflow.states[state].deadline
    if deadline is None:
        return None
    due = since + timedelta(seconds=deadline.after_s)
    return Escalation(state, deadline.escalate_to, due) if now >= due else None
