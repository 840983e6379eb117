"""Who leads a site's ACD: the election between a leader and its standbys, sans I/O.

Several servers for one site elect a leader over the bus: the leader record
(:class:`~bus.messages.AcdLeader`, retained on ``ccenter/v1/<site>/acd/leader``) names the leader and
its ``epoch``; each server's presence (retained, with an offline last will) says whether it is alive.
A standby whose leader's presence turns offline claims the next epoch, waits ``claim_s`` for a
competing claim (the higher ``(epoch, client_id)`` wins) and takes over. A leader that sees a higher
epoch stands down at once.

:class:`Election` holds that state. It is fed the leader records and presences the server reads and
the monotonic time as a value, and answers with what to do: publish a leader record
(:class:`PublishLeader`), stand down (:class:`StepDown`) or take over (:class:`TakeOver`). The server
(:mod:`routing.server`) does the publishing and the rebuilding.

**Snapshots of any size.** The leader's state (:class:`~bus.messages.AcdSnapshot`) can outgrow one
message (tens of thousands of waiting calls): :func:`split_snapshot` cuts it into parts that each stay
under a byte budget, and a standby's :class:`SnapshotAssembler` puts the parts of one ``(epoch, seq)``
back together, whatever order they come in; parts of an older snapshot are dropped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bus.messages import AcdLeader, AcdSnapshot

logger = logging.getLogger(__name__)


class Role(Enum):
    STARTING = "starting"
    STANDBY = "standby"
    CANDIDATE = "candidate"
    LEADER = "leader"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class PublishLeader:
    """Publish this record, retained, on the site's leader topic."""

    record: AcdLeader


@dataclass(frozen=True, slots=True)
class StepDown:
    reason: str
    hold_off: bool = True


@dataclass(frozen=True, slots=True)
class TakeOver:
    """The claim stood for ``claim_s``: rebuild from the last snapshot and lead."""


Action = PublishLeader | StepDown | TakeOver


class Election:
    """One server's view of its site's leadership. Not thread-safe; times are passed in."""

    def __init__(self, client_id: str, site: str, *, settle_s: float = 0.5, claim_s: float = 0.3) -> None:
        self.client_id = client_id
        self.site = site
        self.settle_s = settle_s
        self.claim_s = claim_s
        self.role = Role.STARTING
        self.epoch = 0
        self.leader: AcdLeader | None = None  # the latest leader record seen (or claimed)
        self.presence: dict[str, bool] = {}
        self.leader_offline = False  # latched: the leader's link broke, even if it comes back
        self.claim_at: float | None = None
        self.hold_off_until = -math.inf

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    def stand_by(self, mono: float) -> None:
        """Join the election; claim nothing for ``settle_s`` (retained records arrive meanwhile)."""
        self.role = Role.STANDBY
        self.hold_off_until = mono + self.settle_s

    def lead(self, epoch: int) -> None:
        self.epoch = epoch
        self.role = Role.LEADER
        logger.info("ACD %s leads site %s (epoch %d)", self.client_id, self.site, epoch)

    def stop(self) -> None:
        self.role = Role.STOPPED

    def on_presence(self, client_id: str, online: bool) -> None:
        self.presence[client_id] = online
        if not online and self.leader is not None and client_id == self.leader.client_id:
            self.leader_offline = True

    def on_leader(self, record: AcdLeader, now: float) -> list[Action]:
        """A leader record arrived: ours, a stale or losing claim (reassert ours), or a higher one (stand down)."""
        mine = (self.epoch, self.client_id)
        theirs = (record.epoch, record.client_id)
        if record.client_id == self.client_id and self.leader is not None and theirs < (
            self.leader.epoch, self.leader.client_id
        ):
            # A late echo of one of our own earlier claims: it must not hide the leader we know of since
            # (a standby would take it for its own, "offline", record and claim again at once).
            return []
        if record.client_id == self.client_id and record.epoch == self.epoch:
            self.leader = record
            return []
        if self.role in (Role.LEADER, Role.CANDIDATE) and theirs < mine:
            # A stale or losing claim: make the retained record ours again.
            return [PublishLeader(AcdLeader(client_id=self.client_id, epoch=self.epoch, ts=now))]
        if self.leader is None or theirs >= (self.leader.epoch, self.leader.client_id) or self.role is Role.STANDBY:
            if self.leader is None or theirs != (self.leader.epoch, self.leader.client_id):
                self.leader_offline = False
            self.leader = record
        if self.role in (Role.LEADER, Role.CANDIDATE) and theirs > mine:
            return [StepDown(f"{record.client_id} leads with epoch {record.epoch}", hold_off=False)]
        return []

    def consider(self, mono: float, now: float, *, connected: bool) -> Action | None:
        """Standby: claim leadership when there is no live leader; candidate: take over after ``claim_s``."""
        if mono < self.hold_off_until:
            return None
        if self.role is Role.CANDIDATE:
            if self.claim_at is not None and mono - self.claim_at >= self.claim_s:
                leader = self.leader
                if leader is not None and leader.client_id == self.client_id and leader.epoch == self.epoch:
                    return TakeOver()
                self.role = Role.STANDBY
            return None
        if self.role is not Role.STANDBY:
            return None
        leader = self.leader
        alive = (
            leader is not None
            and leader.client_id != self.client_id
            and self.presence.get(leader.client_id) is True
            and not self.leader_offline
        )
        if alive or not connected:
            return None
        epoch = (leader.epoch if leader else 0) + 1
        self.epoch = epoch
        self.role = Role.CANDIDATE
        self.claim_at = mono
        reason = "no leader" if leader is None else f"leader {leader.client_id} (epoch {leader.epoch}) is offline"
        logger.info("ACD %s claims the lead of site %s with epoch %d: %s", self.client_id, self.site, epoch, reason)
        record = AcdLeader(client_id=self.client_id, epoch=epoch, ts=now)
        self.leader = record
        return PublishLeader(record)

    def step_down(self, reason: str, mono: float, *, hold_off: bool = True) -> bool:
        """Stand by again; False when not leading nor claiming (nothing to do)."""
        if self.role not in (Role.LEADER, Role.CANDIDATE):
            return False
        logger.warning("ACD %s stands down (epoch %d): %s", self.client_id, self.epoch, reason)
        self.role = Role.STANDBY
        self.claim_at = None
        if hold_off:
            # Give a standby that kept its link the time to take over before we would claim again.
            self.hold_off_until = mono + 3 * (self.settle_s + self.claim_s) + 2.0
        return True


