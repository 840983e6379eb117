"""The supervisor following a simulated day: tiles, charts filling, interval reports, staffing, campaigns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from agent_desktop.queues import QueueStatsFeed
from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
from agent_desktop.supervisor_charts import DayHistory, staffing, write_intervals
from agent_desktop.supervisor_tiles import Level
from bus.messages import AgentState, QueueStats
from crm.supervision import CampaignOverview

DAY = 1_767_225_600.0  # a midnight, UTC


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sales(t: float, minute: int) -> QueueStats:
    """A morning that goes wrong from 9:30: calls pile up, the service level falls."""
    offered = minute * 2
    late = max(0, minute - 30)
    answered, abandoned = offered - late, late // 2
    return QueueStats(queue="sales", ts=t, waiting=late // 3, longest_wait_s=float(late * 4), offered=offered,
                      answered=answered, abandoned=abandoned, answered_in_sl=answered - late,
                      service_level=(answered - late) / (answered + abandoned) if offered else None,
                      service_level_15m=max(0.0, 1 - late / 20), asa_s=5.0 + late, sl_target=0.8, sl_seconds=20,
                      agents_ready=max(0, 4 - late // 5), agents_busy=4, agents_on_call=3, agents_wrap_up=1)


def test_a_simulated_morning_fills_tiles_charts_intervals_and_staffing(qtbot, tmp_path: Path) -> None:
    clock = Clock(DAY + 9 * 3600)
    queues, agents = QueueStatsFeed(), AgentStateFeed()
    window = SupervisorWindow(queue_stats=queues, agent_states=agents, clock=clock, sample_s=60.0)
    qtbot.addWidget(window)
    levels = []
    for minute in range(61):  # 9:00 to 10:00, a sample a minute
        clock.now = DAY + 9 * 3600 + minute * 60
        queues.publish(sales(clock.now, minute))
        for n in range(8):
            state = "busy" if n < 3 else "wrap_up" if n == 3 else "ready" if n < 6 else "not_ready"
            agents.publish(AgentState(agent_id=f"a{n}", state=state, ts=clock.now,
                                      call_id=f"c{minute}-{n}" if state == "busy" else None,
                                      reason="Lunch" if state == "not_ready" else None))
        window.flush()
        levels.append(window.tiles.tiles["sales"].level)
    assert levels[0] is Level.NORMAL and levels[-1] is Level.RED  # the tile turned as the morning went wrong
    assert Level.AMBER in levels[: levels.index(Level.RED)]
    tile = window.tiles.tiles["sales"]  # 10:00: the tile's numbers are the morning's last
    assert {k: tile.values[k].text() for k in ("waiting", "longest", "sl_15m", "asa", "abandoned", "on_call")} == {
        "waiting": "10", "longest": "2:00", "sl_15m": "0%", "asa": "0:35", "abandoned": "14%", "on_call": "3"}
    assert tile.levels["abandoned"] is Level.RED and tile.levels["waiting"] is Level.RED
    # The agents table followed the same morning: a call a minute each for a0-a2, a3 in wrap-up, a6-a7 at lunch.
    m = window.agents
    shown = {m.data(m.index(r, m.AGENT)): [m.data(m.index(r, c)) for c in (m.STATE, m.REASON, m.CALL, m.HANDLED,
                                                                          m.OCCUPANCY)]
             for r in range(m.rowCount())}
    assert shown["a0"] == ["On a call", "", "c60-0", "61", "100%"]
    assert shown["a3"][:2] == ["Wrap-up", ""] and shown["a6"][:2] == ["Not ready", "Lunch"]
    assert shown["a4"] == ["Ready", "", "", "0", "0%"]
    window.pages.setCurrentWidget(window.charts)
    qtbot.waitUntil(lambda: window.charts.points()["service_level"] == 61, timeout=5000)
    assert window.charts.points() == {"service_level": 61, "waiting": 61, "ready": 61, "busy": 61, "wrap_up": 61,
                                      "not_ready": 61}
    assert window.history.agents[-1][1] == {"ready": 2, "busy": 3, "wrap_up": 1, "not_ready": 2}
    assert "agents needed for the target at 120 calls/h" in window.charts.staffing_label.text()
    assert "Erlang A (callers' patience 806 s): 5 agents" in window.charts.staffing_label.text()  # 8 abandoned

    rows = window.history.intervals(15)
    # Each interval: the counters at its last sample less those at the previous interval's last sample.
    assert [(r.offered, r.answered, r.abandoned) for r in rows] == [(28, 28, 0), (30, 30, 0), (30, 16, 7),
                                                                    (30, 15, 7), (2, 1, 1)]
    assert rows[1].service_level == 1.0 and rows[3].service_level == 0.0  # 9:45 on: nothing within 20 s
    path = tmp_path / "intervals.csv"
    assert window.export_intervals(str(path), 30) == 3
    with path.open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["offered"] for r in table] == ["58", "60", "2"]
    assert [r["minutes"] for r in table] == ["30", "30", "30"]
    assert set(table[0]) == {"queue", "start", "minutes", "offered", "answered", "abandoned", "service_level",
                             "asa_s"}


def test_staffing_follows_the_arrival_rate_and_a_formula_in_a_queue_name_stays_text() -> None:
    history = DayHistory(sample_s=60)
    first = QueueStats(queue="=cmd", ts=DAY, offered=0, sl_target=0.8, sl_seconds=20, agents_ready=3)
    later = QueueStats(queue="=cmd", ts=DAY + 900, offered=75, answered=75, answered_in_sl=70, sl_target=0.8,
                       sl_seconds=20, agents_ready=3, agents_busy=9)
    history.record(DAY, [first], {})
    history.record(DAY + 900, [later], {})
    [row] = staffing(history, {"=cmd": later}, aht_s=300)
    assert row.arrivals_per_hour == 300 and row.logged_on == 12
    assert row.required is not None and row.required > 25  # 25 Erlangs need more than 25 agents
    out = io.StringIO()
    write_intervals(history.intervals(60), out)
    assert "'=cmd" in out.getvalue()  # never read as a formula by a spreadsheet


def test_the_campaign_panel_shows_progress_conversion_and_the_abandon_rate_against_its_cap(qtbot) -> None:
    from concurrent.futures import Future

    rows = [CampaignOverview("WINTER", "Winter offer", "active", "predictive", 200, 50, 120, 80, 20, 6, 0.03, None),
            CampaignOverview("SPRING", "Spring", "paused", "progressive", 10, 0, 0, 0, 0, 0, 0.03, "paused")]

    def source() -> Future[list[CampaignOverview]]:
        future: Future[list[CampaignOverview]] = Future()
        future.set_result(rows)
        return future

    window = SupervisorWindow(queue_stats=QueueStatsFeed(), agent_states=AgentStateFeed(), campaigns=source)
    qtbot.addWidget(window)
    model = window.campaigns
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=5000)
    shown = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert shown == ["Winter offer (WINTER)", "Predictive", "50 / 200 (25.0%)", "120", "80", "25.0%", "7.0%", "3.0%",
                     "dialing"]
    assert model.over_cap(0) and not model.over_cap(1)
    assert model.data(model.index(1, model.WHY)) == "paused"


def test_a_service_level_not_known_yet_is_a_gap_in_the_chart_not_zero(qtbot) -> None:
    import math

    from agent_desktop.supervisor_charts import ChartsPanel

    history = DayHistory(sample_s=60)
    history.record(DAY, [QueueStats(queue="sales", ts=DAY)], {})  # nothing answered nor abandoned yet
    history.record(DAY + 60, [QueueStats(queue="sales", ts=DAY + 60, offered=2, answered=2, service_level=0.5)], {})
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_history(history)
    _, levels = panel.sl_curve.getData()
    assert math.isnan(levels[0]) and levels[1] == 50.0


def test_erlang_a_staffing_uses_the_patience_the_callers_showed() -> None:
    from routing.erlang import agents_required

    history = DayHistory(sample_s=60)
    for minute in range(16):  # 15 minutes: 5 callers always waiting, 2 calls a minute abandoned, 20 offered
        t = DAY + minute * 60
        history.record(t, [QueueStats(queue="sales", ts=t, waiting=5, offered=20 * minute, answered=18 * minute,
                                      abandoned=2 * minute, sl_target=0.8, sl_seconds=20, agents_ready=1,
                                      agents_busy=20)], {})
    latest = history.queues["sales"][-1]
    [row] = staffing(history, {"sales": latest}, aht_s=60)
    assert row.arrivals_per_hour == 1200
    assert row.patience_s == 150.0  # 5 callers for 900 s: 4,500 s of waiting over 30 abandoned
    assert row.required == agents_required(1200, 60, 20, 0.8)
    assert row.required_a == agents_required(1200, 60, 20, 0.8, patience_s=150.0)
    assert row.required_a is not None and row.required is not None and row.required_a <= row.required
    [calm] = staffing(history, {"sales": QueueStats(queue="sales", ts=DAY + 960, offered=320, answered=288,
                                                    abandoned=30)}, aht_s=60, window_s=0)
    assert calm.patience_s is None and calm.required_a is None  # nobody abandoned in the window


def test_staffing_waits_for_five_minutes_of_arrivals_before_giving_a_figure(qtbot) -> None:
    from agent_desktop.supervisor_charts import ChartsPanel

    history = DayHistory(sample_s=2)
    for n, offered in enumerate((0, 1, 2)):  # two calls in four seconds: no rate of 1,800 an hour
        t = DAY + 2 * n
        history.record(t, [QueueStats(queue="sales", ts=t, offered=offered, sl_target=0.8, sl_seconds=20)], {})
    latest = history.queues["sales"][-1]
    [row] = staffing(history, {"sales": latest}, aht_s=180)
    assert row.measuring and row.required is None and row.required_a is None
    panel = ChartsPanel()
    qtbot.addWidget(panel)
    panel.show_history(history, [row])
    assert panel.staffing_label.text() == "Staffing: the arrival rate is measured over 5 minutes first"
    later = QueueStats(queue="sales", ts=DAY + 300, offered=10, sl_target=0.8, sl_seconds=20)
    [row] = staffing(history, {"sales": later}, aht_s=180)
    assert not row.measuring and row.arrivals_per_hour == 120 and row.required is not None
