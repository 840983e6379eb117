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


def test_each_header_is_aligned_as_its_columns_values(qapp) -> None:
    """A centred header over left-aligned values stood apart from them: over the last column, which
    stretches to the table's edge, "Created" floated above nothing."""
    from agent_desktop.customer_view import (
        COMMUNICATION_COLUMNS,
        CONTACT_COLUMNS,
        OFFER_COLUMNS,
        ORDER_COLUMNS,
        REQUEST_COLUMNS,
    )

    horizontal = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignRight
    for columns in (CONTACT_COLUMNS, ORDER_COLUMNS, REQUEST_COLUMNS, OFFER_COLUMNS, COMMUNICATION_COLUMNS):
        model: RecordTableModel[object] = RecordTableModel(columns)  # type: ignore[arg-type]
        for section, column in enumerate(columns):
            header = Qt.AlignmentFlag(model.headerData(section, Qt.Orientation.Horizontal,
                                                       Qt.ItemDataRole.TextAlignmentRole))
            wanted = Qt.AlignmentFlag.AlignRight if column.align_right else Qt.AlignmentFlag.AlignLeft
            assert header & horizontal == wanted, column.header


def test_the_supervisor_tables_headers_are_aligned_as_their_values(qapp) -> None:
    from agent_desktop.supervisor_agents import AgentTableModel
    from agent_desktop.supervisor_campaigns import CampaignTableModel

    horizontal = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignRight
    for model in (AgentTableModel(), CampaignTableModel()):
        for section in range(model.columnCount()):
            header = Qt.AlignmentFlag(model.headerData(section, Qt.Orientation.Horizontal,
                                                       Qt.ItemDataRole.TextAlignmentRole))
            wanted = Qt.AlignmentFlag.AlignRight if section in model.NUMERIC else Qt.AlignmentFlag.AlignLeft
            assert header & horizontal == wanted, (type(model).__name__, section)
