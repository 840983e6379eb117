"""A supervisor's message to an agent, shown on the agent's desktop (its status bar, as plain text)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QMainWindow

#: How long a message stays in the status bar (ms); the next one replaces it.
SHOWN_MS = 120_000


def show_supervisor_message(window: QMainWindow, sender: str, text: str) -> str:
    """Show ``text`` from supervisor ``sender`` on ``window``; returns the line shown."""
    line = QCoreApplication.translate("SupervisorLabels", str(QT_TRANSLATE_NOOP("SupervisorLabels",
                                                                                "Message from %1: %2")))
    shown = line.replace("%1", sender).replace("%2", " ".join(text.split()))
    window.statusBar().showMessage(shown, SHOWN_MS)  # a status bar shows plain text, never markup
    return shown
