"""The day so far: service level and calls waiting per queue, agents by state, interval reports and staffing.

:class:`DayHistory` keeps a sample of every queue's statistics and of the agents by state every
``sample_s`` (plain Python, tested without a screen); :meth:`DayHistory.intervals` cuts the day into
15, 30 or 60 minute intervals (offered, answered, abandoned, service level, ASA per queue) and
:func:`write_intervals` writes them as CSV. :func:`staffing` puts the Erlang C agents required for the
queue's target (at the last 15 minutes' arrival rate and the agents' handle time) beside the agents
logged on, and the Erlang A agents once callers have abandoned: their mean patience is estimated as the
time callers spent waiting over the calls abandoned (each waiting caller abandons at the rate
1/patience), from the samples of calls waiting. :class:`ChartsPanel` draws the samples with pyqtgraph.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bus.messages import QueueStats
from crm.campaigns.results import safe_cell
from routing.erlang import StaffingError, agents_required

from .labels import state_label, tr

__all__ = ["ChartsPanel", "DayHistory", "Interval", "Staffing", "staffing", "write_intervals"]

INTERVAL_MINUTES = (15, 30, 60)
_STATES = ("ready", "busy", "wrap_up", "not_ready")
_COLOURS = {"ready": "#2e7d32", "busy": "#1565c0", "wrap_up": "#f9a825", "not_ready": "#c62828"}


@dataclass(frozen=True, slots=True)
class Interval:
    queue: str
    start: float
    minutes: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None


class DayHistory:
    """Samples of the day, one every ``sample_s`` at most."""

    def __init__(self, sample_s: float = 60.0) -> None:
        self.sample_s = sample_s
        self.queues: dict[str, list[QueueStats]] = {}
        self.agents: list[tuple[float, dict[str, int]]] = []
        self._last = -float("inf")

    def record(self, now: float, stats: Iterable[QueueStats], agent_counts: Mapping[str, int]) -> bool:
        """Take a sample when one is due; True when it did."""
        if now - self._last < self.sample_s:
            return False
        self._last = now
        for s in stats:
            self.queues.setdefault(s.queue, []).append(s)
        counts = {state: 0 for state in _STATES}
        for state, n in agent_counts.items():
            key = "busy" if state == "reserved" else state
            if key in counts:
                counts[key] += n
        self.agents.append((now, counts))
        return True

    def intervals(self, minutes: int) -> list[Interval]:
        """Each queue's figures per interval of ``minutes``, from the differences of the day's counters."""
        if minutes not in INTERVAL_MINUTES:
            raise ValueError(f"intervals are of {', '.join(map(str, INTERVAL_MINUTES))} minutes, not {minutes}")
        width = minutes * 60
        out: list[Interval] = []
        for queue, samples in sorted(self.queues.items()):
            last_of: dict[int, QueueStats] = {}
            for s in samples:
                last_of[int(s.ts // width)] = s
            previous: QueueStats | None = None
            for slot in sorted(last_of):
                s = last_of[slot]
                p_off, p_ans, p_ab, p_sl, p_wait = (
                    (previous.offered, previous.answered, previous.abandoned, previous.answered_in_sl,
                     (previous.asa_s or 0.0) * previous.answered) if previous else (0, 0, 0, 0, 0.0))
                answered, abandoned = s.answered - p_ans, s.abandoned - p_ab
                handled = answered + abandoned
                wait = (s.asa_s or 0.0) * s.answered - p_wait
                out.append(Interval(queue, slot * width, minutes, s.offered - p_off, answered, abandoned,
                                    (s.answered_in_sl - p_sl) / handled if handled else None,
                                    wait / answered if answered else None))
                previous = s
        return out


def write_intervals(intervals: Iterable[Interval], out: IO[str]) -> int:
    """The intervals as CSV (local times, ISO 8601); returns the rows written."""
    writer = csv.writer(out)
    writer.writerow(["queue", "start", "minutes", "offered", "answered", "abandoned", "service_level", "asa_s"])
    count = 0
    for i in intervals:
        writer.writerow([safe_cell(i.queue), datetime.fromtimestamp(i.start).isoformat(timespec="minutes"),
                         i.minutes, i.offered, i.answered, i.abandoned,
                         "" if i.service_level is None else f"{i.service_level:.3f}",
                         "" if i.asa_s is None else f"{i.asa_s:.1f}"])
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class Staffing:
    queue: str
    arrivals_per_hour: float
    aht_s: float
    required: int | None  # Erlang C agents for the target; None when nothing arrives or it cannot be met
    logged_on: int
    patience_s: float | None = None  # the callers' mean patience, once some abandoned in the window
    required_a: int | None = None  # Erlang A agents for the target with that patience
    measuring: bool = False  # the arrivals seen so far span less than the shortest window: no figure yet


def _required(rate: float, aht_s: float, s: QueueStats, patience_s: float | None = None) -> int | None:
    if rate <= 0 or aht_s <= 0 or s.sl_target is None or not s.sl_seconds:
        return None
    try:
        return agents_required(rate, aht_s, s.sl_seconds, min(s.sl_target, 0.999), patience_s)
    except (StaffingError, ValueError):
        return None


def _patience_s(samples: list[QueueStats]) -> float | None:
    """The callers' mean patience over ``samples``: caller-seconds spent waiting over the calls abandoned."""
    abandoned = samples[-1].abandoned - samples[0].abandoned if samples else 0
    waited = sum((a.waiting + b.waiting) / 2 * (b.ts - a.ts) for a, b in itertools.pairwise(samples))
    return waited / abandoned if abandoned > 0 and waited > 0 else None


