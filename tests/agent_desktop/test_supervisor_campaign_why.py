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


def test_why_the_dialer_is_idle_is_read_in_full_and_a_long_name_gives_way(qtbot) -> None:
    from concurrent.futures import Future

    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow

    name = "Fibre and 5G upgrade for loyal customers of the northern region, winter"
    rows = [CampaignOverview("Q4-5G-UPGRADE", name, "active", "progressive", 348, 1, 1, 1, 1, 0, 0.03,
                             "refused_do_not_call")]

    def source() -> Future[list[CampaignOverview]]:
        future: Future[list[CampaignOverview]] = Future()
        future.set_result(rows)
        return future

    window = SupervisorWindow(queue_stats=QueueStatsFeed(), agent_states=AgentStateFeed(), campaigns=source)
    qtbot.addWidget(window)
    window.resize(1100, 760)
    window.pages.setCurrentIndex(2)
    window.show()
    qtbot.waitExposed(window)
    view, model = window.campaign_view, window.campaigns
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    header = view.horizontalHeader()
    why = model.WHY
    assert model.data(model.index(0, why)) == "every number tried is on the do-not-call list"
    qtbot.waitUntil(lambda: header.length() <= view.viewport().width(), timeout=5000)  # no sideways scrolling
    assert header.sectionSize(why) >= view.sizeHintForColumn(why)  # the reason in full
    assert header.sectionSize(model.CAMPAIGN) < view.sizeHintForColumn(model.CAMPAIGN)  # the name gave way
    assert model.data(model.index(0, model.CAMPAIGN), Qt.ItemDataRole.ToolTipRole) == f"<p>{name} (Q4-5G-UPGRADE)</p>"
    window.resize(2400, 760)  # room to spare goes to the reason
    qtbot.waitUntil(lambda: header.sectionSize(model.CAMPAIGN) >= view.sizeHintForColumn(model.CAMPAIGN),
                    timeout=5000)
    assert header.length() == view.viewport().width()
