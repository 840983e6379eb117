"""Errors of the routing package. Messages are written for the person who caused them."""

from __future__ import annotations


class RoutingError(Exception):
    """Root of the routing errors: the CLI prints them as one line."""


class StaffingError(RoutingError):
    """Staffing mathematics asked for something that has no answer (e.g. an unstable queue)."""


class ScenarioError(RoutingError):
    """A scenario or queue configuration that cannot be used; names the key and the reason."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class EngineError(RoutingError):
    """An event the ACD engine cannot apply (unknown call or agent, impossible transition)."""
