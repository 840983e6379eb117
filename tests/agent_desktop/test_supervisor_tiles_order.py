"""The tile board: numbers coloured at their thresholds, tiles in trouble first, and a re-sort that moves
only the tiles whose place changed."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from pytestqt.qtbot import QtBot

from agent_desktop.supervisor_tiles import Level, TileBoard
from bus.messages import QueueStats


def stats(queue: str, waiting: int = 0) -> QueueStats:
    return QueueStats(queue=queue, ts=1.0, waiting=waiting, sl_target=0.8, sl_seconds=20)


def place(board: TileBoard, queue: str) -> int:
    row, column, _, _ = board._grid.getItemPosition(board._grid.indexOf(board.tiles[queue]))
    return row * board.columns + column


def test_trouble_comes_first_and_only_the_tiles_that_change_place_move(qtbot: QtBot) -> None:
    board = TileBoard(flush_ms=10_000)
    qtbot.addWidget(board)
    board.columns = 3
    names = [f"q{n}" for n in range(6)]
    for name in names:
        board.stage(stats(name))
    board.flush()
    board._lay_out(force=True)
    assert [place(board, n) for n in names] == [0, 1, 2, 3, 4, 5] and board.moved == 6
    board.stage(stats("q1", waiting=6))  # amber (5 by default): q1 goes before q0; q2..q5 keep their places
    board.flush()
    board.lay_out_now()
    assert board.order() == ["q1", "q0", "q2", "q3", "q4", "q5"]
    assert board.moved == 2 and [place(board, n) for n in board.order()] == [0, 1, 2, 3, 4, 5]
    board.stage(stats("q4", waiting=11))  # red: first of all; q1 and q0 shift by one, q2 and q3 too
    board.flush()
    board.lay_out_now()
    assert board.order() == ["q4", "q1", "q0", "q2", "q3", "q5"]
    assert board.moved == 5 and place(board, "q5") == 5
    board.stage(stats("q2", waiting=3))  # its numbers change, its level not: nothing moves
    board.flush()
    board.lay_out_now()
    assert board.moved == 5 and board.order() == ["q4", "q1", "q0", "q2", "q3", "q5"]


def test_a_number_takes_its_levels_colour_and_gives_it_back(qtbot: QtBot) -> None:
    board = TileBoard(flush_ms=10_000)
    qtbot.addWidget(board)
    board.stage(stats("sales"))
    board.flush()
    waiting = board.tiles["sales"].values["waiting"]
    normal = waiting.palette().color(QPalette.ColorRole.WindowText)
    board.stage(stats("sales", waiting=6))
    board.flush()
    assert board.tiles["sales"].levels["waiting"] is Level.AMBER
    assert waiting.palette().color(QPalette.ColorRole.WindowText) == QColor("#c88a00")
    board.stage(stats("sales", waiting=12))
    board.flush()
    assert waiting.palette().color(QPalette.ColorRole.WindowText) == QColor("#d32f2f")
    board.stage(stats("sales", waiting=0))
    board.flush()
    assert waiting.palette().color(QPalette.ColorRole.WindowText) == normal
    assert waiting.property("level") == "normal"
