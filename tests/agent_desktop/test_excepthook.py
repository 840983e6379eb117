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
