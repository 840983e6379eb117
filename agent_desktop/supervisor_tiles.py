"""Live tiles, one per queue: calls waiting, longest wait, service level today and over the last 15 minutes
against the queue's target, ASA, abandonment, and the queue's agents by state; amber and red at the
thresholds of the configuration (:class:`Thresholds`, the ``[supervisor.thresholds]`` table).

:class:`TileBoard` takes ``QueueStats`` as fast as they come and repaints at most every ``flush_ms``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPoint, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QWidget

from bus.messages import QueueStats

__all__ = ["Level", "Limit", "QueueTile", "ThresholdError", "Thresholds", "TileBoard"]

CONTEXT = "QueueTiles"


class ThresholdError(ValueError):
    """A threshold of the configuration that cannot be used (its key says which)."""


class Level(IntEnum):
    NORMAL = 0
    AMBER = 1
    RED = 2

    @property
    def css(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Limit:
    """Amber from ``amber``, red from ``red``; for a measure where lower is worse (service level), below."""

    amber: float
    red: float
    lower_is_worse: bool = False

    def level(self, value: float | None) -> Level:
        if value is None:
            return Level.NORMAL
        if self.lower_is_worse:
            return Level.RED if value < self.red else Level.AMBER if value < self.amber else Level.NORMAL
        return Level.RED if value >= self.red else Level.AMBER if value >= self.amber else Level.NORMAL


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a tile's numbers turn amber and red. ``service_level``: None means the queue's own target is
    amber and ``service_level_margin`` under it red."""

    waiting: Limit = field(default_factory=lambda: Limit(5, 10))
    longest_wait_s: Limit = field(default_factory=lambda: Limit(30, 60))
    asa_s: Limit = field(default_factory=lambda: Limit(20, 40))
    abandon_rate: Limit = field(default_factory=lambda: Limit(0.05, 0.10))
    service_level: Limit | None = None
    service_level_margin: float = 0.10

    def sl_limit(self, target: float | None) -> Limit:
        if self.service_level is not None:
            return self.service_level
        target = 0.8 if target is None else target
        return Limit(target, target - self.service_level_margin, lower_is_worse=True)

    @classmethod
    def from_config(cls, table: Mapping[str, Any], where: str = "supervisor.thresholds") -> Thresholds:
        """From ``{"waiting": {"amber": 5, "red": 10}, ..., "service_level": {"amber": 0.8, "red": 0.7}}``."""
        if not isinstance(table, Mapping):
            raise ThresholdError(f"{where} must be a table")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ThresholdError(f"{where}: unknown threshold {unknown[0]!r} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key == "service_level_margin":
                if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
                    raise ThresholdError(f"{where}.{key} must be a fraction from 0 to 1")
                values[key] = float(raw)
                continue
            if not isinstance(raw, Mapping) or set(raw) != {"amber", "red"}:
                raise ThresholdError(f"{where}.{key} must be a table with amber and red")
            amber, red = raw["amber"], raw["red"]
            if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in (amber, red)):
                raise ThresholdError(f"{where}.{key}: amber and red must be numbers")
            lower = key == "service_level"
            if (red > amber) if lower else (red < amber):
                raise ThresholdError(f"{where}.{key}: red must be {'below' if lower else 'above'} amber")
            values[key] = Limit(float(amber), float(red), lower_is_worse=lower)
        return cls(**values)


def tr(text: object) -> str:
    return QCoreApplication.translate(CONTEXT, str(text))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


_CAPTIONS = {
    "waiting": QT_TRANSLATE_NOOP("QueueTiles", "Waiting"),
    "longest": QT_TRANSLATE_NOOP("QueueTiles", "Longest wait"),
    "sl_today": QT_TRANSLATE_NOOP("QueueTiles", "Service level today"),
    "sl_15m": QT_TRANSLATE_NOOP("QueueTiles", "Last 15 min"),
    "asa": QT_TRANSLATE_NOOP("QueueTiles", "ASA"),
    "abandoned": QT_TRANSLATE_NOOP("QueueTiles", "Abandoned"),
    "ready": QT_TRANSLATE_NOOP("QueueTiles", "Ready"),
    "on_call": QT_TRANSLATE_NOOP("QueueTiles", "On a call"),
    "wrap_up": QT_TRANSLATE_NOOP("QueueTiles", "Wrap-up"),
    "not_ready": QT_TRANSLATE_NOOP("QueueTiles", "Not ready"),
}


