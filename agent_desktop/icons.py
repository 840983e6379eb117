"""Icons for the desktop: SVG files in ``resources/icons``, drawn sharp at any screen scale.

Icons are drawn in one colour. ``icon(name)`` draws it in the style's icon colour (the application's
``iconColor`` property, set with the style sheet, so the same files serve the light and the dark
style); coloured buttons (answer, hang up, save) ask for white. Pixmaps are rendered for the
screen's device pixel ratio, so they stay crisp on high-DPI.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

import resources

#: The colour the SVG files are drawn in; replaced by the colour asked for.
_INK = "#2b3a48"
_WHITE = "#ffffff"
SIZES = (16, 20, 24, 32)


def _svg(name: str) -> str:
    return resources.path("icons", f"{name}.svg").read_text(encoding="utf-8")


#: The colour of every icon on a disabled control, in both styles (a white icon must not look enabled).
DISABLED = "#8d99a5"


@cache
def _render(name: str, color: str, ratio: float) -> QIcon:
    result = QIcon()
    for ink, mode in ((color, QIcon.Mode.Normal), (DISABLED, QIcon.Mode.Disabled)):
        text = _svg(name).replace(f'stroke="{_INK}"', f'stroke="{ink}"').replace(f'stroke="{_WHITE}"',
                                                                                f'stroke="{ink}"')
        renderer = QSvgRenderer(QByteArray(text.encode()))
        for size in SIZES:
            pixmap = QPixmap(QSize(round(size * ratio), round(size * ratio)))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter)
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            result.addPixmap(pixmap, mode)
    return result


def icon(name: str, color: str | None = None) -> QIcon:
    """The icon ``name`` (a file of ``resources/icons``) in ``color``, or in the style's text colour."""
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    if color is None:
        styled = app.property("iconColor") if app is not None else None
        color = str(styled) if styled else _INK
    return _render(name, color, ratio)


def names() -> list[str]:
    return sorted(p.stem for p in resources.path("icons").glob("*.svg"))
