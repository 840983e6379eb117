"""The agents table shows the day's calls handled and occupancy as the leading ACD counts them, not only
what the window saw since it opened, and counts on between two publications."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from agent_desktop.supervisor_agents import AgentTableModel
from bus.messages import AgentDay, AgentState


def test_the_acds_figures_of_the_day_replace_the_windows_own(qtbot: QtBot) -> None:
    now = [1000.0]
    model = AgentTableModel(clock=lambda: now[0], teams={"a1": "north"})
    model.stage(AgentState(agent_id="a1", state="ready", ts=now[0]))
    model.flush()
    row = model.row(0)
    assert (row.handled, row.occupancy(now[0])) == (0, None)  # the window opened just now: nothing seen yet
    # The ACD's figures of the morning: 12 calls, 3 h busy out of 4 h available.
    model.stage(AgentDay(agent_id="a1", day="2026-12-01", ts=now[0], handled=12, busy_s=10800.0,
                         available_s=14400.0))
    model.flush()
    assert model.data(model.index(0, AgentTableModel.HANDLED)) == "12"
    assert model.data(model.index(0, AgentTableModel.OCCUPANCY)) == "75%"
    # Counted on between two publications: 600 s more on a call, and the call counted when it starts.
    model.stage(AgentState(agent_id="a1", state="busy", ts=now[0], call_id="c9"))
    model.flush()
    now[0] += 600.0
    assert model.row(0).handled == 13
    assert abs(model.row(0).occupancy(now[0]) - 11400 / 15000) < 1e-9
    # The next publication is the ACD's word again; it counts a call when it ends, so the one on is added.
    model.stage(AgentDay(agent_id="a1", day="2026-12-01", ts=now[0], handled=12, busy_s=11400.0,
                         available_s=16000.0))
    model.flush()
    assert model.row(0).handled == 13 and abs(model.row(0).occupancy(now[0]) - 11400 / 16000) < 1e-9
    model.stage(AgentState(agent_id="a1", state="wrap_up", ts=now[0], call_id="c9"))
    model.stage(AgentDay(agent_id="a1", day="2026-12-01", ts=now[0], handled=13, busy_s=11400.0,
                         available_s=16000.0))
    model.flush()
    assert model.row(0).handled == 13  # ended: counted once, by the ACD


def test_figures_of_an_agent_not_seen_yet_make_its_row(qtbot: QtBot) -> None:
    model = AgentTableModel(clock=lambda: 50.0, teams={"b2": "south"})
    model.stage(AgentDay(agent_id="b2", day="2026-12-01", ts=50.0, handled=3, busy_s=30.0, available_s=60.0))
    model.flush()
    assert model.rowCount() == 1 and model.row(0).state == "logged_off" and model.row(0).handled == 3
    assert model.data(model.index(0, AgentTableModel.OCCUPANCY)) == "50%"


def test_a_window_opened_later_shows_the_state_the_acd_knew_until_the_agent_changes(qtbot: QtBot) -> None:
    now = [5000.0]
    model = AgentTableModel(clock=lambda: now[0])
    model.stage(AgentDay(agent_id="c3", day="2026-12-01", ts=4990.0, handled=2, busy_s=10.0, available_s=20.0,
                         state="not_ready", reason="Lunch", since=4700.0))
    model.flush()
    row = model.row(0)
    assert (row.state, row.reason, row.since) == ("not_ready", "Lunch", 4700.0)
    assert model.data(model.index(0, AgentTableModel.IN_STATE)) == "5:00"
    model.stage(AgentState(agent_id="c3", state="ready", ts=now[0]))
    model.flush()
    model.stage(AgentDay(agent_id="c3", day="2026-12-01", ts=4999.0, handled=2, busy_s=10.0, available_s=20.0,
                         state="not_ready", reason="Lunch", since=4700.0))  # older than what the window saw
    model.flush()
    assert model.row(0).state == "ready"  # live states win once seen
