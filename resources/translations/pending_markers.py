"""Strings lupdate cannot see in ``agent_desktop`` yet, marked here so their translations exist.

This module is never imported: ``scripts/translations`` passes it to lupdate together with
``agent_desktop/*.py``, so these messages stay in ``ccenter_zh_CN.ts`` under the context the code
looks them up in. Some already work (``self.tr(label)`` in ``IvrDataPanel``, ``StateBar`` and
``Softphone`` looks up a variable at run time); the others need the code to call ``QCoreApplication.translate``
with this context when it shows the text (see docs/translations.md, "Strings in variables").

When ``agent_desktop`` marks a string itself (``QT_TRANSLATE_NOOP``), delete it here.
"""


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Marks ``text`` for lupdate under ``context``; returns it untranslated (as Qt's does)."""
    return text


class QCoreApplication:
    """lupdate reads ``QCoreApplication.translate(context, text, disambiguation, n)`` calls."""

    @staticmethod
    def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
        return text


# ivr_panel.py: FIELDS labels and yes/no, shown with self.tr(label) in IvrDataPanel.show_data.
IVR_FIELDS = (
    QT_TRANSLATE_NOOP("IvrDataPanel", "Verified"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Intent"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Language"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Account"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Identified by"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Menu path"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Self-service"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Time in IVR"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Callback number"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Notes"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Campaign"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Offer"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "Dial mode"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "yes"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "no"),
    QT_TRANSLATE_NOOP("IvrDataPanel", "%1 s"),
)

# wrapup.py: OFFER_RESULT_CHOICES (self.tr(label) in WrapUpPanel). Codes (states, phases, dispositions,
# reasons, categories, tiers…) are labelled in agent_desktop/labels.py, which marks them itself.
AGENT_WINDOW = (
    QT_TRANSLATE_NOOP("WrapUpPanel", "No offer made"),
    QT_TRANSLATE_NOOP("WrapUpPanel", "Accepted"),
    QT_TRANSLATE_NOOP("WrapUpPanel", "Declined"),
    QT_TRANSLATE_NOOP("WrapUpPanel", "Call back later"),
    QT_TRANSLATE_NOOP("WrapUpPanel", "Not interested"),
)

# customer_view.py: tr() calls inside an f-string (lupdate does not look into f-strings; they work
# at run time through self.tr) and one sentence for the account line.
CUSTOMER_VIEW = (
    QT_TRANSLATE_NOOP("Customer360View", "Account"),
    QT_TRANSLATE_NOOP("Customer360View", "balance"),
    QT_TRANSLATE_NOOP("Customer360View", "Account %1: %2 · %3 · balance %4"),
)

# Column headers of every table (customer_view.py, customer_window.py), translated by
# RecordTableModel.headerData with QCoreApplication.translate("Columns", column.header).
COLUMNS = (
    QT_TRANSLATE_NOOP("Columns", "When"),
    QT_TRANSLATE_NOOP("Columns", "Channel"),
    QT_TRANSLATE_NOOP("Columns", "Queue"),
    QT_TRANSLATE_NOOP("Columns", "Agent"),
    QT_TRANSLATE_NOOP("Columns", "Disposition"),
    QT_TRANSLATE_NOOP("Columns", "Summary"),
    QT_TRANSLATE_NOOP("Columns", "Order"),
    QT_TRANSLATE_NOOP("Columns", "Product"),
    QT_TRANSLATE_NOOP("Columns", "Amount"),
    QT_TRANSLATE_NOOP("Columns", "Status"),
    QT_TRANSLATE_NOOP("Columns", "Created"),
    QT_TRANSLATE_NOOP("Columns", "Request"),
    QT_TRANSLATE_NOOP("Columns", "Category"),
    QT_TRANSLATE_NOOP("Columns", "Priority"),
    QT_TRANSLATE_NOOP("Columns", "Opened"),
    QT_TRANSLATE_NOOP("Columns", "Campaign"),
    QT_TRANSLATE_NOOP("Columns", "Offer"),
    QT_TRANSLATE_NOOP("Columns", "Attempts"),
    QT_TRANSLATE_NOOP("Columns", "Sent"),
    QT_TRANSLATE_NOOP("Columns", "Kind"),
    QT_TRANSLATE_NOOP("Columns", "Subject"),
    QT_TRANSLATE_NOOP("Columns", "Name"),
    QT_TRANSLATE_NOOP("Columns", "Tier"),
    QT_TRANSLATE_NOOP("Columns", "Phone"),
    # workflow_panel.py (a workflow's history) and live_panel.py (the bill's lines, the products)
    QT_TRANSLATE_NOOP("Columns", "Who"),
    QT_TRANSLATE_NOOP("Columns", "As"),
    QT_TRANSLATE_NOOP("Columns", "Step"),
    QT_TRANSLATE_NOOP("Columns", "Move"),
    QT_TRANSLATE_NOOP("Columns", "Fields"),
    QT_TRANSLATE_NOOP("Columns", "Line"),
    QT_TRANSLATE_NOOP("Columns", "Number"),
    QT_TRANSLATE_NOOP("Columns", "Contract end"),
)


def _plurals() -> None:
    """Counts that should be one numerus message each instead of "1 …" / "%1 …" pairs."""
    QCoreApplication.translate("CustomerWindow", "%n customer(s) found", None, 0)
    QCoreApplication.translate("StateBar", "%n contact(s) waiting for the database", None, 0)
    QCoreApplication.translate("Application", "Unexpected error: %1")
