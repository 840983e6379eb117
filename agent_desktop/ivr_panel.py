"""What the IVR learned about the call, so the caller never repeats it.

Reads the attached data of the call (the IVR's declared schema, ``ccenter.attached/1``, or a flat
dictionary from another system) and shows the fields agents care about first: verified or not,
intent, language, account, the menu path, what self-service already told the caller, time in IVR.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from .callwork import SCHEMA_ID, attached_values
from .customer_view import named, plain_label

__all__ = ["SCHEMA_ID", "IvrDataPanel", "attached_values"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return QCoreApplication.translate("IvrDataPanel", "yes" if value else "no")
    if isinstance(value, list | tuple):
        return " › ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        amount = f"{value:.0f}" if value >= 1 else f"{value:.1f}"
        return QCoreApplication.translate("IvrDataPanel", "%1 s").replace("%1", amount)
    return str(value)


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
    ("campaign_key", "Campaign"),
    ("offer", "Offer"),
    ("dial_mode", "Dial mode"),
)
_HIDDEN = {"caller", "customer_id", "customer_name", "tier", "segment", "work_item_id"}


class IvrDataPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("From the IVR"), parent)
        self.setObjectName("ivrPanel")
        self.form = QFormLayout(self)
        self.values: dict[str, str] = {}
        self.empty = plain_label(self.tr("No IVR data for this call."))
        self.form.addRow(self.empty)

    def show_data(self, data: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        values = attached_values(data)
        self.values = {}
        ordered = [(k, label) for k, label in FIELDS if k in values]
        ordered += [(k, k.replace("_", " ").capitalize()) for k in values if k not in dict(FIELDS) and k not in _HIDDEN]
        for key, label in ordered:
            text = _text(values[key])
            self.values[key] = text
            value_label: QLabel = named(plain_label(text), f"ivr_{key}")
            value_label.setWordWrap(True)
            if key == "verified":
                value_label.setProperty("verified", bool(values[key]))
            self.form.addRow(self.tr(label), value_label)
        if not ordered:
            self.empty = plain_label(self.tr("No IVR data for this call."))
            self.form.addRow(self.empty)
