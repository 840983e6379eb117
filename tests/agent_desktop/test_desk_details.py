"""The workstation's details as a user meets them: labels for codes, the window's size, the 360 view
after a save, the outbound header, the dark style, dates in the locale's format, and the IVR panel
with each value's source and the agent's corrections (attached to the call and saved with the contact)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QDate, QDateTime, QLocale, QPoint, QRect, QSize, Qt, QTime
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QWidget

from agent_desktop import i18n
from agent_desktop.app import apply_style
from agent_desktop.attached import ATTACHED_KEY, CorrectionError, correction, merge_data
from agent_desktop.labels import Kind, label
from agent_desktop.preview_bar import PreviewBar
from agent_desktop.tables import when
from bus.messages import AgentStateName, QueueStats
from crm import db, repository
from crm.models import Contact
from crm.repository import OrderLine, PreviewItem
from crm.repository.preview import AttemptView
from tests.agent_desktop.test_workstation import IVR_DATA, Desk, desk  # noqa: F401 - the fixture

SOURCED = {
    "schema": "ccenter.attached/1",
    "fields": {
        "verified": {"value": True, "type": "bool", "editable": False,
                     "set_by": {"kind": "ivr", "name": "verify_pin"}, "at": 1764000000.0},
        "intent": {"value": "billing", "type": "str", "editable": True,
                   "set_by": {"kind": "ivr", "name": "main_menu"}, "at": 1764000010.0},
        "time_in_ivr_s": {"value": 42.0, "type": "float", "editable": False,
                          "set_by": {"kind": "system", "name": "agent_handoff"}, "at": 1764000042.0},
        "callback_number": {"value": "+14155550100", "type": "str", "editable": True,
                            "set_by": {"kind": "ivr", "name": "ask_number"}, "at": 1764000020.0},
    },
}


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[str]:
    language = i18n.install_translator(qapp, "zh_CN")
    yield language
    i18n.remove_translators(qapp)


def _answered(qtbot, desk: Desk, data: dict[str, object], queue: str = "billing") -> str:  # noqa: F811
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data=data, queue=queue)
    call_id = next(iter(w.session.calls))
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls[call_id].answered_at is not None, timeout=5000)
    return call_id


# --- labels --------------------------------------------------------------------------------------


def test_codes_have_labels_in_english_and_chinese(qapp: QApplication, chinese: str) -> None:
    assert chinese == "zh_CN"
    assert label(Kind.RESULT, "offer_callback") == "稍后回电"
    assert label(Kind.RESULT, "dial_answered") == "已接听"
    assert label(Kind.END_CAUSE, "no_answer") == "无人接听"
    assert label(Kind.CHANNEL, "voice_in") == "呼入电话"
    assert label(Kind.DISPOSITION, "order_placed") == "已下单"
    assert label(Kind.ORDER_STATUS, "in_progress") == "处理中"
    assert label(Kind.AGENT_STATE, AgentStateName.WRAP_UP) == "话后处理"
    i18n.remove_translators(qapp)
    assert label(Kind.RESULT, "offer_callback") == "Call back later"
    assert label(Kind.END_CAUSE, "no_answer") == "no answer"
    # A code nobody labelled (a campaign's own) is made readable, never shown raw.
    assert label(Kind.DISPOSITION, "needs_follow_up") == "Needs follow up"
    assert label(Kind.DISPOSITION, None) == "" and label(Kind.DISPOSITION, "") == ""
    assert label(Kind.LANGUAGE, "zh-HK") == "Chinese" and label(Kind.LANGUAGE, "en_GB") == "English"
    assert label(Kind.SEGMENT, "smb") == "Small business"
    # The intents the shipped flows set have labels of their own.
    assert label(Kind.INTENT, "new_service") == "New service"
    assert label(Kind.INTENT, "technical_fault") == "Technical fault"


def test_the_preview_shows_attempt_results_as_labels(qtbot, chinese: str) -> None:
    bar = PreviewBar()
    qtbot.addWidget(bar)
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    item = PreviewItem(7, 1, "+14155550100", "Q4", "Q4 upgrade", "Fibre", None,
                       (AttemptView(at, "offer_callback", "alice"), AttemptView(at, "dial_answered", None)))
    bar.show_preview(item)
    text = bar.preview_label.text()
    assert "稍后回电" in text and "已接听" in text
    assert "offer_callback" not in text and "dial_answered" not in text


def test_the_status_line_names_the_end_cause(qtbot, desk: Desk, chinese: str) -> None:  # noqa: F811
    from bus.messages import CallEvent

    w = desk.window
    call_id = _answered(qtbot, desk, IVR_DATA)
    w.on_link_event(CallEvent(type="call.ended", call_id=call_id, ts=0.0, cause="no_answer"))
    assert w.status.text() == "通话已结束：无人接听"
    assert "no_answer" not in w.status.text()


# --- the window's size, the queue summary ------------------------------------------------------


def test_the_window_keeps_its_size_through_a_session(qtbot, desk: Desk, qapp: QApplication) -> None:  # noqa: F811
    w = desk.window
    w.resize(1360, 860)
    qapp.processEvents()
    size = w.size()
    sizes = []

    def note() -> None:
        qapp.processEvents()
        sizes.append((w.width(), w.height()))

    w.go_ready()
    desk.queue_stats.publish(QueueStats(ts=0.0, queue="billing", waiting=3, longest_wait_s=75.0, agents_ready=1,
                                        agents_busy=2, answered=10, abandoned=1, service_level=0.8, asa_s=12.0))
    note()
    many = {"schema": "ccenter.attached/1", "fields": {
        **SOURCED["fields"],
        **{f"extra_{n}": {"value": "a long value the IVR attached " * 4, "type": "str", "editable": False,
                          "set_by": {"kind": "ivr", "name": f"node_{n}"}, "at": 1764000000.0} for n in range(12)},
    }}
    call_id = _answered(qtbot, desk, many)
    note()
    for n in range(8):
        w.add_order(OrderLine(f"Product with a rather long name number {n}", Decimal("30.00")))
    note()
    w._say("A very long message " * 30)
    note()
    desk.on_link(lambda: desk.pbx.far_hangup(call_id))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    note()
    w.disposition.setCurrentIndex(w.disposition.findData("resolved"))
    with qtbot.waitSignal(w.contact_saved, timeout=10_000):
        w.save_contact()
    note()
    assert set(sizes) == {(size.width(), size.height())}, sizes


def test_no_calls_waiting_is_never_clipped(qtbot, desk: Desk, qapp: QApplication, chinese: str) -> None:  # noqa: F811
    w = desk.window
    try:
        apply_style(qapp, "dark")
        w.resize(1360, 860)
        assert w.queue_label.text() == "", "nothing is said about queues before their statistics arrive"
        desk.queue_stats.publish(QueueStats(ts=0.0, queue="billing", waiting=0, longest_wait_s=0.0, agents_ready=1,
                                            agents_busy=0, answered=0, abandoned=0, service_level=None,
                                            asa_s=None))
        qapp.processEvents()
        qtbot.waitUntil(lambda: w.queue_label.width() >= w.queue_label.sizeHint().width(), timeout=2000)
        assert w.queue_label.text() == "无来电等待"
        text_width = w.queue_label.fontMetrics().horizontalAdvance(w.queue_label.text())
        assert text_width <= w.queue_label.contentsRect().width()
    finally:
        apply_style(qapp, "light")


# --- the 360 view after a save, the outbound header ---------------------------------------------


def test_the_360_view_counts_the_order_placed_once_the_contact_is_saved(qtbot, desk: Desk) -> None:  # noqa: F811
    w = desk.window
    call_id = _answered(qtbot, desk, IVR_DATA)
    qtbot.waitUntil(lambda: w.customer_view.customer is not None, timeout=5000)
    assert w.customer_view.tabs.tabText(1) == "Open orders (0)"
    w.add_order(OrderLine("5G upgrade", Decimal("30.00")))
    desk.on_link(lambda: desk.pbx.far_hangup(call_id))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    w.disposition.setCurrentIndex(w.disposition.findData("order_placed"))
    with qtbot.waitSignal(w.customer_refreshed, timeout=10_000) as refreshed:
        w.save_contact()
    assert refreshed.args == [desk.customer_id]
    assert w.customer_view.tabs.tabText(1) == "Open orders (1)"
    assert [w.customer_view.orders.row(0).product] == ["5G upgrade"]
    assert w.customer_view.contacts.rowCount() == 1, "the saved contact is in the history too"


def test_the_outbound_header_follows_the_call_under_a_campaign_panel(qtbot, desk: Desk) -> None:  # noqa: F811
    from tests.crm.test_repository import _outbound_item

    _outbound_item(desk.engine, desk.customer_id, "+14155550100")
    w = desk.window
    with qtbot.waitSignal(w.preview_loaded, timeout=10_000):
        w.load_preview()
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        w.dial_preview()
    call_id = next(iter(w.session.calls))
    assert w.preview_label.text() == "Calling +1 415-555-0100…"
    assert w.ivr_panel.title() == "Campaign call", "a dialled call's data is the campaign's, not the IVR's"
    desk.at(desk.pbx.now + 6)  # the far end answers
    qtbot.waitUntil(lambda: w.session.calls[call_id].answered_at is not None, timeout=5000)
    assert w.preview_label.text() == "Connected to +1 415-555-0100"
    w.toggle_hold()
    qtbot.waitUntil(lambda: w.preview_label.text() == "+1 415-555-0100 is on hold", timeout=5000)
    w.hang_up()
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    assert w.preview_label.text() == "The call to +1 415-555-0100 has ended."


def test_a_dialer_call_is_titled_for_its_campaign(qtbot, desk: Desk) -> None:  # noqa: F811
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data={"work_item_id": str(desk.work_item_id), "campaign_key": "Q4",
                                        "dial_mode": "progressive"}, queue="sales")
    assert w.ivr_panel.title() == "Campaign call" and w.ivr_panel.values["dial_mode"] == "Progressive"
    w.ivr_panel.show_data(SOURCED)
    assert w.ivr_panel.title() == "From the IVR"


# --- dark style ---------------------------------------------------------------------------------


def _middle(widget: QWidget) -> QColor:
    image = widget.grab().toImage()
    return image.pixelColor(image.width() - 6, image.height() // 2)


def test_dark_style_disabled_fields_look_disabled_and_check_boxes_show(qtbot, qapp: QApplication) -> None:
    try:
        apply_style(qapp, "dark")
        enabled, disabled = QLineEdit("text"), QLineEdit("text")
        disabled.setEnabled(False)
        box = QCheckBox("Call the customer back at")
        for widget in (enabled, disabled, box):
            qtbot.addWidget(widget)
            widget.resize(200, 32)
            widget.show()
        qapp.processEvents()
        assert _middle(enabled) != _middle(disabled), "a disabled field must not look like an enabled one"
        image = box.grab().toImage()
        background = image.pixelColor(image.width() - 2, 2)
        # The box's border stands out from the window: some pixel in the indicator area is much lighter.
        lightest = max(image.pixelColor(x, y).lightness() for x in range(0, 24) for y in range(image.height()))
        assert lightest - background.lightness() > 90
        # A white icon on a coloured button (answer, hang up) is dimmed when the button is disabled.
        from PySide6.QtGui import QIcon

        from agent_desktop.icons import icon

        white = icon("answer", "#ffffff")

        def brightest(mode: QIcon.Mode) -> int:
            image = white.pixmap(24, mode).toImage()
            drawn = [image.pixelColor(x, y) for x in range(24) for y in range(24)]
            return max(c.lightness() for c in drawn if c.alpha() > 128)

        assert brightest(QIcon.Mode.Disabled) < 200 < brightest(QIcon.Mode.Normal)
    finally:
        apply_style(qapp, "light")


# --- dates ---------------------------------------------------------------------------------------


def test_dates_use_the_locale(qtbot, qapp: QApplication, desk: Desk) -> None:  # noqa: F811
    moment = datetime(2026, 11, 30, 15, 45, tzinfo=UTC)
    local = moment.astimezone()
    expected = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
    try:
        i18n.install_translator(qapp, "zh_CN")
        assert QLocale().language() == QLocale.Language.Chinese
        chinese = when(moment)
        assert chinese == QLocale().toString(expected, QLocale.FormatType.ShortFormat)
    finally:
        i18n.remove_translators(qapp)
    english = when(moment)
    assert english == QLocale().toString(expected, QLocale.FormatType.ShortFormat) != chinese
    assert w_format(desk) == QLocale().dateTimeFormat(QLocale.FormatType.ShortFormat)


def w_format(desk: Desk) -> str:  # noqa: F811
    return desk.window.callback_at.displayFormat()


# --- the IVR panel: sources and corrections -----------------------------------------------------


def test_the_ivr_panel_says_where_each_value_came_from(qtbot, desk: Desk) -> None:  # noqa: F811
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data=SOURCED)
    assert w.ivr_panel.sources["verified"].startswith("IVR · verify_pin · ")
    assert w.ivr_panel.sources["time_in_ivr_s"].startswith("System · agent_handoff · ")
    assert when(datetime.fromtimestamp(1764000000.0, UTC)) in w.ivr_panel.sources["verified"]
    assert set(w.ivr_panel.inputs) == {"intent", "callback_number"}, "only editable fields are inputs"


def test_the_agent_corrects_a_field_it_goes_with_the_call_and_the_contact(qtbot, desk: Desk) -> None:  # noqa: F811
    w = desk.window
    call_id = _answered(qtbot, desk, SOURCED)
    box = w.ivr_panel.inputs["intent"]
    box.selectAll()
    qtbot.keyClicks(box, "fault")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    # Shown at once, with who changed it and what it was.
    assert w.ivr_panel.values["intent"] == "fault"
    assert w.ivr_panel.sources["intent"].startswith("Agent · alice · ")
    assert "(was Billing: IVR · main_menu · " in w.ivr_panel.sources["intent"]
    assert w.status.text() == "Intent corrected; the correction goes with the call."

    # Attached to the call through the telephony link: the PBX's call carries it, set by the agent.
    def attached() -> dict[str, object]:
        result: dict[str, object] = {}
        desk.on_link(lambda: result.update(desk.pbx._call(call_id).data))
        return result

    qtbot.waitUntil(lambda: ATTACHED_KEY in attached(), timeout=5000)
    sent = json.loads(str(attached()[ATTACHED_KEY]))
    entry = sent["fields"]["intent"]
    assert entry["value"] == "fault" and entry["set_by"] == {"kind": "agent", "name": "alice"}
    assert entry["original"]["value"] == "billing" and entry["original"]["set_by"]["kind"] == "ivr"
    # The call's data came back merged: the session sees the correction too, the rest untouched.
    qtbot.waitUntil(lambda: w.session.calls[call_id].data["fields"]["intent"]["value"] == "fault", timeout=5000)
    assert w.session.calls[call_id].data["fields"]["verified"]["value"] is True

    desk.on_link(lambda: desk.pbx.far_hangup(call_id))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    w.disposition.setCurrentIndex(w.disposition.findData("resolved"))
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        w.save_contact()
    contact_id = saved.args[0].contact_id
    with db.session_factory(desk.engine)() as s:
        stored = s.get_one(Contact, contact_id).ivr_data["fields"]
        assert stored["intent"]["value"] == "fault" and stored["callback_number"]["value"] == "+14155550100"
        (fix,) = repository.contact_ivr_corrections(s, contact_id)
    assert (fix.field, fix.value, fix.corrected_by, fix.original, fix.original_by) == (
        "intent", "fault", "alice", "billing", "ivr:main_menu")
    assert fix.original_at == 1764000010.0 and fix.corrected_at is not None


def test_a_correction_that_does_not_fit_is_refused_and_the_value_put_back(qtbot, desk: Desk) -> None:  # noqa: F811
    data = {"schema": "ccenter.attached/1", "fields": {
        "attempts": {"value": 2, "type": "int", "editable": True, "set_by": {"kind": "ivr", "name": "n"}, "at": 1.0}}}
    w = desk.window
    _answered(qtbot, desk, data)
    box = w.ivr_panel.inputs["attempts"]
    box.setText("two")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.text() == "2" and w.status.text() == "The value cannot be corrected: a whole number is needed"
    assert not w.wrap_up_work and not next(iter(w.work.values())).corrections


def test_corrections_keep_the_first_original_and_mask_card_numbers() -> None:
    first = correction(SOURCED, "intent", "fault", agent="alice", at=100.0)
    assert first is not None
    merged = merge_data(SOURCED, first)
    again = correction(merged, "intent", "move", agent="bob", at=200.0)
    assert again is not None
    entry = again["fields"]["intent"]
    assert entry["set_by"]["name"] == "bob" and entry["original"]["value"] == "billing"
    assert correction(merged, "intent", "fault", agent="bob", at=300.0) is None, "no change, nothing to attach"
    with pytest.raises(CorrectionError):
        correction(SOURCED, "verified", "no", agent="alice", at=1.0)
    with pytest.raises(CorrectionError):
        correction({"intent": "billing"}, "intent", "fault", agent="alice", at=1.0)
    listed = {"schema": "ccenter.attached/1", "fields": {"tags": {"value": ["a"], "type": "list", "editable": True}}}
    with pytest.raises(CorrectionError):
        correction(listed, "tags", "b", agent="alice", at=1.0)
    card = correction(SOURCED, "callback_number", "4111 1111 1111 1111", agent="alice", at=1.0)
    assert card is not None and "1111 1111 1111" not in json.dumps(card)


@pytest.mark.expect_log("WARNING", "agent_desktop.attached", match="not JSON")
def test_attached_text_that_is_no_json_is_dropped_and_the_rest_kept() -> None:
    merged = merge_data(SOURCED, {ATTACHED_KEY: "{not json", "other": "x"})
    assert merged["fields"] == SOURCED["fields"] and merged["other"] == "x"


def test_the_demo_opens_the_supervisor_window_beside_the_workstation(qtbot, qapp: QApplication) -> None:
    from agent_desktop.demo import open_beside

    workstation, supervisor = QWidget(), QWidget()
    screen = qapp.primaryScreen().availableGeometry()
    for window, size in ((workstation, (screen.width() // 2, screen.height() // 2)),
                         (supervisor, (screen.width() // 3, screen.height() // 2))):
        qtbot.addWidget(window)
        window.resize(*size)
    workstation.move(screen.topLeft())
    workstation.show()
    supervisor.show()
    open_beside(supervisor, workstation)
    qapp.processEvents()
    assert not supervisor.frameGeometry().intersects(workstation.frameGeometry())
    assert screen.contains(supervisor.frameGeometry()), "the supervisor window is wholly on the screen"
    qtbot.waitUntil(lambda: qapp.activeWindow() is workstation, timeout=2000)  # the agent's window in front


WORKSTATION, SUPERVISOR = QRect(0, 0, 1360, 860), QSize(1100, 760)


@pytest.mark.parametrize(
    ("screen", "where"),
    [
        (QRect(0, 0, 2560, 1440), QPoint(1376, 0)),  # room on the right
        (QRect(0, 0, 1440, 1700), QPoint(0, 876)),  # a tall screen: room below
        (QRect(0, 0, 1920, 1080), QPoint(820, 0)),  # neither: against the right edge, behind the workstation
        (QRect(0, 0, 1920, 1032), QPoint(820, 0)),  # the same above a task bar
        (QRect(0, 0, 1366, 768), QPoint(266, 0)),  # a laptop: on the screen, not off its edge
    ],
)
def test_the_supervisor_window_is_placed_on_the_screen_covering_the_least_of_the_workstation(
    screen: QRect, where: QPoint
) -> None:
    from agent_desktop.demo import place_beside

    at = place_beside(WORKSTATION, SUPERVISOR, screen)
    assert at == where
    assert screen.contains(QRect(at, SUPERVISOR))


def test_a_supervisor_window_larger_than_the_screen_starts_at_its_top_left() -> None:
    from agent_desktop.demo import place_beside

    assert place_beside(QRect(100, 50, 400, 300), QSize(1100, 760), QRect(0, 0, 800, 600)) == QPoint(0, 0)


def test_a_coded_field_is_corrected_by_choosing_its_label(qtbot, desk: Desk, chinese: str) -> None:  # noqa: F811
    w = desk.window
    call_id = _answered(qtbot, desk, SOURCED)
    chooser = w.ivr_panel.choosers["intent"]
    assert chooser.currentText() == "账单", "the IVR's code is shown by its label"
    fault = chooser.findData("fault")
    assert chooser.itemText(fault) == "故障"
    chooser.setCurrentIndex(fault)
    chooser.activated.emit(fault)  # as when the agent picks it from the list
    assert w.work[call_id].attached["fields"]["intent"]["value"] == "fault"
    assert w.ivr_panel.choosers["intent"].currentText() == "故障"
    assert w.ivr_panel.sources["intent"].startswith("坐席 · alice · ")


def test_the_left_column_is_never_cut_off_on_the_right(qtbot, desk: Desk, qapp: QApplication) -> None:  # noqa: F811
    w = desk.window
    try:
        apply_style(qapp, "dark")
        w.resize(1360, 860)
        w.splitter.setSizes([200, 1160])  # an agent drags the splitter far to the left
        qapp.processEvents()
        panel, viewport = w.call_panel, w.call_scroll.viewport()
        assert panel.width() <= viewport.width(), "the column fits its scroll area: nothing is cut off"
        assert w.call_scroll.horizontalScrollBar().value() == 0
    finally:
        apply_style(qapp, "light")


def test_a_correction_in_wrap_up_is_saved_with_the_contact(qtbot, desk: Desk) -> None:  # noqa: F811
    """The call is over: nothing to attach it to, but the contact keeps it (and the request form follows it)."""
    w = desk.window
    call_id = _answered(qtbot, desk, SOURCED)
    desk.on_link(lambda: desk.pbx.far_hangup(call_id))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    sent: list[str] = []
    w.link.command_failed.connect(lambda name, _reason: sent.append(name))
    w.correct_attached("callback_number", "+1 415 555 0199")
    assert w.wrap_up_work is not None and w.wrap_up_work.attached["fields"]["callback_number"]["value"] == \
        "+1 415 555 0199"
    w.correct_attached("intent", "move")
    assert w.wrap_up_work.intent == "move", "a new service request starts from the corrected intent"
    desk.on_link(lambda: None)  # whatever the desktop sent the link has been carried out by now
    ended = desk.pbx._calls.get(call_id)
    assert ended is None or ATTACHED_KEY not in ended.data, "an ended call gets nothing attached"
    assert not sent, "and no command was tried on it"
    w.disposition.setCurrentIndex(w.disposition.findData("resolved"))
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        w.save_contact()
    with db.session_factory(desk.engine)() as s:
        fixes = {f.field: f for f in repository.contact_ivr_corrections(s, saved.args[0].contact_id)}
    assert fixes["callback_number"].original == "+14155550100" and fixes["intent"].original == "billing"
    assert {f.corrected_by for f in fixes.values()} == {"alice"}


def test_the_menu_path_shows_the_options_chosen_by_their_labels(qtbot, qapp: QApplication, desk: Desk,  # noqa: F811
                                                                chinese: str) -> None:
    """The IVR records each menu step as "node:option" (``language:en``): the agent reads the options."""
    data = {"schema": "ccenter.attached/1", "fields": {
        "menu_path": {"value": ["language:en", "main_menu:new_service", "night:press_7"], "type": "list",
                      "editable": False, "set_by": {"kind": "ivr", "name": "main_menu"}, "at": 1764000000.0}}}
    w = desk.window
    w.ivr_panel.show_data(data)
    assert w.ivr_panel.values["menu_path"] == "英语 › 新业务 › Press 7"  # a flow's own option: made readable
    i18n.remove_translators(qapp)
    w.ivr_panel.show_data(data)
    assert w.ivr_panel.values["menu_path"] == "English › New service › Press 7"


def test_a_windows_default_size_fits_its_screen(qtbot, qapp: QApplication) -> None:
    """On a screen smaller than the default size (a 1366×768 laptop) the window is made to fit, so the
    bottom of the workstation (Save contact) is not off the screen; on a large one it keeps its size."""
    from agent_desktop.app import TITLE_BAR, fit_default_size

    screen = qapp.primaryScreen().availableGeometry()
    window = QWidget()
    qtbot.addWidget(window)
    fit_default_size(window, screen.width() + 500, screen.height() + 300)
    assert (window.width(), window.height()) == (screen.width(), screen.height() - TITLE_BAR)
    fit_default_size(window, screen.width() // 2, screen.height() // 2)
    assert (window.width(), window.height()) == (screen.width() // 2, screen.height() // 2)


@pytest.mark.parametrize("style", ["light", "dark"])
def test_a_coded_fields_chooser_shows_its_text_whole(qtbot, qapp: QApplication, desk: Desk, style: str) -> None:  # noqa: F811
    """The chooser's line edit took the fields' own padding and border inside the combo box: squeezed
    below its height, it showed the top of the value cut off."""
    try:
        apply_style(qapp, style)
        w = desk.window
        _answered(qtbot, desk, SOURCED)
        edit = w.ivr_panel.inputs["intent"]
        qapp.processEvents()
        assert edit.sizeHint().height() <= edit.height(), (edit.sizeHint(), edit.size())
    finally:
        apply_style(qapp, "light")
