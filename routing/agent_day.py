"""Each agent's figures of the day, as the leading ACD publishes them (``acd.agent_day``).

The engine counts an agent's calls handled and the time spent in each state since the engine was
built (:meth:`routing.engine.AcdEngine.agent_statistics`). :class:`DayLedger` turns those into the
figures of the *day*:

- at midnight (the ACD's local date changes) the engine's counts of the moment become the offset
  that is subtracted from then on;
- figures published by another ACD for the same day (a predecessor before a takeover, or an ACD
  that ran before this one started; they are retained on the agents' ``day`` topics) are carried:
  added to what this engine counts.

Busy is ringing (reserved), on a call and in wrap-up; available is ready or busy. Occupancy is
busy over available, as the engine's own :meth:`~routing.engine.AgentRecord.occupancy`. No I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bus.messages import AgentDay

from .engine import AcdEngine
from .model import AgentId, AgentStatus

_BUSY = (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAP_UP)
_AVAILABLE = (AgentStatus.READY, *_BUSY)
#: Every logged-on agent's figures are published at least this often (calls handled at once).
REFRESH_S = 30.0


def local_day(ts: float) -> str:
    """The ACD's local date of ``ts``, ISO (``2026-12-01``)."""
    return datetime.fromtimestamp(ts).date().isoformat()


@dataclass(frozen=True, slots=True)
class Figures:
    handled: int = 0
    busy_s: float = 0.0
    available_s: float = 0.0

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.handled + other.handled, self.busy_s + other.busy_s,
                       self.available_s + other.available_s)

    def __sub__(self, other: Figures) -> Figures:
        return Figures(max(0, self.handled - other.handled), max(0.0, self.busy_s - other.busy_s),
                       max(0.0, self.available_s - other.available_s))


class DayLedger:
    """The day's figures of the agents of one ACD engine, and which of them are due for publication."""

    def __init__(self, client_id: str, *, refresh_s: float = REFRESH_S) -> None:
        self.client_id = client_id
        self.refresh_s = refresh_s
        self.day = ""
        self._offset: dict[AgentId, Figures] = {}  # the engine's counts when the day began
        self._carried: dict[AgentId, Figures] = {}  # another ACD's figures of the day
        #: when, and what, last published (the figures, the status and the reason)
        self._published: dict[AgentId, tuple[float, Figures, tuple[AgentStatus, str | None]]] = {}
        self._heard: dict[AgentId, AgentDay] = {}  # other ACDs' publications (a standby's memory)

    # ------------------------------------------------------------ counting

    @staticmethod
    def engine_figures(engine: AcdEngine, agent_id: AgentId, now: float) -> Figures:
        stats = engine.agent_statistics(agent_id, now)
        durations = stats.state_durations_s
        return Figures(stats.handled, sum(durations.get(s, 0.0) for s in _BUSY),
                       sum(durations.get(s, 0.0) for s in _AVAILABLE))

    def figures(self, engine: AcdEngine, agent_id: AgentId, now: float) -> Figures:
        counted = self.engine_figures(engine, agent_id, now) - self._offset.get(agent_id, Figures())
        return counted + self._carried.get(agent_id, Figures())

    def roll(self, engine: AcdEngine, now: float) -> bool:
        """Start a new day if the date changed since the last call (the first call starts one); True if so."""
        today = local_day(now)
        if today == self.day:
            return False
        first = not self.day
        self.day = today
        if not first:
            self._offset = {a: self.engine_figures(engine, a, now) for a in engine.agent_ids()}
            self._carried.clear()
            self._published.clear()
        self._heard = {a: d for a, d in self._heard.items() if d.day == today}
        return True

    # ------------------------------------------------------------ other ACDs' figures

    def hear(self, message: AgentDay, *, leading: bool) -> None:
        """Another ACD's publication: a standby keeps it for a takeover; a leader carries it when it has
        not yet published that agent itself (the figures an ACD left retained before this one began)."""
        if message.client_id == self.client_id:
            return
        if leading:
            agent_id = AgentId(message.agent_id)
            if message.day == self.day and agent_id not in self._published and agent_id not in self._carried:
                self._carried[agent_id] = Figures(message.handled, message.busy_s, message.available_s)
            return
        self._heard[AgentId(message.agent_id)] = message

    def take_over(self, engine: AcdEngine, now: float) -> None:
        """Carry the figures heard while standing by. ``engine`` is the one just rebuilt from the snapshot:
        what it counts already (an agent in wrap-up is given back a call that ends at once) was counted
        by the old leader, so it is the offset."""
        self.day = local_day(now)
        self._offset = {a: self.engine_figures(engine, a, now) for a in engine.agent_ids()}
        self._published.clear()
        self._carried = {a: Figures(d.handled, d.busy_s, d.available_s)
                         for a, d in self._heard.items() if d.day == self.day}
        self._heard.clear()

    # ------------------------------------------------------------ publishing

    def due(self, engine: AcdEngine, now: float) -> list[AgentDay]:
        """The messages to publish now: agents whose calls handled or state changed, and every agent whose
        figures changed and were last published ``refresh_s`` ago or more."""
        self.roll(engine, now)
        out = []
        for agent_id in engine.agent_ids():
            figures = self.figures(engine, agent_id, now)
            status, reason, since = engine.agent_state(agent_id)
            when, last, last_state = self._published.get(agent_id, (-math.inf, None, None))
            if figures == last and (status, reason) == last_state:
                continue
            if (last is not None and figures.handled == last.handled and (status, reason) == last_state
                    and now - when < self.refresh_s):
                continue
            self._published[agent_id] = (now, figures, (status, reason))
            out.append(AgentDay(agent_id=agent_id, day=self.day, ts=now, handled=figures.handled,
                                busy_s=round(figures.busy_s, 1), available_s=round(figures.available_s, 1),
                                client_id=self.client_id, state=status.bus_name.value, reason=reason,
                                since=since))
        return out
