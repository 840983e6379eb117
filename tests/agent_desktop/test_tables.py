"""Table cells and their tooltips show customer text as written, never as markup."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from agent_desktop.tables import Column, RecordTableModel

HOSTILE = [
    '<img src="http://attacker.example/x.png">',
    "<b>VIP</b> & <a href='x'>click</a>",
    "<script>alert(1)</script>\nsecond line",
    "Plain Ada Lovelace",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_tooltips_render_as_the_plain_text_they_hold(qapp, text: str) -> None:
    model: RecordTableModel[str] = RecordTableModel([Column("Name", lambda row: row)])
    model.set_rows([text])
    index = model.index(0, 0)
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == text
    tooltip = model.data(index, Qt.ItemDataRole.ToolTipRole)
    rendered = QTextDocument()
    rendered.setHtml(tooltip)  # how Qt shows a tooltip that looks like rich text
    assert rendered.toPlainText().replace("\u2029", "\n") == text
