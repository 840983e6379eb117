"""What the IVR learned about the call, so the caller never repeats it, and where each value came from.

Reads the attached data of the call (the IVR's declared schema, ``ccenter.attached/1``, or a flat
dictionary from another system) and shows the fields agents care about first: verified or not,
intent, language, account, the menu path, what self-service already told the caller, time in IVR.
Each value says who set it (the IVR's node, the system, an agent) and when. An editable field is an
input: the agent corrects it and presses Enter, and :attr:`IvrDataPanel.correction_requested` says so;
a corrected value also shows what it was before. On an outbound call the panel shows the campaign's
dial data under its own title. Values are plain text, never markup.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from .attached import SCHEMA_ID, Source, attached_values, editable, is_document, original, source
from .controls import narrow_combo
from .customer_view import named, plain_label
from .labels import Kind, codes, label
from .tables import when_seconds

__all__ = ["SCHEMA_ID", "IvrDataPanel", "attached_values"]


def _text(value: Any, key: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return QCoreApplication.translate("IvrDataPanel", "yes" if value else "no")
    if isinstance(value, list | tuple):
        if key == "menu_path":  # "node:option" each: the options the caller chose, by their labels
            return " › ".join(label(Kind.MENU_CHOICE, str(step).rpartition(":")[2]) for step in value)
        return " › ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        amount = f"{value:.0f}" if value >= 1 else f"{value:.1f}"
        return QCoreApplication.translate("IvrDataPanel", "%1 s").replace("%1", amount)
    text = str(value)
    if key in _CODES:
        return label(_CODES[key], text)
    return text


#: Shown first, in this order, with these labels; other fields follow under their own names.
FIELDS = (
    ("verified", "Verified"),
    ("intent", "Intent"),
    ("language", "Language"),
    ("account", "Account"),
    ("identified_by", "Identified by"),
    ("menu_path", "Menu path"),
    ("self_service", "Self-service"),
    ("time_in_ivr_s", "Time in IVR"),
    ("callback_number", "Callback number"),
    ("notes", "Notes"),
    ("campaign", "Campaign"),
    ("campaign_key", "Campaign"),
    ("offer", "Offer"),
    ("dial_mode", "Dial mode"),
)
#: Fields holding codes, shown through the labels table (an editable one is shown as typed).
_CODES = {"intent": Kind.INTENT, "dial_mode": Kind.DIAL_MODE, "language": Kind.LANGUAGE,
          "identified_by": Kind.IDENTIFIED_BY, "segment": Kind.SEGMENT}
_HIDDEN = {"caller", "customer_id", "customer_name", "tier", "segment", "work_item_id", "direction", "routing"}
#: Keys that make the data a campaign's dial data rather than what an IVR learnt.
_DIAL_KEYS = {"campaign", "campaign_key", "dial_mode", "work_item_id"}


class IvrDataPanel(QGroupBox):
    correction_requested = Signal(str, str)  # field, the text the agent typed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("From the IVR"), parent)
        self.setObjectName("ivrPanel")
        self.form = QFormLayout(self)
        self.values: dict[str, str] = {}
        self.sources: dict[str, str] = {}  # field -> "IVR · main_menu · 10:42", as shown
        self.inputs: dict[str, QLineEdit] = {}  # the editable fields' inputs (a chooser's line edit)
        self.choosers: dict[str, QComboBox] = {}  # editable fields holding codes: their labels to choose from
        self.outbound = False
        self.empty = plain_label(self.tr("No IVR data for this call."))
        self.form.addRow(self.empty)

    def _source_text(self, who: Source) -> str:
        kind = label(Kind.SOURCE, who.kind)
        parts = [kind] + ([who.name] if who.name else [])
        if who.at:
            parts.append(when_seconds(who.at))
        return " · ".join(parts)

    def show_data(self, data: dict[str, Any], *, outbound: bool = False) -> None:
        self._clear()
        values = attached_values(data)
        dial = outbound or bool(_DIAL_KEYS & set(values))
        self.outbound = dial
        self.setTitle(self.tr("Campaign call") if dial else self.tr("From the IVR"))
        self.values, self.sources, self.inputs, self.choosers = {}, {}, {}, {}
        shown = dict(FIELDS)
        if "campaign" in values:
            shown.pop("campaign_key")
        ordered = [(k, text) for k, text in FIELDS if k in values and k in shown]
        ordered += [(k, k.replace("_", " ").capitalize()) for k in values if k not in dict(FIELDS) and k not in _HIDDEN]
        for key, title in ordered:
            can_edit = editable(data, key)
            text = str(values[key] or "") if can_edit else _text(values[key], key)
            self.values[key] = text
            row = QWidget()
            line = QVBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.setSpacing(0)
            if can_edit and key in _CODES:  # a code: choose its label, or type another value
                chooser = narrow_combo(f"ivrChoice_{key}")
                edit = named(QLineEdit(), f"ivr_{key}")
                edit.setMaxLength(500)
                chooser.setLineEdit(edit)  # editable: another value may be typed in
                chooser.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
                for code in codes(_CODES[key]):
                    chooser.addItem(label(_CODES[key], code), code)
                if text and chooser.findData(text) < 0:
                    chooser.addItem(label(_CODES[key], text), text)
                chooser.setCurrentIndex(chooser.findData(text) if text else -1)
                chooser.setToolTip(self.tr("Correct the value and press Enter: the correction goes with the call."))
                chooser.activated.connect(lambda _i, k=key: self._on_edited(k))
                edit.returnPressed.connect(lambda k=key: self._on_edited(k))
                self.choosers[key] = chooser
                self.inputs[key] = edit
                line.addWidget(chooser)
            elif can_edit:
                edit = named(QLineEdit(text), f"ivr_{key}")
                edit.setMaxLength(500)
                edit.setToolTip(self.tr("Correct the value and press Enter: the correction goes with the call."))
                edit.returnPressed.connect(lambda k=key: self._on_edited(k))
                self.inputs[key] = edit
                line.addWidget(edit)
            else:
                value_label: QLabel = named(plain_label(text), f"ivr_{key}")
                value_label.setWordWrap(True)
                if key == "verified":
                    value_label.setProperty("verified", bool(values[key]))
                line.addWidget(value_label)
            who = source(data, key) if is_document(data) else None
            if who is not None:
                described = self._source_text(who)
                before = original(data, key)
                if before is not None:
                    described = self.tr("%1 (was %2: %3)").replace("%1", described).replace(
                        "%2", _text(before[0], key)).replace("%3", self._source_text(before[1]))
                self.sources[key] = described
                note = named(plain_label(described), f"ivrSource_{key}")
                note.setProperty("source", True)
                note.setProperty("corrected", before is not None)
                note.setWordWrap(True)
                row.setToolTip(described)
                line.addWidget(note)
            self.form.addRow(self.tr(title), row)
        if not ordered:
            self.empty = plain_label(self.tr("No IVR data for this call."))
            self.form.addRow(self.empty)

    def _clear(self) -> None:
        """Take the rows out; their widgets go later, as one of them may be the input whose Enter is being
        handled (deleting it now would pull it from under its own key event)."""
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()

    def field_title(self, key: str) -> str:
        """The label a field is shown under, in the desktop's language."""
        title = dict(FIELDS).get(key)
        return self.tr(title) if title else key.replace("_", " ").capitalize()

    def typed(self, key: str) -> str:
        """The value in field ``key``'s input: a code for a label chosen or typed, else the text as typed."""
        edit = self.inputs.get(key)
        text = edit.text().strip() if edit is not None else ""
        chooser = self.choosers.get(key)
        if chooser is not None:
            index = chooser.findText(text, Qt.MatchFlag.MatchFixedString)
            if index >= 0:
                return str(chooser.itemData(index))
        return text

    def _on_edited(self, key: str) -> None:
        text = self.typed(key)
        if text != self.values.get(key, ""):
            self.correction_requested.emit(key, text)

    def revert(self, key: str) -> None:
        """Put back the value shown before (a correction that was refused)."""
        value = self.values.get(key, "")
        chooser = self.choosers.get(key)
        if chooser is not None:
            with QSignalBlocker(chooser):
                index = chooser.findData(value)
                chooser.setCurrentIndex(index)
                if index < 0:
                    chooser.setEditText(value)
            return
        edit = self.inputs.get(key)
        if edit is not None:
            with QSignalBlocker(edit):
                edit.setText(value)
