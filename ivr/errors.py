"""Errors of the IVR. Messages are written for the person who caused them (a flow designer, an operator)."""

from __future__ import annotations

from pathlib import Path


class IvrError(Exception):
    """Root of the IVR's errors."""


class FlowError(IvrError):
    """A flow file that cannot be used: says which file, which line and why."""

    def __init__(self, file: str | Path, line: int | None, reason: str) -> None:
        self.file = str(file)
        self.line = line
        self.reason = reason
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {reason}")


class SessionStateError(IvrError):
    """An input the session cannot take in its state (the driver broke the protocol)."""


class LookupUnavailable(IvrError):
    """A customer-data or REST look-up failed (database down, HTTP error, timeout)."""


class NotEditable(IvrError):
    """An agent tried to change an attached-data field that the schema does not let agents edit."""


class AttachedDataError(IvrError):
    """A value that does not fit the attached-data schema (unknown field, wrong type)."""


class AgiError(IvrError):
    """A FastAGI exchange that cannot go on: malformed reply, refused value (CR/LF), closed link."""