class QueueTile(QFrame):
    """One queue's numbers; ``level`` (property ``level``: normal, amber, red) is its worst number's."""

    clicked = Signal(str)  # the queue
    menu_requested = Signal(str, QPoint)  # the queue, where (global)

    def __init__(self, queue: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(lambda point: self.menu_requested.emit(self.queue,
                                                                                       self.mapToGlobal(point)))
        self.setObjectName("queueTile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("level", Level.NORMAL.css)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.title = QLabel(queue)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setObjectName("tileTitle")
        grid.addWidget(self.title, 0, 0, 1, 4)
        self.values: dict[str, QLabel] = {}
        self.levels: dict[str, Level] = {}
        self.target = QLabel()
        self.target.setObjectName("tileTarget")
        for n, key in enumerate(_CAPTIONS):
            row, col = 1 + n // 2, (n % 2) * 2
            caption = QLabel(tr(_CAPTIONS[key]))
            caption.setObjectName("tileCaption")
            value = QLabel("–")
            value.setObjectName("tileValue")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setProperty("level", Level.NORMAL.css)
            grid.addWidget(caption, row, col)
            grid.addWidget(value, row, col + 1)
            self.values[key] = value
            self.levels[key] = Level.NORMAL
        grid.addWidget(self.target, 1 + len(_CAPTIONS) // 2, 0, 1, 4)
        self.level = Level.NORMAL
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def show_stats(self, s: QueueStats, thresholds: Thresholds) -> None:
        sl = thresholds.sl_limit(s.sl_target)
        handled = s.answered + s.abandoned
        abandon_rate = s.abandoned / handled if handled else None
        shown = {
            "waiting": (str(s.waiting), thresholds.waiting.level(s.waiting)),
            "longest": (_duration(s.longest_wait_s), thresholds.longest_wait_s.level(s.longest_wait_s)),
            "sl_today": (_percent(s.service_level), sl.level(s.service_level)),
            "sl_15m": (_percent(s.service_level_15m), sl.level(s.service_level_15m)),
            "asa": (_duration(s.asa_s), thresholds.asa_s.level(s.asa_s)),
            "abandoned": (_percent(abandon_rate), thresholds.abandon_rate.level(abandon_rate)),
            "ready": (str(s.agents_ready), Level.NORMAL),
            "on_call": (str(s.agents_on_call), Level.NORMAL),
            "wrap_up": (str(s.agents_wrap_up), Level.NORMAL),
            "not_ready": (str(s.agents_not_ready), Level.NORMAL),
        }
        for key, (text, level) in shown.items():
            label = self.values[key]
            if label.text() != text:
                label.setText(text)
            if self.levels[key] is not level:
                self.levels[key] = level
                _recolour(label, level)
        target = tr(QT_TRANSLATE_NOOP("QueueTiles", "Target %1% in %2 s"))
        target = target.replace("%1", f"{(s.sl_target or 0) * 100:.0f}").replace("%2", f"{s.sl_seconds or 0:.0f}")
        self.target.setText(target if s.sl_target is not None else "")
        level = max(self.levels.values())
        if level is not self.level:
            self.level = level
            self.setProperty("level", level.css)
            self.update()  # the border is drawn in paintEvent: no new polish of the style

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        colour = _COLOURS.get(self.level)
        if colour is not None:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(colour, 2))
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 4, 4)
            painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.queue)
        super().mousePressEvent(event)


#: A number's colour at each level (they read on the light and the dark style alike); normal is the style's.
_COLOURS = {Level.AMBER: QColor("#c88a00"), Level.RED: QColor("#d32f2f")}


def _recolour(label: QLabel, level: Level) -> None:
    """A number's colour, through its palette: a repaint of the label, not a new polish of its style (which,
    for the hundreds of numbers on the board, stalled the screen)."""
    label.setProperty("level", level.css)
    parent = label.parentWidget()
    palette = QPalette(parent.palette() if parent is not None else label.palette())
    colour = _COLOURS.get(level)
    if colour is not None:
        palette.setColor(QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)


