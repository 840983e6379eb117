"""Order and service-request workflows, defined as data in ``resources/workflows/*.yaml``.

:func:`load_workflows` reads and checks every file of a folder (a bad file is refused with its name
and the place inside it); :class:`Workflows` answers which workflow an order or a service request
follows. The engine (:mod:`.engine`) is sans-I/O; :mod:`crm.repository.workflows` stores states
and history.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

import resources

from .definition import Actor, Deadline, State, Subject, Transition, Workflow, WorkflowError, parse_workflow
from .engine import Escalation, Move, TransitionRefused, allowed, overdue, path_to, take

__all__ = [
    "Actor",
    "Deadline",
    "Escalation",
    "Move",
    "State",
    "Subject",
    "Transition",
    "TransitionRefused",
    "Workflow",
    "WorkflowError",
    "Workflows",
    "allowed",
    "load_workflow",
    "load_workflows",
    "overdue",
    "path_to",
    "shipped",
    "take",
]


def load_workflow(path: Path) -> Workflow:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise WorkflowError(f"{path}: {where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_workflow(doc, path.name)


class Workflows:
    """A set of workflows by name, with one default per subject."""

    def __init__(self, workflows: Iterable[Workflow], source: str = "workflows") -> None:
        self.by_name: dict[str, Workflow] = {}
        for w in workflows:
            if w.name in self.by_name:
                raise WorkflowError(f"{source}: two workflows named {w.name!r}")
            self.by_name[w.name] = w
        self.defaults: dict[Subject, Workflow] = {}
        for w in self.by_name.values():
            if w.default:
                if w.subject in self.defaults:
                    raise WorkflowError(f"{source}: two default workflows for {w.subject.value}: "
                                        f"{self.defaults[w.subject].name!r} and {w.name!r}")
                self.defaults[w.subject] = w

    def __getitem__(self, name: str) -> Workflow:
        try:
            return self.by_name[name]
        except KeyError:
            raise WorkflowError(f"no workflow {name!r}") from None

    def for_order(self) -> Workflow:
        return self._default(Subject.ORDER)

    def for_request(self, category: str) -> Workflow:
        for w in self.by_name.values():
            if w.subject is Subject.SERVICE_REQUEST and category in w.categories:
                return w
        return self._default(Subject.SERVICE_REQUEST)

    def _default(self, subject: Subject) -> Workflow:
        try:
            return self.defaults[subject]
        except KeyError:
            raise WorkflowError(f"no default workflow for {subject.value}") from None


def load_workflows(folder: Path) -> Workflows:
    """Every ``*.yaml`` of ``folder``, checked; the first bad file raises :class:`WorkflowError`."""
    files = sorted(folder.glob("*.yaml"))
    return Workflows((load_workflow(p) for p in files), str(folder))


@cache
def shipped() -> Workflows:
    """The workflows shipped with the product (``resources/workflows``)."""
    return load_workflows(resources.path("workflows"))
