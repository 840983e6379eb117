"""An unexpected error in a scripted run with nobody at the screen ends the process with a clear
error instead of a message box that nobody can close."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import logging
    from PySide6.QtCore import QTimer
    from agent_desktop.app import application, install_excepthook

    logging.basicConfig()
    app = application()
    install_excepthook(interactive=False)

    def fail():
        raise RuntimeError("a defect in a slot")

    QTimer.singleShot(0, fail)
    app.exec()
    print("the event loop went on")
""")


def test_an_unexpected_error_ends_a_scripted_run_with_status_70() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 70, result.stderr
    assert "unexpected error" in result.stderr and "RuntimeError: a defect in a slot" in result.stderr
    assert "the event loop went on" not in result.stdout


SIGNALLED = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialog, QWidget
    from agent_desktop.app import application, install_excepthook, quit_on_signals

    app = application()
    install_excepthook()
    quit_on_signals(app)
    window = QWidget()
    window.show()
    if sys.argv[1] == "dialog":  # the log-in dialog is modal: its own loop ends too
        dialog = QDialog(window)
        QTimer.singleShot(0, lambda: os.kill(os.getpid(), signal.SIGTERM))
        print("dialog", dialog.exec())
        sys.exit(0)
    QTimer.singleShot(0, lambda: os.kill(os.getpid(), signal.SIGINT))
    sys.exit(app.exec())
""")


def test_ctrl_c_ends_the_event_loop_with_status_130_and_no_error_box() -> None:
    """Ctrl+C in the terminal of a desktop, a supervisor window or the demo: Python's KeyboardInterrupt
    used to surface in the next slot as an "Unexpected error" box, and the window stayed open."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", SIGNALLED, "main"], capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "ccenter: SIGINT: closing the windows\n"


def test_sigterm_ends_a_modal_dialog_too() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", SIGNALLED, "dialog"], capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 0 and result.stdout == "dialog 0\n", result.stderr
    assert result.stderr == "ccenter: SIGTERM: closing the windows\n"
