"""Small pieces the workstation's widgets share: a named push button with its shortcut in the tooltip,
a combo box that does not widen its column, and durations shown as a clock."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox, QFrame, QPushButton, QScrollArea, QWidget

from .customer_view import named
from .icons import icon


def push_button(text: str, name: str, *, shortcut: str | None = None, glyph: str | None = None,
                white: bool = False) -> QPushButton:
    """A button with an object name, an optional icon (white on coloured buttons) and its shortcut shown."""
    button = named(QPushButton(text), name)
    if glyph:
        button.setIcon(icon(glyph, "#ffffff" if white else None))
    if shortcut:
        button.setToolTip(f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
    return button


def narrow_combo(name: str) -> QComboBox:
    """A combo box whose width does not follow its longest item (long offer names would otherwise
    widen the column it sits in); the current item is elided and the list shows every item whole."""
    combo = named(QComboBox(), name)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


class ColumnScroll(QScrollArea):
    """A column that scrolls up and down, never sideways: it is never narrower than its widgets need
    (a splitter or a style with wider padding cannot cut them off on the right)."""

    def __init__(self, inner: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            needed = inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() \
                + 2 * self.frameWidth()
            hint.setWidth(max(hint.width(), needed))
        return hint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.StyleChange):
            self.updateGeometry()  # the column's needs changed: the splitter asks again
        return super().eventFilter(watched, event)


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour), never negative."""
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"
