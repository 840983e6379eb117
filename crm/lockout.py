"""Lockout of guessed secrets: a PIN or a password locks after a few wrong tries in a row.

The counter lives with the secret (``Account.pin_failures``, ``Agent.login_failures``), so it
holds across calls, connections and processes. While locked, every try is refused, the right
secret included, and does not count; when the lock ends the next wrong try locks again at once
(the counter is not reset by time, only by the right secret). Pure Python: the data layer and the
IVR's in-memory data share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

#: Wrong tries in a row that lock the secret.
MAX_FAILURES = 5
#: How long a secret stays locked.
LOCK_TIME = timedelta(minutes=30)


class Verdict(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class Counter:
    """Wrong tries in a row, and until when the secret is locked (None: it is not)."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after(self, correct: bool, now: datetime) -> tuple[Verdict, Counter]:
        """The verdict on a try whose secret was ``correct``, and the counter after it."""
        if self.locked(now):
            return Verdict.LOCKED, self
        if correct:
            return Verdict.VERIFIED, Counter()
        failures = self.failures + 1
        if failures >= MAX_FAILURES:
            return Verdict.LOCKED, Counter(failures, now + LOCK_TIME)
        return Verdict.WRONG, Counter(failures, None)
