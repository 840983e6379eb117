"""Session records for reporting: the path a caller took, how long, and where the session ended.

Containment rate (the share of calls the IVR served without an agent) is computed over records with
:func:`containment_rate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class ExitPoint(StrEnum):
    SELF_SERVED = "self_served"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One IVR session, as the reports see it. Holds no sensitive value."""

    call_id: str
    flow: str
    caller: str
    started_at: float
    ended_at: float
    exit: ExitPoint
    exit_node: str | None
    path: tuple[str, ...]
    menu_path: tuple[str, ...] = ()
    language: str | None = None
    customer_id: str | None = None
    verified: bool = False
    intent: str | None = None
    self_service: tuple[str, ...] = ()
    queue: str | None = None
    priority: int | None = None

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["exit"] = self.exit.value
        body["path"] = list(self.path)
        body["menu_path"] = list(self.menu_path)
        body["self_service"] = list(self.self_service)
        body["duration_s"] = round(self.duration_s, 3)
        return body


def containment_rate(records: Iterable[SessionRecord], *, count_abandoned: bool = True) -> float | None:
    """Share of sessions that ended self-served in the IVR; None when there are none.

    With ``count_abandoned=False`` abandoned sessions are left out of the denominator (some
    operators report containment over completed sessions only).
    """
    total = served = 0
    for record in records:
        if record.exit is ExitPoint.ABANDONED and not count_abandoned:
            continue
        total += 1
        served += record.exit is ExitPoint.SELF_SERVED
    return served / total if total else None
