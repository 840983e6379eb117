"""Languages and styles: the Simplified Chinese translation is complete and shows, both styles parse."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFormLayout, QLabel
from sqlalchemy import Engine

import agent_desktop
import resources
from agent_desktop import i18n
from agent_desktop.app import apply_style
from agent_desktop.customer_window import CustomerDirectory, CustomerWindow
from agent_desktop.forms import OrderForm
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from crm import db
from crm.repository import AgentView
from cti.sim import SimLink, SimPbx
from tests.helpers.desktop_db import dispose_after_desktop_jobs

TS = resources.path("translations", "ccenter_zh_CN.ts")
IVR_DATA = {"verified": True, "intent": "billing", "time_in_ivr_s": 12.0}


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[str]:
    language = i18n.install_translator(qapp, "zh_CN")
    yield language
    i18n.remove_translators(qapp)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    yield engine
    dispose_after_desktop_jobs(engine)


@pytest.fixture
def agent_window(qtbot, engine: Engine, tmp_path: Path) -> Iterator[AgentWindow]:
    link = LinkThread(SimLink(SimPbx(extensions=["1001"])))
    link.start()
    window = AgentWindow(agent=AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001"),
                         link=link, directory=CustomerDirectory(db.session_factory(engine)),
                         outbox=ContactOutbox(db.session_factory(engine), tmp_path / "outbox.jsonl"))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    link.stop()


# --- choosing the language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "language"),
    [("zh_CN", "zh_CN"), ("zh-Hans", "zh_CN"), ("zh-Hans-CN", "zh_CN"), ("zh", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"),
     ("zh_TW", "zh_TW"), ("zh-Hant-HK", "zh_TW"), ("en_GB", "en"), ("en-US", "en"), ("C", "en"), ("fr_FR", "fr")],
)
def test_locale_names_map_to_our_languages(locale: str, language: str) -> None:
    assert i18n.normalize(locale) == language


def test_the_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCENTER_LANG", "zh_CN")
    assert i18n.choose_language("en") == "en"
    assert i18n.choose_language() == "zh_CN"


def test_the_environment_selects_chinese(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCENTER_LANG", "zh-Hans")
    try:
        assert i18n.install_translator(qapp) == "zh_CN"
        assert QCoreApplication.translate("Softphone", "Hang up") == "挂断"
    finally:
        i18n.remove_translators(qapp)
    assert QCoreApplication.translate("Softphone", "Hang up") == "Hang up"


@pytest.mark.parametrize("language", ["en", "fr_FR", "zh_TW"])
def test_languages_without_a_translation_fall_back_to_english(qapp: QApplication, language: str) -> None:
    try:
        assert i18n.install_translator(qapp, language) == "en"
        assert QCoreApplication.translate("StateBar", "Ready") == "Ready"
    finally:
        i18n.remove_translators(qapp)


# --- the windows in Chinese ----------------------------------------------------------------------


def test_workstation_reads_chinese(chinese: str, agent_window: AgentWindow) -> None:
    w = agent_window
    assert chinese == "zh_CN"
    assert w.ready_button.text() == "就绪"
    assert w.not_ready_button.text() == "未就绪"
    assert [w.answer_button.text(), w.hangup_button.text(), w.hold_button.text()] == ["接听", "挂断", "保持"]
    assert w.transfer_button.text() == "转接…" and w.conference_button.text() == "会议"
    assert w.wrap_box.title() == "话后处理"
    assert w.call_label.text() == "无通话"
    assert w.offer_result.itemText(0) == "未做推荐", "labels from OFFER_RESULT_CHOICES are translated too"
    w.ivr_panel.show_data(IVR_DATA)
    form: QFormLayout = w.ivr_panel.form
    labels = [form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget() for row in range(form.rowCount())]
    assert [label.text() for label in labels if isinstance(label, QLabel)] == ["已验证身份", "来电意图", "IVR 停留时长"]


def test_customer_window_reads_chinese(qtbot, chinese: str, engine: Engine) -> None:
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine)))
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "ccenter — 客户"
    assert window.search_box.placeholderText() == "姓名、电话号码或账号"
    assert window.customer_view.tabs.tabText(0) == "历史记录"
    assert window.customer_view.placeholder.text() == "请搜索客户，或等待来电。"
    window.close()


def test_standard_buttons_use_qts_own_translation(qtbot, chinese: str) -> None:
    form = OrderForm(["5G upgrade"], "CNY")
    qtbot.addWidget(form)
    assert form.windowTitle() == "新建订单"
    ok = form.buttons.button(QDialogButtonBox.StandardButton.Ok)
    cancel = form.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert (ok.text(), cancel.text()) == ("确定", "取消")


# --- the translation file ------------------------------------------------------------------------


def _ts_messages() -> dict[tuple[str, str], ET.Element]:
    messages = {}
    for context in ET.parse(TS).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            messages[(name, message.findtext("source") or "")] = message
    return messages


def test_every_message_is_translated() -> None:
    unfinished = []
    for key, message in _ts_messages().items():
        translation = message.find("translation")
        assert translation is not None, key
        if message.get("numerus") == "yes":
            done = all((form.text or "").strip() for form in translation.iter("numerusform"))
        else:
            done = bool((translation.text or "").strip())
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not done:
            unfinished.append(key)
    assert unfinished == []


class _TrCalls(ast.NodeVisitor):
    """(class, text) of every ``self.tr("literal")`` in a module: the context Qt looks the text up in."""

    def __init__(self) -> None:
        self.classes: list[str] = []
        self.found: list[tuple[str, str, int]] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "tr" and isinstance(func.value, ast.Name)
                and func.value.id == "self" and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str) and self.classes):
            self.found.append((self.classes[-1], node.args[0].value, node.lineno))
        self.generic_visit(node)


def test_every_tr_literal_in_the_desktop_is_in_the_translation() -> None:
    messages = _ts_messages()
    calls = []
    for module in sorted(Path(agent_desktop.__file__).parent.glob("*.py")):
        visitor = _TrCalls()
        visitor.visit(ast.parse(module.read_text(encoding="utf-8")))
        calls += [(module.name, line, context, text) for context, text, line in visitor.found]
    assert len(calls) > 50
    missing = [call for call in calls if (call[2], call[3]) not in messages]
    assert missing == [], "run scripts/translations and translate the new messages"


# --- styles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["light", "dark"])
def test_style_sheet_parses_on_both_windows(qtbot, qapp: QApplication, qtlog, style: str,
                                             agent_window: AgentWindow, engine: Engine) -> None:
    try:
        apply_style(qapp, style)
        assert qapp.styleSheet(), f"styles/{style}.qss is missing or empty"
        window = CustomerWindow(CustomerDirectory(db.session_factory(engine)))
        qtbot.addWidget(window)
        window.show()
        agent_window.state_label.setProperty("state", "ready")
        agent_window.state_label.style().polish(agent_window.state_label)
        agent_window.ivr_panel.show_data(IVR_DATA)
        qapp.processEvents()
        assert window.grab().width() > 0 and agent_window.grab().width() > 0
        window.close()
    finally:
        qapp.setStyleSheet("")
    assert not [r for r in qtlog.records if "stylesheet" in r.message.lower()]
