"""The supervisor's campaign panel: why the dialer is idle, from its latest decisions (crm.supervision)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from agent_desktop.supervisor_campaigns import CampaignTableModel
from crm.supervision import CampaignOverview


def test_the_panel_names_the_rule_that_refused_everything_and_shows_the_latest_decision(qtbot) -> None:
    model = CampaignTableModel()
    latest = "2026-11-30 17:50 work item 3 +81312345678 skipped (calling_hours): <b>outside</b> hours"
    model.set_campaigns([
        CampaignOverview("WHY", "Why", "active", "progressive", 3, 0, 0, 0, 0, 0, 0.03, "refused_calling_hours",
                         latest),
        CampaignOverview("NEW", "New", "active", "progressive", 3, 0, 0, 0, 0, 0, 0.03, "refused_some_new_rule"),
    ])
    assert model.data(model.index(0, model.WHY)) == "outside the customers' calling hours"
    tip = model.data(model.index(0, model.WHY), Qt.ItemDataRole.ToolTipRole)
    assert tip == "<p>2026-11-30 17:50 work item 3 +81312345678 skipped (calling_hours): &lt;b&gt;outside&lt;/b&gt; " \
                  "hours</p>"
    assert model.data(model.index(1, model.WHY)) == "refused some new rule"  # a rule without a label: its code
    assert model.data(model.index(1, model.WHY), Qt.ItemDataRole.ToolTipRole) is None
