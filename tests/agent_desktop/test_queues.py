"""Queue statistics on the desktop: the table model over ``QueueStats`` messages."""

from __future__ import annotations

from PySide6.QtCore import Qt

from agent_desktop.queues import QueueStatsModel
from bus.messages import QueueStats


def test_model_keeps_one_row_per_allowed_queue_updated_in_place(qtbot) -> None:
    model = QueueStatsModel({"billing", "vip"})
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom: changed.append(top.row()))
    model.update(QueueStats(queue="billing", ts=1, waiting=2, longest_wait_s=75, service_level=0.834, asa_s=12.4,
                            agents_ready=1, agents_busy=3))
    model.update(QueueStats(queue="sales", ts=1, waiting=9))  # not one of the agent's queues
    model.update(QueueStats(queue="vip", ts=1))
    assert [model.data(model.index(0, c)) for c in range(model.columnCount())] == [
        "billing", "2", "1:15", "83%", "12 s", "1", "3", "0", "0"]
    model.update(QueueStats(queue="billing", ts=2, waiting=3, longest_wait_s=80))
    assert model.rowCount() == 2 and changed == [0]
    assert model.data(model.index(0, 1)) == "3" and model.data(model.index(0, 3)) == "–"
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Service level"
    assert model.summary() == "billing: 3 waiting (1:20)"
    model.update(QueueStats(queue="vip", ts=3, waiting=1, longest_wait_s=95))
    assert model.summary() == "vip: 1 waiting (1:35)  ·  billing: 3 waiting (1:20)"
    model.update(QueueStats(queue="vip", ts=4))
    model.update(QueueStats(queue="billing", ts=4))
    assert model.summary() == "No calls waiting"