# ---------------------------------------------------------------- snapshots in parts

#: Bytes of list items per snapshot part: well under the bus's 256 KiB payload limit.
PART_BUDGET = 160 * 1024
_LISTS = ("calls", "agents", "ended")


def split_snapshot(snapshot: AcdSnapshot, budget: int = PART_BUDGET) -> list[AcdSnapshot]:
    """``snapshot`` as parts whose lists each hold at most about ``budget`` bytes of JSON; part 0 also
    carries the statistics. One part when it fits."""
    chunks: list[dict[str, list[Any]]] = [{name: [] for name in _LISTS}]
    size = len(json.dumps(snapshot.stats, separators=(",", ":")))
    for name in _LISTS:
        for item in getattr(snapshot, name):
            cost = len(json.dumps(item, separators=(",", ":"))) + 1
            if size + cost > budget and any(chunks[-1].values()):
                chunks.append({n: [] for n in _LISTS})
                size = 0
            chunks[-1][name].append(item)
            size += cost
    parts = len(chunks)
    return [
        dataclasses.replace(snapshot, calls=chunk["calls"], agents=chunk["agents"], ended=chunk["ended"],
                            stats=snapshot.stats if k == 0 else {}, part=k, parts=parts)
        for k, chunk in enumerate(chunks)
    ]


class SnapshotAssembler:
    """A standby's view of the leader's snapshot, from its parts: :meth:`add` returns the whole snapshot
    once every part of the newest ``(epoch, seq)`` is in (None meanwhile)."""

    def __init__(self) -> None:
        self.complete: AcdSnapshot | None = None
        self._key: tuple[int, int] | None = None
        self._parts: dict[int, AcdSnapshot] = {}

    def add(self, part: AcdSnapshot) -> AcdSnapshot | None:
        key = (part.epoch, part.seq)
        if self.complete is not None and key <= (self.complete.epoch, self.complete.seq):
            return None  # a part of a snapshot we have, or of an older one
        if not 0 <= part.part < part.parts:
            logger.warning("ACD snapshot part %d of %d skipped: not a valid part", part.part, part.parts)
            return None
        if self._key is None or key > self._key:
            self._key, self._parts = key, {}
        elif key < self._key:
            return None
        self._parts[part.part] = part
        if len(self._parts) < part.parts or any(p.parts != part.parts for p in self._parts.values()):
            return None
        ordered = [self._parts[k] for k in range(part.parts)]
        whole = dataclasses.replace(
            ordered[0], calls=[c for p in ordered for c in p.calls], agents=[a for p in ordered for a in p.agents],
            ended=[e for p in ordered for e in p.ended], part=0, parts=1,
        )
        self.complete, self._key, self._parts = whole, None, {}
        return whole