# Colours that read on the light and the dark style alike.
TILE_STYLE = """
QFrame#queueTile { border: 1px solid palette(mid); border-radius: 4px; }
QFrame#queueTile[selected="true"] { background: palette(alternate-base); }
QLabel#tileTitle { font-weight: bold; }
QLabel#tileValue { font-weight: bold; }
"""


class TileBoard(QScrollArea):
    """The tiles of every queue, in the order first seen, ``columns`` to a row."""

    queue_clicked = Signal(str)
    queue_menu_requested = Signal(str, QPoint)

    TILE_WIDTH = 300

    def __init__(self, thresholds: Thresholds | None = None, *, flush_ms: int = 150,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueTiles")
        self.thresholds = thresholds or Thresholds()
        self.columns = 3
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidgetResizable(True)
        inner = QWidget()
        inner.setStyleSheet(TILE_STYLE)
        self._grid = QGridLayout(inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(inner)
        self.tiles: dict[str, QueueTile] = {}
        self.latest: dict[str, QueueStats] = {}
        self._pending: dict[str, QueueStats] = {}
        self.selected: str | None = None
        self._timer = QTimer(self, interval=flush_ms, singleShot=True)
        self._timer.timeout.connect(self.flush)
        self._shown: list[str] = []
        self.moved = 0  # tiles moved by the last re-sort
        self._relayout = QTimer(self, interval=2000, singleShot=True)
        self._relayout.timeout.connect(self._lay_out)

    def stage(self, stats: QueueStats) -> None:
        self._pending[stats.queue] = stats
        self.latest[stats.queue] = stats
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        pending, self._pending = self._pending, {}
        moved = False
        for queue, stats in pending.items():
            tile = self.tiles.get(queue)
            if tile is None:
                tile = self.tiles[queue] = QueueTile(queue)
                tile.setFixedWidth(self.TILE_WIDTH)
                tile.clicked.connect(self.select)
                tile.menu_requested.connect(self.queue_menu_requested)
                moved = True
            before = tile.level
            tile.show_stats(stats, self.thresholds)
            moved = moved or tile.level is not before
        if moved and not self._relayout.isActive():
            self._relayout.start()  # at most every 2 s: moving 100 tiles costs a frame

    def order(self) -> list[str]:
        """The queues as the tiles show them: red first, then amber, then the rest, each in the order first seen."""
        ranked = sorted((-tile.level, n, name) for n, (name, tile) in enumerate(self.tiles.items()))
        return [name for _, _, name in ranked]

    def _lay_out(self, *, force: bool = False) -> None:
        """Trouble first: the tiles in :meth:`order`, ``columns`` to a row. Only the tiles whose place changed
        move (nothing when the order holds; all when the columns change, ``force``)."""
        order = self.order()
        if order == self._shown and not force:
            return
        was = {} if force else {name: n for n, name in enumerate(self._shown)}
        moving = [(n, name) for n, name in enumerate(order) if was.get(name) != n]
        for _, name in moving:
            self._grid.removeWidget(self.tiles[name])
        for n, name in moving:
            self._grid.addWidget(self.tiles[name], n // self.columns, n % self.columns)
        self.moved = len(moving)
        self._shown = order

    def lay_out_now(self) -> None:
        self._relayout.stop()
        self._lay_out()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        spacing = self._grid.horizontalSpacing() + 2
        columns = max(1, (self.viewport().width() - 20) // (self.TILE_WIDTH + spacing))
        if columns != self.columns:
            self.columns = columns
            self._lay_out(force=True)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        for queue, stats in self.latest.items():
            if queue in self.tiles:
                self.tiles[queue].show_stats(stats, thresholds)
        self._lay_out()

    def select(self, queue: str) -> None:
        for name, tile in self.tiles.items():
            tile.setProperty("selected", "true" if name == queue else "false")
            tile.style().unpolish(tile)
            tile.style().polish(tile)
        self.selected = queue
        self.queue_clicked.emit(queue)
