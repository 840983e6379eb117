"""Every shipped icon draws, at the scales of ordinary and high-DPI screens, in the colour asked for."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from agent_desktop.icons import SIZES, icon, names


@pytest.mark.parametrize("name", names())
def test_icon_draws_something_at_every_size(qtbot, name: str) -> None:
    drawn = icon(name, "#c0392b")
    assert not drawn.isNull()
    for size in SIZES:
        image = drawn.pixmap(size, size).toImage()
        colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
                   if image.pixelColor(x, y).alpha() > 200}
        assert colours, f"{name} draws nothing at {size} px"
        assert all(QColor(c).red() > QColor(c).blue() for c in colours), f"{name} is not drawn in the colour asked"