def staffing(history: DayHistory, latest: Mapping[str, QueueStats], aht_s: float, *,
             window_s: float = 15 * 60.0, min_span_s: float = 5 * 60.0) -> list[Staffing]:
    """Per queue, the agents Erlang C asks for (arrivals of the last ``window_s``) beside those logged on, and
    Erlang A's with the callers' patience seen in that window (when some abandoned). Arrivals seen over less
    than ``min_span_s`` give no figure (``measuring``): two calls in ten seconds are no rate of 720 an hour."""
    out = []
    for queue, s in sorted(latest.items()):
        samples = history.queues.get(queue, [])
        since = [x for x in samples if s.ts - x.ts <= window_s]
        if not since or since[-1].ts < s.ts:
            since.append(s)
        first = since[0]
        span = s.ts - first.ts
        rate = (s.offered - first.offered) * 3600.0 / span if span > 0 else 0.0
        logged_on = s.agents_ready + s.agents_busy + s.agents_not_ready
        if span < min(min_span_s, window_s):
            out.append(Staffing(queue, rate, aht_s, None, logged_on, measuring=True))
            continue
        patience = _patience_s(since)
        out.append(Staffing(queue, rate, aht_s, _required(rate, aht_s, s), logged_on, patience,
                            None if patience is None else _required(rate, aht_s, s, patience)))
    return out


class ChartsPanel(QWidget):
    """Service level and calls waiting of one queue over the day; agents by state over the day."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("supervisorCharts")
        self.queue_choice = QComboBox()
        self.queue_choice.setObjectName("chartQueue")
        self.staffing_label = QLabel()
        self.staffing_label.setObjectName("staffing")
        self.sl_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.sl_plot.setObjectName("slChart")
        self.sl_plot.setBackground(None)  # the window's own, light or dark
        self.sl_plot.addLegend(offset=(10, 5))
        self.sl_plot.setTitle(tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Service level and calls waiting")))
        self.sl_curve = self.sl_plot.plot(pen=pg.mkPen("#1565c0", width=2), connect="finite",
                                          name=tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Service level %")))
        self.waiting_curve = self.sl_plot.plot(pen=pg.mkPen("#c62828", width=2),
                                               name=tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Calls waiting")))
        self.agent_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.agent_plot.setObjectName("agentChart")
        self.agent_plot.setBackground(None)
        self.agent_plot.addLegend(offset=(10, 5))
        self.agent_plot.setTitle(tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Agents by state")))
        self.state_curves = {state: self.agent_plot.plot(pen=pg.mkPen(_COLOURS[state], width=2),
                                                         name=state_label(state)) for state in _STATES}
        top = QHBoxLayout()
        top.addWidget(QLabel(tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Queue"))))
        top.addWidget(self.queue_choice)
        top.addWidget(self.staffing_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        plots = QHBoxLayout()
        plots.addWidget(self.sl_plot)
        plots.addWidget(self.agent_plot)
        layout.addLayout(plots, 1)

    def choose(self, queue: str) -> None:
        """Show ``queue`` (once it has samples)."""
        self.wanted = queue
        index = self.queue_choice.findText(queue)
        if index >= 0:
            self.queue_choice.setCurrentIndex(index)

    wanted = ""

    def show_history(self, history: DayHistory, staffed: Iterable[Staffing] = ()) -> None:
        queues = sorted(history.queues)
        if [self.queue_choice.itemText(i) for i in range(self.queue_choice.count())] != queues:
            chosen = self.wanted or self.queue_choice.currentText()
            self.queue_choice.blockSignals(True)
            self.queue_choice.clear()
            self.queue_choice.addItems(queues)
            if chosen in queues:
                self.queue_choice.setCurrentText(chosen)
            self.queue_choice.blockSignals(False)
        queue = self.queue_choice.currentText()
        samples = history.queues.get(queue, [])
        xs = [s.ts for s in samples]
        # A service level not known yet (nothing answered or abandoned) is a gap in the curve, not 0%.
        self.sl_curve.setData(xs, [math.nan if s.service_level is None else s.service_level * 100
                                   for s in samples])
        self.waiting_curve.setData(xs, [float(s.waiting) for s in samples])
        times = [t for t, _ in history.agents]
        for state, curve in self.state_curves.items():
            curve.setData(times, [float(c[state]) for _, c in history.agents])
        mine = next((s for s in staffed if s.queue == queue), None)
        if mine is not None and mine.measuring:
            self.staffing_label.setText(tr(QT_TRANSLATE_NOOP(
                "SupervisorLabels", "Staffing: the arrival rate is measured over 5 minutes first")))
        elif mine is None or mine.required is None:
            self.staffing_label.setText("")
        else:
            self.staffing_label.setText(
                tr(QT_TRANSLATE_NOOP("SupervisorLabels", "Erlang C: %1 agents needed for the target at %2 calls/h "
                                                         "(handle time %3 s); %4 logged on"))
                .replace("%1", str(mine.required)).replace("%2", f"{mine.arrivals_per_hour:.0f}")
                .replace("%3", f"{mine.aht_s:.0f}").replace("%4", str(mine.logged_on))
                + ("" if mine.required_a is None or mine.patience_s is None else "  ·  " + tr(QT_TRANSLATE_NOOP(
                    "SupervisorLabels", "Erlang A (callers' patience %1 s): %2 agents"))
                   .replace("%1", f"{mine.patience_s:.0f}").replace("%2", str(mine.required_a))))

    def points(self) -> dict[str, int]:
        """How many points each curve shows (for tests)."""
        def count(curve: pg.PlotDataItem) -> int:
            xs = curve.getData()[0]
            return 0 if xs is None else len(xs)

        shown = {"service_level": count(self.sl_curve), "waiting": count(self.waiting_curve)}
        shown.update({state: count(c) for state, c in self.state_curves.items()})
        return shown
